"""The therapist report of a stored session, as HTML or PDF (no browser needed).

Contents: patient, date, device and software; per test the scores table (JPE and target JPE
per direction with the flag threshold and its source; ROM; tracking per level and repetition;
tracing), the trials on the virtual target (cm at 90 cm and degrees), the tracking traces, the
ROM bars, and the history across the patient's sessions (AE per direction). The wording states
measurements, never a diagnosis.

HTML embeds the figures as PNG data URIs; the PDF is the same HTML laid out by Qt's
``QTextDocument`` and printed with ``QPdfWriter`` (A4), the figures drawn offscreen with
QPainter (:mod:`cervitrack.trainer.report.plots`).
"""

from __future__ import annotations

import base64
import html
import os
import sys
from pathlib import Path

from cervitrack.trainer.clinical.names import display_name
from cervitrack.trainer.clinical.results import MEASURED_NOT_DIAGNOSED
from cervitrack.trainer.stores.sessions import Store

SAFETY = ("Stop any test or exercise on pain, dizziness or nausea. Red-flag symptoms (for example "
          "dizziness, double vision, difficulty speaking or swallowing, drop attacks, nausea, "
          "numbness, nystagmus) need a clinician's assessment.")


def ensure_app():
    """A QGuiApplication (offscreen when there is no display).

    It is created as a QApplication (a QGuiApplication subclass): a process can hold only one
    application object, and a plain QGuiApplication would make every later widget (GUI,
    pyqtgraph figures) abort the process."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    return QGuiApplication.instance() or QApplication([])


def report_data(store: Store, session_id: int) -> dict:
    """Everything the report shows, as plain data."""
    session = store.session(session_id)
    if session is None:
        raise ValueError(f"no session {session_id} in the sessions store (see `cervitrack sessions`)")
    patient = store.patient(session["patient_id"]) if session["patient_id"] else None
    tests = store.tests(session_id)
    history = {}
    if patient:
        for kind in sorted({t["kind"] for t in tests} & {"jpe", "thp"}):
            history[kind] = store.history(patient["id"], kind)
    return {"session": session, "patient": patient, "tests": tests, "history": history}


# ------------------------------------------------------------------------------ figures
def build_images(data: dict) -> dict:
    """name → QImage for every figure of the report."""
    from cervitrack.trainer.report import plots
    ensure_app()
    images = {}
    for t in data["tests"]:
        tid, res = t["id"], t["result"] or {}
        if t["kind"] in ("jpe", "thp"):
            images[f"scatter-{tid}"] = plots.scatter_image(t["trials"], 90.0, res.get("threshold_deg", 4.5))
        elif t["kind"] == "butterfly":
            images[f"tracking-{tid}"] = plots.tracking_image([x for x in t["trials"] if x.get("valid")])
        elif t["kind"] == "trace":
            images[f"trace-{tid}"] = plots.trace_image([x for x in t["trials"] if x.get("valid")])
        elif t["kind"] == "rom":
            images[f"rom-{tid}"] = plots.rom_image(t["scores"]["directions"])
    for kind, hist in data["history"].items():
        if len(hist) >= 1:
            thr = next((t["result"].get("threshold_deg") for t in data["tests"] if t["kind"] == kind), None)
            images[f"history-{kind}"] = plots.history_image(hist, threshold_deg=thr)
    return images


# ------------------------------------------------------------------------------ HTML
def _e(x) -> str:
    return html.escape(str(x))


def _n(v, digits=1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


TABLE = '<table border="1" cellspacing="0" cellpadding="4" style="border-collapse: collapse;">'


def _jpe_section(t: dict, img) -> str:
    scatter_name = f"scatter-{t['id']}"
    res = t["result"]
    sc = t["scores"]
    rows = []
    thp = t["kind"] == "thp"
    for d, s in list(sc["directions"].items()) + [("overall (all trials)", sc["overall"])]:
        flag = "above threshold" if s.get("flag") and not d.startswith("overall") else ""
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in [
            _e(d.replace("_", " ")), *( [_n(s.get("target_deg"))] if thp else []), s["n"],
            _n(s["ae_deg"]), _n(s["ce_deg"]), _n(s["ve_deg"]), _n(s["rmse_deg"]),
            _n(s["global_ae_deg"]), flag]) + "</tr>")
    head = ["direction", *(["target °"] if thp else []), "n", "AE °", "CE °", "VE °", "RMSE °", "3D AE °", "flag"]
    note = f"<p><i>{_e(' '.join(res['reliability_note'].split()))}</i></p>" if res.get("reliability_note") else ""
    return (f"<h2>{_e(display_name(t.get('preset'), res.get('preset_title'), t['kind']))}</h2>{note}{TABLE}<tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"
            f"<p>Flag threshold <b>{res['threshold_deg']:.1f}°</b> of AE in any direction "
            f"(source: {_e(res['threshold_source'])}). {_e(res['sign_convention'])}. "
            "VE uses the n denominator, so RMSE² = CE² + VE². "
            f"Invalid trials redone: {sum(1 for x in t['trials'] if not x.get('valid'))}.</p>"
            f"{img(scatter_name, 440)}")


def _rom_section(t: dict, img) -> str:
    rom_name = f"rom-{t['id']}"
    sc = t["scores"]
    rows = "".join(f"<tr><td>{_e(d.replace('_', ' '))}</td><td>{s['n']}</td><td>{_n(s['max_deg'])}</td>"
                   f"<td>{_n(s['mean_deg'])}</td><td>{'n/a' if s['n'] == 1 else _n(s['sd_deg'])}</td></tr>"
                   for d, s in sc["directions"].items())
    planes = ", ".join(f"{p.replace('_', '/')} {v['total_deg']:.0f}°" for p, v in sc["planes"].items())
    return (f"<h2>{_e(display_name(t.get('preset'), t['result'].get('preset_title'), 'rom'))}</h2>{TABLE}"
            "<tr><th>direction</th><th>n</th><th>max °</th><th>mean °</th><th>SD °</th></tr>"
            f"{rows}</table><p>Total range: {_e(planes)}.</p>{img(rom_name, 420)}"
            f"<p>{_e(sc['norms_note'])} References: {_e('; '.join(sc['references']))}.</p>")


def _butterfly_section(t: dict, img) -> str:
    tracking_name = f"tracking-{t['id']}"
    res = t["result"]
    rows = []
    for level, s in t["scores"]["levels"].items():
        rows.append(f"<tr><td><b>{_e(level)}</b> (mean of {s['n']})</td><td>{_n(s['aa_deg'], 2)}</td>"
                    f"<td>{_n(s['time_on_target_pct'])}</td><td>{_n(s['undershoot_pct'])}</td>"
                    f"<td>{_n(s['overshoot_pct'])}</td></tr>")
        for r in s["repetitions"]:
            rows.append(f"<tr><td>&nbsp;&nbsp;repetition {r['repetition'] + 1}</td><td>{_n(r['aa_deg'], 2)}</td>"
                        f"<td>{_n(r['time_on_target_pct'])}</td><td>{_n(r['undershoot_pct'])}</td>"
                        f"<td>{_n(r['overshoot_pct'])}</td></tr>")
    return (f"<h2>{_e(display_name(t.get('preset'), res.get('preset_title'), 'butterfly'))}</h2>{TABLE}"
            "<tr><th>level</th><th>AA °</th><th>time on target %</th><th>undershoot %</th>"
            "<th>overshoot %</th></tr>" + "".join(rows) + "</table>"
            f"<p>AA: mean distance between the dot and the target (deg of visual angle); on target "
            f"within {res['radius_deg']:.1f}°; undershoot: off target behind the target, overshoot: "
            "ahead of it. Cervitrack's own trajectories: no published norms apply.</p>"
            f"{img(tracking_name, 620)}")


def _trace_section(t: dict, img) -> str:
    trace_name = f"trace-{t['id']}"
    rows = "".join(
        f"<tr><td>{_e(p)}</td><td>{s['n']}</td><td>{_n(s['time_s'])}</td><td>{_n(s['error_count'])}</td>"
        f"<td>{_n(s['error_magnitude_deg_s'], 2)}</td><td>{_n(s['mean_excess_deg'], 2)}</td>"
        f"<td>{'yes' if s['completed'] else 'no'}</td></tr>" for p, s in t["scores"].items())
    cut = " ".join(f"{p}: {s['published_cutoff']['errors']} errors ({_e(s['published_cutoff']['source'])})."
                   for p, s in t["scores"].items())
    return (f"<h2>{_e(display_name(t.get('preset'), t['result'].get('preset_title'), 'trace'))}</h2>{TABLE}<tr><th>pattern</th><th>n</th>"
            "<th>time s</th><th>errors</th><th>magnitude °·s</th><th>mean excess °</th><th>completed</th></tr>"
            f"{rows}</table><p>Published cut-offs for the physical laser test, for orientation only "
            f"(this emulation is not validated against them): {cut}</p>"
            f"{img(trace_name, 520 if len(t['trials']) > 1 else 380)}")


def render_html(data: dict, img_src) -> str:
    """The report as HTML; ``img_src(name)`` gives an image's src attribute."""
    def img(name, width):
        return f'<p align="center"><img src="{img_src(name)}" width="{width}"></p>' if img_src(name) else ""

    s, p = data["session"], data["patient"]
    who = "unknown"
    if p:
        who = _e(p["id"]) + (f" ({_e(p['name'])})" if p.get("name") else "") + (
            f", born {p['birth_year']}" if p.get("birth_year") else "")
    info = s.get("device_info") or {}
    device = _e(s["device"]) + (f" ({_e(info.get('name', ''))}, {_e(info.get('protocol', ''))}, "
                                f"{_e(info.get('output', ''))})" if info else "")
    cal = s.get("calibration") or {}
    quality = cal.get("quality") or {}
    parts = [
        "<html><head><meta charset='utf-8'><title>Cervitrack report</title>"
        "<style>body{font-family:'DejaVu Sans',sans-serif;font-size:10pt;} "
        "th{background:#eeeeee;} td,th{text-align:center;padding:3px 6px;} "
        "h1{font-size:16pt;} h2{font-size:13pt;margin-top:14px;}</style></head><body>",
        "<h1>Cervitrack: cervical proprioception test report</h1>",
        ("<p style='color:#b00000;font-size:13pt;'><b>SIMULATED: these results come from the simulated "
         "headset and a virtual patient, not from a person.</b></p>" if s.get("simulated") else ""),
        f"<p><b>Patient:</b> {who}<br><b>Session:</b> {s['id']}, {_e(s['started_utc'])} (UTC)<br>"
        f"<b>Device:</b> {device}<br><b>Software:</b> Cervitrack {_e(s['software_version'])}"
        + (f"<br><b>Calibration:</b> quality score {quality.get('score', 0):.0f}/100"
           f"{'' if quality.get('ok', True) else ' (below the quality target)'}" if quality else "")
        + (f"<br><b>Raw trace:</b> {_e(s['raw_trace_path'])}" if s.get("raw_trace_path") else "") + "</p>",
        f"<p><i>{_e(MEASURED_NOT_DIAGNOSED)}</i></p>",
    ]
    sections = {"jpe": _jpe_section, "thp": _jpe_section, "rom": _rom_section,
                "butterfly": _butterfly_section, "trace": _trace_section}
    for t in data["tests"]:
        parts.append(sections[t["kind"]](t, img))
    for kind, hist in data["history"].items():
        label = "JPE, neutral head position" if kind == "jpe" else "JPE, target head position"
        rows = []
        for h in hist:
            dirs = (h["scores"] or {}).get("directions", {})
            rows.append(f"<tr><td>{h['session_id']}</td><td>{_e(h['started_utc'][:10])}</td><td>{_e(h['preset'])}</td>"
                        + "".join(f"<td>{_n(v.get('ae_deg'))}</td>" for v in dirs.values()) + "</tr>")
        dirs = list(((hist[-1]["scores"] or {}).get("directions") or {}).keys()) if hist else []
        parts.append(f"<h2>History: {label} (AE per direction)</h2>{TABLE}<tr><th>session</th><th>date</th>"
                     "<th>preset</th>" + "".join(f"<th>{_e(d.replace('_', ' '))} °</th>" for d in dirs)
                     + "</tr>" + "".join(rows) + "</table>"
                     "<p>Changes smaller than the measurement's minimal detectable change (MDC95 ≈ 2.77·SEM; "
                     "about 1.9–7.2° from the RMSE SEM of Lee et al. 2006) may be noise.</p>"
                     + img(f"history-{kind}", 430))
    parts.append(f"<p><b>Safety.</b> {_e(SAFETY)}</p></body></html>")
    return "\n".join(parts)


