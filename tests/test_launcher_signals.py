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
    try:
        first = proc.stdout.readline()  # streaming: the child is in its loop
        assert first, proc.stderr.read().decode()
        proc.send_signal(signal.SIGINT)  # ignored, as under such a launcher
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
