"""The window a person sees while the application loads.

Loading the test engines (scipy), pyqtgraph and the views takes one to a few seconds; this
window is shown before any of it, right after the QApplication is created (it needs only Qt),
at the application window's size, and says what is being loaded. The application window then
takes its place and geometry (:func:`cervitrack.trainer.gui.application.run_app`). Closing it
while it loads cancels the start.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.gui import style

#: The application window's initial size, px (:class:`~cervitrack.trainer.gui.main_window.AppWindow`).
SIZE_PX = (1200, 860)


class StartingWindow(QtWidgets.QMainWindow):
    def __init__(self, device: str | None) -> None:
        super().__init__()
        self.cancelled = False
        self.setWindowTitle("Cervitrack")
        central = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(central)
        outer.addStretch(2)
        title = QtWidgets.QLabel("Cervitrack")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(title)
        self.step_label = QtWidgets.QLabel("Starting…")
        self.step_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.step_label)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)  # busy: the steps' durations are not known in advance
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(360)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.progress)
        row.addStretch(1)
        outer.addLayout(row)
        device_label = QtWidgets.QLabel(f"Device: {device}" if device else "Device: choose it in the device panel")
        device_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        device_label.setStyleSheet("color: #555;")
        outer.addWidget(device_label)
        outer.addStretch(3)
        safety = QtWidgets.QLabel(style.SAFETY_TEXT)
        safety.setStyleSheet("color: #a00;")
        safety.setWordWrap(True)
        outer.addWidget(safety)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Loading…")
        self.resize(*SIZE_PX)

    def step(self, text: str) -> None:
        """Say what is loading now, and paint it before the caller goes on."""
        self.step_label.setText(text)
        QtWidgets.QApplication.processEvents()

    def closeEvent(self, event) -> None:
        self.cancelled = True
        super().closeEvent(event)
