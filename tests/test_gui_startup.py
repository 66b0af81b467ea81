"""The application shows a real window before it loads the engines and the views, and the
application window takes its place (bench/startup.py measures how soon)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CERVITRACK = Path(sys.executable).with_name("cervitrack")

SCRIPT = r"""
import json, sys
from PySide6 import QtCore, QtWidgets
from cervitrack.trainer.gui import application

app = application.qt_app(offscreen=True)
shown = []

class Watch(QtCore.QObject):
    def eventFilter(self, obj, event):
        if (event.type() == QtCore.QEvent.Type.Show and isinstance(obj, QtWidgets.QWidget)
                and obj.isWindow()):
            shown.append({"class": type(obj).__name__, "title": obj.windowTitle(),
                          "size": [obj.width(), obj.height()],
                          "heavy": sorted(m for m in ("scipy", "pyqtgraph", "vqf") if m in sys.modules)})
            if type(obj).__name__ == "AppWindow":
                def done():
                    shown.append({"visible": sorted(type(w).__name__ for w in app.topLevelWidgets()
                                                    if w.isVisible() and w.isWindow())})
                    QtWidgets.QApplication.closeAllWindows()
                    app.quit()
                QtCore.QTimer.singleShot(0, done)
        return False

watch = Watch()
app.installEventFilter(watch)
rc = application.run_app("sim")
print(json.dumps({"rc": rc, "shown": shown}))
"""


def test_a_starting_window_is_shown_before_the_heavy_imports_then_replaced(tmp_path):
    env = dict(os.environ, CERVITRACK_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    first, app_window, after = result["shown"][0], result["shown"][1], result["shown"][-1]
    assert result["rc"] == 0
    assert first["class"] == "StartingWindow" and first["title"] == "Cervitrack"
    assert first["heavy"] == []  # shown before the engines, pyqtgraph and the fusion load
    assert app_window["class"] == "AppWindow" and app_window["size"] == first["size"]
    assert set(app_window["heavy"]) == {"scipy", "pyqtgraph", "vqf"}
    assert after == {"visible": ["AppWindow"]}  # the starting window is gone


def test_the_installed_app_reports_its_first_window_and_then_its_ready_window(tmp_path):
    env = dict(os.environ, CERVITRACK_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen",
               CERVITRACK_REPORT_FIRST_WINDOW="exit")
    done = subprocess.run([str(CERVITRACK), "app"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split() for line in done.stderr.splitlines()
             if line.startswith(("first-window-shown ", "app-window-ready "))]
    assert [w for w, _ in lines] == ["first-window-shown", "app-window-ready"]
    first_s, ready_s = (float(s) for _, s in lines)
    assert 0 < first_s <= ready_s
