"""Reporting when the application's windows are on screen (for bench/startup.py).

``CERVITRACK_REPORT_FIRST_WINDOW=1``: when the first top-level window receives its show event
(the starting window of :func:`cervitrack.trainer.gui.application.run_app`), the application
prints one line ``first-window-shown <seconds since process start>`` to stderr, and once the
application window is shown with the device connected, ``app-window-ready <seconds>``; then it
carries on. ``CERVITRACK_REPORT_FIRST_WINDOW=exit``: the same lines, then the application closes
its windows and quits (a measurement; then ``cervitrack app`` also runs on the offscreen
platform, where nobody could see the window).

The process start comes from ``/proc/self/stat`` on Linux (the kernel's clock-tick resolution,
10 ms on most systems); elsewhere the time counts from the import of this module.
No Qt at import: :func:`install` imports it.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "CERVITRACK_REPORT_FIRST_WINDOW"
_T_IMPORT_S = time.monotonic()


def mode() -> str | None:
    """None (no report), "report" (report and continue) or "exit" (report and quit)."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("", "0", "no", "false"):
        return None
    return "exit" if value == "exit" else "report"


def seconds_since_process_start() -> float:
    """Wall seconds since this process started (Linux: from the kernel's start time)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5); fields[0] is field 3
        with open("/proc/uptime", encoding="ascii") as f:
            uptime_s = float(f.read().split()[0])
        # /proc/uptime has 10 ms resolution too; CLOCK_BOOTTIME is finer where available.
        if hasattr(time, "CLOCK_BOOTTIME"):
            uptime_s = time.clock_gettime(time.CLOCK_BOOTTIME)
        return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _T_IMPORT_S


def install(app) -> None:
    """Watch ``app`` (a QApplication) for the first top-level show event, if :func:`mode` asks."""
    how = mode()
    if how is None:
        return
    from PySide6 import QtCore, QtWidgets

    class _Watcher(QtCore.QObject):
        def eventFilter(self, obj, event) -> bool:
            if (event.type() == QtCore.QEvent.Type.Show and isinstance(obj, QtWidgets.QWidget)
                    and obj.isWindow()):
                app.removeEventFilter(self)
                _report("first-window-shown")
            return False

    app._first_window_watcher = _Watcher(app)  # kept alive with the application
    app.installEventFilter(app._first_window_watcher)


def _report(what: str) -> None:
    print(f"{what} {seconds_since_process_start():.3f}", file=sys.stderr, flush=True)


def app_ready(app) -> None:
    """The application window is up: report it, and quit from the event loop in "exit" mode."""
    how = mode()
    if how is None:
        return
    _report("app-window-ready")
    if how == "exit":
        from PySide6 import QtCore, QtWidgets

        def quit_now():
            QtWidgets.QApplication.closeAllWindows()
            app.quit()

        QtCore.QTimer.singleShot(0, quit_now)
