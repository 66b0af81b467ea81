"""Shared test set-up: offscreen Qt, an isolated user data folder, and the test data folder."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests draw the same examples on every run (the suite replays deterministically, like
# the product); set CERVITRACK_HYPOTHESIS=explore to draw fresh examples when hunting bugs.
settings.register_profile("deterministic", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("CERVITRACK_HYPOTHESIS", "deterministic"))

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


@pytest.fixture
def repo_dir() -> Path:
    """The repository root (tests cannot import each other under importlib mode)."""
    return REPO


@pytest.fixture
def data_dir() -> Path:
    """tests/data: real recordings and captures kept in the repository, each with its licence."""
    return DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own CERVITRACK_HOME so no test touches the user's data."""
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path / "cervitrack-home"))


def _answer_question(button_text, tries=500):
    """Click ``button_text`` in the next modal question (a QMessageBox) once it shows (polled
    by a timer, at most ``tries`` times); returns a list the clicked text is appended to."""
    from PySide6 import QtCore, QtWidgets
    from PySide6.QtTest import QTest

    clicked = []

    def click(left=tries):
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox):
            if left > 0:
                QtCore.QTimer.singleShot(10, lambda: click(left - 1))
            return
        button = next(b for b in box.buttons() if b.text() == button_text)
        clicked.append(button.text())
        QTest.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)

    QtCore.QTimer.singleShot(0, click)
    return clicked


@pytest.fixture
def answer_question():
    """``answer_question(text)``: click the button ``text`` of the next question box."""
    return _answer_question


@pytest.fixture
def close_window(answer_question):
    """``close_window(window)``: close an application window, discarding a running test when
    it asks (the question is answered by a click)."""
    def close(window):
        if getattr(window, "running", False):
            answer_question("Discard and close")
        window.close()
    return close


class _QTestBot:
    """QTest's clicks and keys with qtbot's names, for module-scoped fixtures (qtbot is per test)."""

    def __init__(self) -> None:
        from PySide6.QtTest import QTest

        self.mouseClick, self.keyClick, self.keyClicks = QTest.mouseClick, QTest.keyClick, QTest.keyClicks

    @staticmethod
    def waitUntil(condition, timeout: int = 5000) -> None:
        import time

        from PySide6 import QtWidgets

        end = time.monotonic() + timeout / 1000
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError(f"waitUntil timed out in {timeout} milliseconds")
            QtWidgets.QApplication.processEvents()
            time.sleep(0.002)


