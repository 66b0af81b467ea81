"""Tests that survive their launcher: a child started where SIGINT is ignored still stops.

A launcher (nohup, some CI runners and service managers) that ignores SIGINT passes that on to
its children, so Ctrl-C-by-signal never reaches them. cervitrack stops on SIGTERM as on Ctrl-C
(clean exit, files closed); tests stop their children with SIGTERM, then SIGKILL, in a finally.
"""

import signal
import subprocess
import sys

CERVITRACK = [sys.executable, "-m", "cervitrack"]


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_stream_stops_cleanly_on_sigterm_under_a_launcher_that_ignores_sigint(tmp_path):
    proc = subprocess.Popen(CERVITRACK + ["stream", "--device", "sim", "--duration", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            preexec_fn=_ignore_sigint, env={"CERVITRACK_HOME": str(tmp_path), "PATH": ""})
    first = proc.stdout.readline()  # streaming: the child is in its loop
    if not first:
        proc.kill()
    assert first, proc.stderr.read().decode()
    proc.send_signal(signal.SIGINT)  # ignored, as under such a launcher
    err = _signal_and_wait(proc, signal.SIGTERM)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


def _signal_and_wait(proc, sig, timeout_s=60):
    """Send ``sig`` to the child and wait for its end (SIGKILL in a finally); returns stderr."""
    try:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return err


def _app_until_ready(tmp_path, *args):
    """`cervitrack app` (offscreen) started as a desktop or service manager would start it;
    returns the process once its window is up (the ``app-window-ready`` line)."""
    import os

    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
           "CERVITRACK_REPORT_FIRST_WINDOW": "1"}
    proc = subprocess.Popen(CERVITRACK + ["app", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                                              signal.SIG_DFL))
    for line in proc.stderr:
        if line.startswith("app-window-ready"):
            return proc
    raise AssertionError(f"the app ended before its window was ready: {proc.wait()}")


def test_the_idle_app_ends_at_once_on_sigterm_and_on_ctrl_c(tmp_path):
    """Idle, the window runs no timer at all: the signal still wakes the event loop."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = _app_until_ready(tmp_path)
        err = _signal_and_wait(proc, sig)
        assert proc.returncode == 0, err
        assert f"cervitrack: {signal.Signals(sig).name}: ending the application" in err
        assert "Traceback" not in err


def test_the_app_running_a_test_ends_on_sigterm_without_a_question(tmp_path):
    proc = _app_until_ready(tmp_path, "--device", "sim", "--patient", "P-term", "--test", "jpe")
    err = _signal_and_wait(proc, signal.SIGTERM)
    assert proc.returncode == 0 and "Traceback" not in err, err
