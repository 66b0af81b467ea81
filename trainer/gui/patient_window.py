"""The large patient-facing display: a second window (or fullscreen) with the current test's
view (wall, tracking target or tracing pattern), big prompts and the safety line, and nothing
else to distract.

Esc leaves fullscreen (a hint says so while fullscreen); it never stops a test (the therapist
stops it from the main window, with a confirmation). While the simulator is the device the
display says SIMULATED."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.wall_view import WallView


def make_test_views(distance_cm: float, trail_s: float, blind: bool, kinds, large: bool = False) -> dict:
    """View name → view, for the views the catalog's tests use (``kinds``)."""
    views: dict[str, QtWidgets.QWidget] = {"wall": WallView(distance_cm, trail_s, blind, large=large)}
    if "butterfly" in kinds or "tracing" in kinds:
        from cervitrack.trainer.gui.target_views import ButterflyView, TracingView

        if "butterfly" in kinds:
            views["butterfly"] = ButterflyView(large=large)
        if "tracing" in kinds:
            views["tracing"] = TracingView(large=large)
    return views


class PatientWindow(QtWidgets.QWidget):
    def __init__(self, distance_cm: float, trail_s: float, blind: bool, kinds=("wall",), parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Cervitrack: patient display")
        layout = QtWidgets.QVBoxLayout(self)
        self.simulated_banner = style.simulated_banner("SIMULATED: virtual patient, simulated headset",
                                                       "patient_simulated_banner", 20)
        layout.addWidget(self.simulated_banner)
        self.hint = QtWidgets.QLabel("Esc: leave fullscreen")
        self.hint.setObjectName("fullscreen_hint")
        self.hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.hint.setStyleSheet("color: #666; font-size: 14px;")
        self.hint.setVisible(False)
        layout.addWidget(self.hint)
        self.views = make_test_views(distance_cm, trail_s, blind, kinds, large=True)
        self.wall = self.views["wall"]
        self.stack = QtWidgets.QStackedWidget()
        for view in self.views.values():
            self.stack.addWidget(view)
        layout.addWidget(self.stack, 1)
        safety = QtWidgets.QLabel(style.SAFETY_TEXT)
        safety.setWordWrap(True)
        safety.setStyleSheet("font-size: 18px; color: #a00;")
        layout.addWidget(safety)
        self.resize(1000, 900)

    def set_simulated(self, simulated: bool) -> None:
        self.simulated_banner.setVisible(bool(simulated))
        self.setWindowTitle("Cervitrack: patient display" + (" · SIMULATED" if simulated else ""))

    def changeEvent(self, event) -> None:
        if event.type() == QtCore.QEvent.Type.WindowStateChange:
            self.hint.setVisible(self.isFullScreen())
        super().changeEvent(event)

    def show_view(self, name: str) -> None:
        self.stack.setCurrentWidget(self.views[name])

    def refresh(self, feed, count: int) -> None:
        view = list(self.views.values())[self.stack.currentIndex()]  # stacked in this order
        view.refresh(feed, count)