class Person:
    """What a person does in the application's windows, through pytest-qt's ``qtbot`` only:
    clicks on visible buttons and tabs, keys, typing into fields, answers to questions."""

    def __init__(self, qtbot=None) -> None:
        from PySide6 import QtCore

        self.qtbot = qtbot if qtbot is not None else _QTestBot()
        self.LEFT = QtCore.Qt.MouseButton.LeftButton

    @staticmethod
    def find(window, cls, name):
        """The widget of class ``cls`` with the object name ``name``."""
        widget = window.findChild(cls, name)
        assert widget is not None, f"no {cls.__name__} named {name!r}"
        return widget

    @staticmethod
    def button(window, text):
        """The visible push button with this text."""
        from PySide6 import QtWidgets

        found = [b for b in window.findChildren(QtWidgets.QPushButton) if b.text() == text and b.isVisible()]
        assert found, f"no visible button {text!r}"
        return found[0]

    def click(self, widget) -> None:
        self.qtbot.mouseClick(widget, self.LEFT)

    def click_tab(self, window, label) -> None:
        bar = window.tabs.tabBar()
        index = next(i for i in range(bar.count()) if bar.tabText(i) == label)
        self.qtbot.mouseClick(bar, self.LEFT, pos=bar.tabRect(index).center())
        assert window.tabs.currentIndex() == index

    def choose(self, combo, text) -> None:
        """Open a closed list (click) and click its entry ``text``."""
        index = combo.findText(text)
        assert index >= 0, f"no entry {text!r}"
        from PySide6 import QtCore

        self.click(combo)
        view = combo.view()
        self.qtbot.waitUntil(view.isVisible)
        # The arrow keys to the entry, then Return (a click right after the list opened would be
        # taken as the end of the opening click).
        step = QtCore.Qt.Key.Key_Down if index > combo.currentIndex() else QtCore.Qt.Key.Key_Up
        for _ in range(abs(index - combo.currentIndex())):
            self.qtbot.keyClick(view, step)
        self.qtbot.keyClick(view, QtCore.Qt.Key.Key_Return)
        self.qtbot.waitUntil(lambda: not view.isVisible())
        assert combo.currentText() == text

    def type_into(self, edit, text) -> None:
        """Replace a field's text by typing (Ctrl+A, then the text)."""
        from PySide6 import QtCore

        self.qtbot.keyClick(edit, QtCore.Qt.Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
        self.qtbot.keyClicks(edit, text)

    def type_and_accept(self, edit, text) -> None:
        """Type ``text`` into the field, then press Return."""
        from PySide6 import QtCore

        self.type_into(edit, text)
        self.qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return)

    def connect(self, window, device="sim", timeout_ms=15_000, wait=True) -> None:
        """Type the device on the device page, press Connect, wait for the samples (``wait``:
        a window whose worker the test steps itself waits in the test's own loop)."""
        from PySide6 import QtWidgets

        combo = self.find(window, QtWidgets.QComboBox, "device_choice")
        self.type_into(combo.lineEdit(), device)
        self.click(self.find(window, QtWidgets.QPushButton, "connect"))
        if wait:
            self.qtbot.waitUntil(lambda: window.device_view.values["state"].text().startswith("streaming"),
                                 timeout=timeout_ms)

    def create_patient(self, window, patient_id, name="") -> None:
        """On the Patient tab: type the pseudonymous id (and a name), press Create."""
        from PySide6 import QtWidgets

        self.click_tab(window, "Patient")
        self.qtbot.keyClicks(self.find(window, QtWidgets.QLineEdit, "patient_id"), patient_id)
        if name:
            self.qtbot.keyClicks(self.find(window, QtWidgets.QLineEdit, "patient_name"), name)
        self.click(self.find(window, QtWidgets.QPushButton, "patient_create"))
        assert self.find(window, QtWidgets.QLabel, "current_patient").text() == f"Patient: {patient_id}"

    def start_test(self, window, label, patient="P-1"):
        """A patient (created by typing, when none is chosen yet), the test chosen in the list
        by its label, and Start."""
        from PySide6 import QtWidgets

        if window.patient_id is None:
            self.create_patient(window, patient)
        if window.test_combo.currentText() != label:
            self.choose(window.test_combo, label)
        start = self.find(window, QtWidgets.QPushButton, "start")
        assert start.isEnabled(), self.find(window, QtWidgets.QLabel, "start_reason").text()
        self.click(start)

    def answer(self, button_text, tries=1000):
        """Click ``button_text`` in the next question box once it shows (a timer: the box is
        modal); returns a list that gets the question's text."""
        from PySide6 import QtCore, QtWidgets

        asked = []

        def poll(left=tries):
            box = QtWidgets.QApplication.activeModalWidget()
            if isinstance(box, QtWidgets.QMessageBox):
                asked.append(box.text())
                self.qtbot.mouseClick(next(b for b in box.buttons() if b.text() == button_text), self.LEFT)
            elif left:
                QtCore.QTimer.singleShot(10, lambda: poll(left - 1))

        QtCore.QTimer.singleShot(0, poll)
        return asked

    def open_file_dialog(self, window, button, name):
        """Click ``button``; the file-name field of the file dialog it opens."""
        from PySide6 import QtWidgets

        self.click(button)
        self.qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(QtWidgets.QFileDialog, name)))
        dialog = next(d for d in window.findChildren(QtWidgets.QFileDialog, name) if d.isVisible())
        return dialog.findChild(QtWidgets.QLineEdit, "fileNameEdit")


@pytest.fixture
def person(qtbot):
    """A :class:`Person` using the application through ``qtbot``."""
    return Person(qtbot)


@pytest.fixture(scope="session")
def person_anywhere():
    """A :class:`Person` for module-scoped fixtures (QTest's clicks and keys)."""
    return Person()


@pytest.fixture
def udp_sender(tmp_path):
    """``udp_sender(*args)``: start the emulated opentrack sender (``cervitrack emulate
    opentrack-udp``, another process: a phone or opentrack on this computer) on a free
    127.0.0.1 port, with ``args`` (default: the head keeps still); returns the port. Each
    sender is stopped at the end (SIGTERM, then SIGKILL) and must not have failed."""
    import shutil
    import signal
    import socket
    import subprocess
    import sys

    cli = shutil.which("cervitrack", path=str(Path(sys.executable).parent)) or "cervitrack"
    started = []

    def start(*args) -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        extra = list(args) or ["--script", "still"]
        started.append(subprocess.Popen(
            [cli, "emulate", "opentrack-udp", "--port", str(port), *extra], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "CERVITRACK_HOME": str(tmp_path / "emulator")}))
        return port

    yield start
    for proc in started:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        assert "Traceback" not in err, err


@pytest.fixture
def run_periods():
    """``run_periods(n)``: run an event loop of its own through ``n`` display periods (1/60 s),
    counted by a timer of that period (a running frame clock would have drawn in them)."""
    from PySide6 import QtCore

    def run(n: int, period_s: float = 1 / 60) -> None:
        loop = QtCore.QEventLoop()
        fired = []
        sentinel = QtCore.QTimer()
        sentinel.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        sentinel.timeout.connect(lambda: (fired.append(1), len(fired) >= n and loop.quit()))
        sentinel.start(round(period_s * 1e3))
        loop.exec()
        sentinel.stop()

    return run
