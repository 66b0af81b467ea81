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
