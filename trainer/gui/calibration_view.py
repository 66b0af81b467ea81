"""The calibration wizard: keep still (neutral and gyro bias), nod, turn; live checks and the
quality score.

It follows the engine's prompts (``sit_still``, ``nod``, ``turn``, ``redo``) and its
``calibration`` event (score, ok, problems, quality figures;
:mod:`cervitrack.calibration.alignment`). Live checks read the feed: stillness and speed for
the rest step, and the movement range since the step began, against the alignment's minimum
ranges (:data:`~cervitrack.calibration.alignment.MIN_RANGE_DEG`), for the nod and the turn.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from cervitrack.calibration.alignment import MIN_RANGE_DEG, QUALITY_LIMITS
from cervitrack.signal import quaternion as quat

STEPS = (
    ("sit_still", "1. Keep still", "Sit upright, look straight ahead at the centre of the screen "
     "and keep still for a few seconds. This sets your neutral position."),
    ("nod", "2. Nod", "Nod slowly: chin down first, then up. Twice."),
    ("turn", "3. Turn", "Turn your head slowly: left first, then right. Twice."),
)
QUALITY_LABELS = {
    "nod_planarity_deg": "Nod off its axis",
    "turn_planarity_deg": "Turn off its axis",
    "orthogonality_deg": "Nod axis tilt",
    "turn_tilt_deg": "Turn axis tilt",
    "nod_range_deg": "Nod range",
    "turn_range_deg": "Turn range",
}


class CalibrationView(QtWidgets.QWidget):
    """The wizard. ``start_requested`` is emitted by its Start button."""

    start_requested = QtCore.Signal()
    use_saved_requested = QtCore.Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.step: str | None = None
        self.step_count = 0
        self.result: dict | None = None
        layout = QtWidgets.QVBoxLayout(self)
        title = QtWidgets.QLabel("Calibration: tells Cervitrack how the sensor sits on your head")
        title.setStyleSheet("font-size: 18px; font-weight: bold;")
        layout.addWidget(title)
        steps_row = QtWidgets.QHBoxLayout()
        self.cards = {}
        for key, name, text in STEPS:
            box = QtWidgets.QGroupBox(name)
            v = QtWidgets.QVBoxLayout(box)
            label = QtWidgets.QLabel(text)
            label.setWordWrap(True)
            state = QtWidgets.QLabel("waiting")
            state.setStyleSheet("font-weight: bold;")
            v.addWidget(label)
            v.addStretch(1)
            v.addWidget(state)
            steps_row.addWidget(box, 1)
            self.cards[key] = (box, state)
        layout.addLayout(steps_row)
        checks = QtWidgets.QGroupBox("Live checks")
        grid = QtWidgets.QGridLayout(checks)
        self.still_label = QtWidgets.QLabel("–")
        self.speed_label = QtWidgets.QLabel("–")
        self.range_label = QtWidgets.QLabel("–")
        for row, (name, widget) in enumerate((("Stillness", self.still_label),
                                               ("Head speed", self.speed_label),
                                               ("Movement range this step", self.range_label))):
            grid.addWidget(QtWidgets.QLabel(name), row, 0)
            grid.addWidget(widget, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addWidget(checks)
        quality = QtWidgets.QGroupBox("Quality")
        qv = QtWidgets.QVBoxLayout(quality)
        self.score_label = QtWidgets.QLabel("No calibration yet.")
        self.score_label.setStyleSheet("font-size: 16px; font-weight: bold;")
        self.score_label.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(len(QUALITY_LABELS), 3)
        self.table.setHorizontalHeaderLabels(["figure", "value (deg)", "limit (deg)"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        for row, (key, figure) in enumerate(QUALITY_LABELS.items()):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(figure))
            limit = QUALITY_LIMITS.get(key)
            text = f"≤ {limit:g}" if limit is not None else f"≥ {MIN_RANGE_DEG[key]:g}"
            self.table.setItem(row, 2, QtWidgets.QTableWidgetItem(text))
        self.table.setMinimumHeight(self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 4)
        qv.addWidget(self.score_label)
        qv.addWidget(self.table)
        layout.addWidget(quality, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("Start calibration")
        self.start_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.start_button.clicked.connect(self.start_requested.emit)
        buttons.addWidget(self.start_button)
        self.saved_button = QtWidgets.QPushButton("Use saved calibration")
        self.saved_button.setToolTip("Reuse this device's last good calibration (the headset must sit "
                                     "as it did then); look straight ahead while pressing it")
        self.saved_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.saved_button.clicked.connect(self.use_saved_requested.emit)
        self.saved_button.setVisible(False)  # shown only when this device has one
        buttons.addWidget(self.saved_button)
        note = QtWidgets.QLabel("Limits are Cervitrack design limits; no published standard exists.")
        note.setStyleSheet("color: #666;")
        buttons.addWidget(note, 1)
        layout.addLayout(buttons)
        self._step_start_count = 0

    def reset(self) -> None:
        #: The calibration shown before this run (kept when the run is cancelled).
        self._before = (self.result, self.score_label.text(), [s.text() for _, s in self.cards.values()])
        self.step = None
        self.result = None
        for _, state in self.cards.values():
            state.setText("waiting")
        self.score_label.setText("Calibration in progress.")

    def reset_idle(self, text: str) -> None:
        """No calibration is active (a new connection): every step waits."""
        self.step = None
        self.result = None
        for _, state in self.cards.values():
            state.setText("waiting")
        self.score_label.setText(text)
        for row in range(self.table.rowCount()):
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem("–"))

    def show_link_restored(self, text: str, calibrated: bool) -> None:
        """After a dropout: whether the calibration is still the one in use."""
        if self.step is None:
            self.score_label.setText(text if calibrated else text + " (no calibration is active)")

    def _set_step(self, key: str, count: int) -> None:
        order = [k for k, _, _ in STEPS]
        self.step = key
        self._step_start_count = count
        for k, (_box, state) in self.cards.items():
            if k == key:
                state.setText("▶ now")
            elif order.index(k) < order.index(key):
                state.setText("✓ done")
            else:
                state.setText("waiting")

    def on_event(self, event: dict, count: int = 0) -> None:
        kind = event.get("kind")
        if kind == "prompt" and event["prompt"] in ("sit_still", "nod", "turn"):
            self._set_step(event["prompt"], count)
        elif kind == "prompt" and event["prompt"] == "redo" and self.step is not None:
            self.score_label.setText(event["text"])
        elif kind == "calibration_kept":
            result, text, states = getattr(self, "_before", (None, "", []))
            self.step = None
            self.result = result
            for (_, state), old in zip(self.cards.values(), states, strict=False):
                state.setText(old)
            if event.get("quality") is None:
                self.score_label.setText("Calibration cancelled: no calibration is active.")
                for _, state in self.cards.values():
                    state.setText("waiting")
            else:
                score = event["quality"].get("score")
                self.score_label.setText("Calibration cancelled: the previous calibration stays in use"
                                         + (f" (score {score:.0f} / 100)." if score is not None else "."))
        elif kind == "calibration_loaded":
            score = event["quality"].get("score")
            self.score_label.setText("Saved calibration in use" + (f" (score {score:.0f} / 100)" if score is not None else "")
                                     + "; the neutral was set just now.")
            for _, state in self.cards.values():
                state.setText("✓ saved")
        elif kind == "calibration":
            self.result = event
            self.step = None
            for _, state in self.cards.values():
                state.setText("✓ done")
            verdict = "good" if event["ok"] else "poor: please redo it"
            text = f"Score {event['score']:.0f} / 100 ({verdict})"
            if event["problems"]:
                text += "\n" + "\n".join(event["problems"])
            self.score_label.setText(text)
            for row, key in enumerate(QUALITY_LABELS):
                value = event["quality"].get(key)
                self.table.setItem(row, 1, QtWidgets.QTableWidgetItem("–" if value is None else f"{value:.1f}"))

    def refresh(self, feed, count: int) -> None:
        """The live checks (the window calls it a few times a second, text only)."""
        self.saved_button.setVisible(bool(feed.status.get("saved_calibration")))
        ring = feed.ring
        block = ring.latest(feed.samples_for(0.5), count)
        if block.shape[1] == 0:
            return
        still = bool(block[ring.index["still"], -1] > 0.5)
        speed = float(np.nanmean(block[ring.index["speed_deg_s"]]))
        self.still_label.setText("✓ still" if still else "moving")
        self.speed_label.setText(f"{speed:.1f} deg/s")
        if self.step in ("nod", "turn"):
            since = ring.since(self._step_start_count, count)
            q = since[[ring.index[f"q_ws_{c}"] for c in "wxyz"]].T
            q = q[np.isfinite(q).all(axis=1)]
            if len(q):
                angle = float(quat.angle_deg(quat.relative(q[0], q)).max())
                need = MIN_RANGE_DEG["nod_range_deg" if self.step == "nod" else "turn_range_deg"]
                ok = "✓" if angle >= need else "…"
                self.range_label.setText(f"{angle:.0f}° (need ≥ {need:g}° from start) {ok}")
        else:
            self.range_label.setText("–")