def _png_bytes(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def write_html(data: dict, path: Path) -> None:
    images = build_images(data)
    uris = {k: "data:image/png;base64," + base64.b64encode(_png_bytes(v)).decode() for k, v in images.items()}
    _write_private(path, render_html(data, uris.get).encode("utf-8"))


def _write_private(path: Path, data: bytes) -> None:
    """Write a report file: created 0600 (it holds health data); a file that exists keeps its
    mode (we never change the mode of what we did not create)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_pdf(data: dict, path: Path) -> None:
    ensure_app()
    from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QSizeF, QUrl
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

    images = build_images(data)
    doc = QTextDocument()
    for name, image in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"img:{name}"), image)
    doc.setHtml(render_html(data, lambda name: f"img:{name}" if name in images else None))
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(96)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    writer.setTitle("Cervitrack report")
    writer.setCreator("Cervitrack")
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    doc.print_(writer)
    del writer  # finishes the PDF into the buffer
    buf.close()
    _write_private(path, bytes(buf.data().data()))


def write_report(session_id: int, out: str | Path, store: Store | None = None) -> Path:
    """Write the report of a stored session to ``out`` (.html or .pdf)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise ValueError(f"the report file must end in .html or .pdf, got {out.name!r}")
    if not out.parent.exists():
        raise OSError(f"folder {out.parent} does not exist")
    own = store is None
    store = store or Store()
    try:
        data = report_data(store, int(session_id))
    finally:
        if own:
            store.close()
    if suffix == ".pdf":
        write_pdf(data, out)
    else:
        write_html(data, out)
    return out
