"""Report figures drawn with QPainter on offscreen QImages (no display, no browser).

Each function takes plain data (as stored) and returns a ``QImage``; the report embeds them as
PNG (HTML) or document resources (PDF). A ``QGuiApplication`` must exist
(:func:`cervitrack.trainer.report.document.ensure_app`).

Wall coordinates are drawn as the person sees the wall: their left on the left, up at the top.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen

from cervitrack.signal import kinematics

COLOURS = {
    "rotation_left": "#1f77b4", "rotation_right": "#ff7f0e", "flexion": "#2ca02c",
    "extension": "#d62728", "lateral_left": "#9467bd", "lateral_right": "#8c564b",
}
LABELS = {
    "rotation_left": "rotation L", "rotation_right": "rotation R", "flexion": "flexion",
    "extension": "extension", "lateral_left": "lat. flexion L", "lateral_right": "lat. flexion R",
}


def _canvas(width: int, height: int) -> tuple[QImage, QPainter]:
    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    return img, p


def _font(p: QPainter, px: int, bold: bool = False) -> None:
    f = QFont("DejaVu Sans")
    f.setPixelSize(px)
    f.setBold(bold)
    p.setFont(f)


def wall_point_cm(error_deg: dict, distance_cm: float = 90.0) -> tuple[float, float]:
    """Where the laser lands for an error rotation given as anatomical components (deg):
    (x_cm positive to the person's left, y_cm up)."""
    q = kinematics.pose_from_angles_deg(error_deg["axial"], error_deg["flexion"], error_deg["lateral"])
    lp = kinematics.laser_point(q, distance_cm)
    return float(lp["x_cm"]), float(lp["y_cm"])


def scatter_image(trials: list[dict], distance_cm: float = 90.0, threshold_deg: float = 4.5,
                  size: int = 900) -> QImage:
    """The valid trials' relocation errors on the virtual target board.

    Rings every 1 cm (labelled every 2 cm) at ``distance_cm``, a dashed ring at the flag
    threshold, one colour per direction; axes in cm with the equivalent degrees.
    """
    pts = [(tr["direction"], *wall_point_cm(tr["error_deg"], distance_cm))
           for tr in trials if tr.get("valid") and "error_deg" in tr]
    thr_cm = float(kinematics.deg_to_cm(threshold_deg, distance_cm))
    extent = max([thr_cm * 1.15, 4.0] + [1.1 * math.hypot(x, y) for _, x, y in pts])
    extent = math.ceil(extent / 2.0) * 2.0
    directions = [d for d in COLOURS if any(d == q[0] for q in pts)]
    row_h = 40
    legend_h = 20 + ((len(directions) + 2) // 3 + 1) * row_h
    img, p = _canvas(size, size + legend_h)
    margin = 90
    plot = size - 2 * margin
    c = QPointF(margin + plot / 2, margin + plot / 2)
    scale = plot / (2 * extent)

    def at(x_cm, y_cm):
        return QPointF(c.x() - x_cm * scale, c.y() - y_cm * scale)

    _font(p, 26)
    for r in range(1, int(extent) + 1):
        p.setPen(QPen(QColor("#bbbbbb" if r % 2 else "#888888"), 1.5 if r % 2 == 0 else 1))
        p.drawEllipse(c, r * scale, r * scale)
    p.setPen(QPen(QColor("#555555"), 1.5))
    p.drawLine(at(extent, 0), at(-extent, 0))
    p.drawLine(at(0, extent), at(0, -extent))
    p.setPen(QPen(QColor("#c00000"), 2.5, Qt.PenStyle.DashLine))
    p.drawEllipse(c, thr_cm * scale, thr_cm * scale)
    p.setPen(QColor("#333333"))
    label_step = 2 if scale >= 45 else 4
    # Ring labels along the lower-right diagonal, on a white patch (points are drawn on top).
    diag = math.radians(-50.0)
    for r in range(label_step, int(extent) + 1, label_step):
        deg = float(kinematics.cm_to_deg(r, distance_cm))
        q = QPointF(c.x() + r * scale * math.cos(diag), c.y() - r * scale * math.sin(diag))
        box = QRectF(q.x() + 4, q.y() - 6, 118, 58)
        p.fillRect(box, QColor(255, 255, 255, 220))
        p.drawText(QRectF(box.left(), box.top(), box.width(), 29), Qt.AlignmentFlag.AlignLeft, f"{r} cm")
        p.drawText(QRectF(box.left(), box.top() + 29, box.width(), 29), Qt.AlignmentFlag.AlignLeft, f"{deg:.1f}°")
    p.drawText(QRectF(margin - 80, c.y() - 16, 60, 32), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "L")
    p.drawText(QRectF(size - margin + 20, c.y() - 16, 60, 32), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "R")
    p.drawText(QRectF(c.x() - 60, margin - 40, 120, 32), Qt.AlignmentFlag.AlignCenter, "up")
    p.drawText(QRectF(c.x() - 80, size - margin + 8, 160, 32), Qt.AlignmentFlag.AlignCenter, "down")
    _font(p, 28, True)
    p.drawText(QRectF(0, 6, size, 36), Qt.AlignmentFlag.AlignCenter,
               f"Relocation errors, target {distance_cm:.0f} cm away (rings 1 cm)")
    for direction, x, y in pts:
        colour = QColor(COLOURS.get(direction, "#000000"))
        p.setPen(QPen(QColor("black"), 1.2))
        p.setBrush(colour)
        p.drawEllipse(at(x, y), 12, 12)
    p.setBrush(Qt.BrushStyle.NoBrush)
    _font(p, 28)
    x0, y0 = 30, size + 10
    for i, d in enumerate(directions):
        xx, yy = x0 + (i % 3) * 290, y0 + (i // 3) * row_h
        p.setPen(QPen(QColor("black"), 1.2))
        p.setBrush(QColor(COLOURS[d]))
        p.drawEllipse(QPointF(xx + 12, yy + 17), 12, 12)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawText(QRectF(xx + 32, yy, 250, 34), Qt.AlignmentFlag.AlignVCenter, LABELS[d])
    p.setPen(QPen(QColor("#c00000"), 3, Qt.PenStyle.DashLine))
    yy = y0 + ((len(directions) + 2) // 3) * row_h
    p.drawLine(QPointF(x0, yy + 17), QPointF(x0 + 26, yy + 17))
    p.setPen(QColor("#333333"))
    p.drawText(QRectF(x0 + 32, yy, 800, 34), Qt.AlignmentFlag.AlignVCenter,
               f"flag threshold {threshold_deg:.1f}° = {thr_cm:.1f} cm")
    p.end()
    return img


def _frame(p: QPainter, rect: QRectF, lo: float, hi: float, title: str,
           title_offset: float = 40) -> Callable[[float, float], QPointF]:
    """Square deg axes within rect; returns a mapping (x_deg, y_deg) → QPointF."""
    p.setPen(QPen(QColor("#999999"), 1))
    p.drawRect(rect)
    scale = rect.width() / (hi - lo)

    def at(x, y):
        return QPointF(rect.left() + (hi - x) * scale, rect.top() + (hi - y) * scale)

    p.setPen(QPen(QColor("#dddddd"), 1))
    step = 5 if hi - lo > 12 else 2
    for v in np.arange(math.ceil(lo / step) * step, hi + 1e-9, step):
        p.drawLine(at(v, lo), at(v, hi))
        p.drawLine(at(lo, v), at(hi, v))
    p.setPen(QColor("#333333"))
    _font(p, 28, True)
    p.drawText(QRectF(rect.left() - 25, rect.top() - title_offset, rect.width() + 50, 36),
               Qt.AlignmentFlag.AlignCenter, title)
    _font(p, 24)
    p.drawText(QRectF(rect.left(), rect.bottom() + 4, rect.width(), 30), Qt.AlignmentFlag.AlignCenter,
               f"L ← {hi - lo:.0f}° → R")
    return at


def _polyline(p: QPainter, at, pts, colour: str, width: float) -> None:
    if len(pts) < 2:
        return
    path = QPainterPath(at(*pts[0]))
    for x, y in pts[1:]:
        path.lineTo(at(x, y))
    p.setPen(QPen(QColor(colour), width))
    p.drawPath(path)


def tracking_image(runs: list[dict], width: int = 1200) -> QImage:
    """One panel per tracking run (up to 3 per row): target path (grey) and cursor (blue).

    Every panel has the same scale (the largest extent over all runs), so levels compare by
    eye; the title and the AA line sit above the panel, never under a trace."""
    runs = [r for r in runs if r.get("trace")]
    cols = 3 if len(runs) != 2 else 2
    rows = max(1, math.ceil(len(runs) / cols))
    cell = width // cols
    head_h = 74
    extents = [float(np.nanmax(np.abs(np.concatenate([np.asarray(r["trace"]["target_deg"]),
                                                       np.asarray(r["trace"]["cursor_deg"])]))))
               for r in runs]
    hi = max([5.0] + [e * 1.1 for e in extents if math.isfinite(e)])
    img, p = _canvas(width, rows * (cell - 60 + head_h + 40) + 50)
    for i, run in enumerate(runs):
        tr = run["trace"]
        top = (i // cols) * (cell - 60 + head_h + 40) + head_h
        used = min(cols, len(runs))  # centre a row with fewer panels than columns
        rect = QRectF((i % cols) * cell + 30 + (width - used * cell) / 2, top, cell - 60, cell - 60)
        title = f"{run['level']} #{run['repetition'] + 1}"
        at = _frame(p, rect, -hi, hi, title, title_offset=72)
        _font(p, 24)
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(rect.left() - 25, rect.top() - 36, rect.width() + 50, 32), Qt.AlignmentFlag.AlignCenter,
                   f"AA {run['aa_deg']:.1f}°, on target {run['time_on_target_pct']:.0f} %")
        _polyline(p, at, np.asarray(tr["target_deg"]), "#9a9a9a", 3.0)
        _polyline(p, at, np.asarray(tr["cursor_deg"]), "#1f5fbf", 1.6)
    _font(p, 24)
    p.setPen(QColor("#333333"))
    p.drawText(QRectF(0, img.height() - 34, width, 30), Qt.AlignmentFlag.AlignCenter,
               f"grey: target path; blue: the dot; every panel ±{hi:.0f}° of visual angle, as the person sees it")
    p.end()
    return img


def trace_image(runs: list[dict], width: int = 1200) -> QImage:
    """Each tracing run: the pattern with its band (grey) and the dot's path (blue)."""
    from cervitrack.trainer.clinical.trajectories import make_pattern

    runs = [r for r in runs if r.get("trace")]
    cols = min(2, max(1, len(runs)))
    rows = max(1, math.ceil(len(runs) / cols))
    cell_w = width // cols
    cell_h = int(cell_w * 0.62)
    img, p = _canvas(width, rows * (cell_h + 40) + 40)
    for i, run in enumerate(runs):
        pattern = make_pattern(run["pattern_spec"])
        cursor = np.asarray(run["trace"]["cursor_deg"])
        half_w = pattern.points_deg[:, 0].max() + 3
        rect = QRectF((i % cols) * cell_w + 20, (i // cols) * (cell_h + 40) + 45, cell_w - 40, cell_h - 30)
        scale = rect.width() / (2 * half_w)

        def at(x, y, rect=rect, scale=scale):
            return QPointF(rect.center().x() - x * scale, rect.center().y() - y * scale)

        p.setPen(QPen(QColor("#999999"), 1))
        p.drawRect(rect)
        band = QPen(QColor("#d8d8d8"), 2 * run["band_deg"] * scale, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        path = QPainterPath(at(*pattern.points_deg[0]))
        for x, y in pattern.points_deg[::4]:
            path.lineTo(at(x, y))
        p.setPen(band)
        p.drawPath(path)
        _polyline(p, at, cursor, "#1f5fbf", 1.8)
        _font(p, 30, True)
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(rect.left(), rect.top() - 40, rect.width(), 36), Qt.AlignmentFlag.AlignCenter,
                   f"{run['pattern']}: {run['error_count']} errors, {run['time_s']:.1f} s")
    p.end()
    return img


def rom_image(directions: dict, width: int = 1000) -> QImage:
    """Horizontal bars of the per-direction maxima, deg."""
    rows = [(d, v["max_deg"]) for d, v in directions.items() if v.get("max_deg") is not None]
    bar_h, top, left = 52, 56, 230
    img, p = _canvas(width, top + len(rows) * bar_h + 50)
    top_deg = max([90.0] + [v for _, v in rows])
    scale = (width - left - 90) / top_deg
    _font(p, 24)
    for k in range(0, int(top_deg) + 1, 15):
        x = left + k * scale
        p.setPen(QPen(QColor("#dddddd"), 1))
        p.drawLine(QPointF(x, top - 5), QPointF(x, top + len(rows) * bar_h))
        p.setPen(QColor("#555555"))
        p.drawText(QRectF(x - 40, top + len(rows) * bar_h + 6, 80, 30), Qt.AlignmentFlag.AlignCenter, f"{k}°")
    for i, (d, v) in enumerate(rows):
        y = top + i * bar_h
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(10, y, left - 20, bar_h - 8), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, LABELS.get(d, d))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(COLOURS.get(d, "#777777")))
        p.drawRect(QRectF(left, y + 6, v * scale, bar_h - 18))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(left + v * scale + 8, y, 80, bar_h - 8), Qt.AlignmentFlag.AlignVCenter, f"{v:.0f}°")
    _font(p, 26, True)
    p.drawText(QRectF(0, 8, width, 36), Qt.AlignmentFlag.AlignCenter, "Maximal active range of motion")
    p.end()
    return img


def history_image(history: list[dict], width: int = 1000, height: int = 420,
                  threshold_deg: float | None = None, labels: list[str] | None = None) -> QImage:
    """AE per direction across sessions (one line per direction), deg; ``labels`` name the
    sessions on the x axis (default: "#id")."""
    img, p = _canvas(width, height)
    left, right, top, bottom = 80, 250, 56, 60
    n = len(history)
    series: dict[str, list[tuple[int, float]]] = {}
    for k, h in enumerate(history):
        for d, s in (h.get("scores") or {}).get("directions", {}).items():
            if s.get("ae_deg") is not None:
                series.setdefault(d, []).append((k, s["ae_deg"]))
    ymax = max([6.0] + [v for pts in series.values() for _, v in pts]) * 1.1
    w, h_ = width - left - right, height - top - bottom

    def at(k, v):
        x = left + (w * (k / (n - 1)) if n > 1 else w / 2)
        return QPointF(x, top + h_ - v / ymax * h_)

    _font(p, 22)
    for v in range(0, int(ymax) + 1, 1 if ymax < 8 else 2):
        p.setPen(QPen(QColor("#e5e5e5"), 1))
        p.drawLine(at(0, v) if n > 1 else QPointF(left, at(0, v).y()), QPointF(left + w, at(0, v).y()))
        p.setPen(QColor("#555555"))
        p.drawText(QRectF(10, at(0, v).y() - 11, left - 20, 22), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{v}°")
    if threshold_deg is not None:
        p.setPen(QPen(QColor("#c00000"), 2, Qt.PenStyle.DashLine))
        y_thr = at(0, threshold_deg).y()
        p.drawLine(QPointF(left, y_thr), QPointF(left + w, y_thr))
        p.drawText(QRectF(left + 6, y_thr - 28, 300, 26), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   f"flag threshold {threshold_deg:.1f}°")
    for k, hrow in enumerate(history):
        p.setPen(QColor("#555555"))
        p.drawText(QRectF(at(k, 0).x() - 90, top + h_ + 8, 180, 28), Qt.AlignmentFlag.AlignCenter,
                   labels[k] if labels else f"#{hrow['session_id']}")
    for i, (d, pts) in enumerate(series.items()):
        colour = QColor(COLOURS.get(d, "#000000"))
        p.setPen(QPen(colour, 2.5))
        for (k0, v0), (k1, v1) in zip(pts[:-1], pts[1:]):
            p.drawLine(at(k0, v0), at(k1, v1))
        p.setBrush(colour)
        for k, ae_deg in pts:
            p.drawEllipse(at(k, ae_deg), 5, 5)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawText(QRectF(left + w + 20, top + i * 32, right - 20, 30), Qt.AlignmentFlag.AlignVCenter, LABELS.get(d, d))
    _font(p, 26, True)
    p.setPen(QColor("#333333"))
    p.drawText(QRectF(0, 8, width, 36), Qt.AlignmentFlag.AlignCenter, "Absolute error (AE) per direction across sessions")
    p.end()
    return img
