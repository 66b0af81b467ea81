"""The large patient-facing display: a second window (or fullscreen) with the wall, big
prompts and the safety line, and nothing else to distract."""

from __future__ import annotations

from PySide6 import QtWidgets

from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.wall_view import WallView


class PatientWindow(QtWidgets.QWidget):
    def __init__(self, distance_cm: float, trail_s: float, blind: bool, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Cervitrack: patient display")
        layout = QtWidgets.QVBoxLayout(self)
        self.wall = WallView(distance_cm, trail_s, blind, large=True)
        layout.addWidget(self.wall, 1)
        safety = QtWidgets.QLabel(style.SAFETY_TEXT)
        safety.setWordWrap(True)
        safety.setStyleSheet("font-size: 18px; color: #a00;")
        layout.addWidget(safety)
        self.resize(1000, 900)

    def on_event(self, event: dict) -> None:
        self.wall.on_event(event)

    def refresh(self, feed, count: int) -> None:
        self.wall.refresh(feed, count)
