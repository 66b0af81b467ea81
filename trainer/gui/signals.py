"""Ending the application on SIGTERM or SIGINT (Ctrl-C in the terminal that started it, a
service manager, ``kill``, a logout).

Qt's event loop runs C++ between events, and Python runs a signal's handler only when the main
thread next runs Python code: an idle window (no timer running) would never see the signal.
:func:`end_on_signals` writes each signal's byte to a socket pair (``signal.set_wakeup_fd``);
a :class:`QSocketNotifier` on the other end wakes the loop, so the handler runs at once, with
no polling timer.

The handler ends the application as a person closing it would, without questions (nobody is
there to answer): a running test is stopped as the Stop button stops it (its trials done are
stored, marked aborted), then the windows close, the link and a recording are closed (a
recording is crash-safe anyway) and the event loop ends.
"""

from __future__ import annotations

import signal
import socket
import sys
import time

#: Longest wait for a stopped test's trials to be stored before the windows close, s.
STORE_WAIT_S = 3.0


def end_on_signals(app, end, exit_loop: bool = True) -> None:
    """Call ``end(name)`` in the main thread when SIGTERM or SIGINT arrives (``name``: "SIGTERM"
    or "SIGINT"), then end ``app``'s event loop (unless ``exit_loop`` is False: a test keeps
    its application). Only in the main thread (where Python delivers signals)."""
    from PySide6 import QtCore

    read_end, write_end = socket.socketpair()
    for s in (read_end, write_end):
        s.setblocking(False)
    signal.set_wakeup_fd(write_end.fileno())
    notifier = QtCore.QSocketNotifier(read_end.fileno(), QtCore.QSocketNotifier.Type.Read, app)

    def drain() -> None:
        try:
            read_end.recv(64)  # the handler itself runs as soon as Python code runs
        except OSError:
            pass

    notifier.activated.connect(drain)
    ending: list[str] = []

    def handler(signum, _frame) -> None:
        name = signal.Signals(signum).name
        if ending:
            return  # already ending
        ending.append(name)
        print(f"cervitrack: {name}: ending the application", file=sys.stderr, flush=True)
        try:
            end(name)
        finally:
            if exit_loop:
                # exit(), not quit(): quit asks every window to close again and may be refused.
                app.exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    # Kept alive with the application (the notifier and both socket ends).
    app._signal_wakeup = (notifier, read_end, write_end)


def wait_until(app, done, limit_s: float = STORE_WAIT_S) -> bool:
    """Run the event loop until ``done()`` (or ``limit_s`` passes); returns ``done()``."""
    end = time.monotonic() + limit_s
    while not done() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    return bool(done())
