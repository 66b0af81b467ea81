"""Ctrl-C during `cervitrack test`: the trials done are stored, with the test marked aborted
(as the application's Stop button does); before any trial, nothing is stored.

The installed command runs the simulated patient in real time (``--speed``) with its real
stdout; Ctrl-C is a SIGINT sent to it once the prompts show that the first trial is over.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

CERVITRACK = shutil.which("cervitrack", path=str(Path(sys.executable).parent)) or "cervitrack"
NEXT_TRIAL = "Open your eyes, look straight ahead at the centre and keep still."


def _sigint_as_ctrl_c():
    # A launcher may ignore SIGINT (nohup, CI runners); a terminal's Ctrl-C is not ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_until(home, seen, *args):
    """Start `cervitrack test jpe` and send Ctrl-C once ``seen(lines)`` is true; returns
    (exit code, stdout lines, stderr)."""
    env = {**os.environ, "CERVITRACK_HOME": str(home)}
    proc = subprocess.Popen([CERVITRACK, "test", "jpe", "--device", "sim", "--speed", "8", "--trials", "2",
                             "--no-sound", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=home, preexec_fn=_sigint_as_ctrl_c)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if seen(lines):
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, lines + out.splitlines(), err


def test_ctrl_c_after_the_first_trial_stores_it_marked_aborted(tmp_path):
    code, lines, err = run_until(tmp_path, lambda lines: lines.count(NEXT_TRIAL) == 2, "--patient", "P-stop")
    assert code == 130, err
    assert "Traceback" not in err
    text = "\n".join(lines)
    assert "The test was stopped by the examiner (Ctrl-C) after 1 trial: the trials done are stored, " \
           "marked aborted." in text
    assert "Stored as session 1 (patient P-stop)" in text
    shown = subprocess.run([CERVITRACK, "sessions", "--patient", "P-stop", "--json", "--simulated"],
                           capture_output=True, text=True, env={**os.environ, "CERVITRACK_HOME": str(tmp_path)},
                           cwd=tmp_path, check=True)
    (session,) = json.loads(shown.stdout)
    assert session["tests"] == [{"id": 1, "kind": "jpe", "preset": "jpe",
                                 "aborted": "stopped by the examiner (Ctrl-C) after 1 trial"}]
    listed = subprocess.run([CERVITRACK, "sessions", "--simulated"], capture_output=True, text=True,
                            env={**os.environ, "CERVITRACK_HOME": str(tmp_path)}, cwd=tmp_path, check=True)
    assert listed.stdout.rstrip().endswith("jpe (jpe, aborted)")
    report = subprocess.run([CERVITRACK, "report", str(session["id"]), "--out", "r.html"], capture_output=True,
                            text=True, env={**os.environ, "CERVITRACK_HOME": str(tmp_path)}, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "Stopped early</b>: stopped by the examiner (Ctrl-C) after 1 trial" in \
        (tmp_path / "r.html").read_text(encoding="utf-8")


def test_ctrl_c_during_the_calibration_stores_nothing(tmp_path):
    code, lines, err = run_until(tmp_path, lambda lines: len(lines) >= 1, "--patient", "P-none")
    assert code == 130 and "cervitrack: interrupted" in err and "Traceback" not in err
    assert not any(line.startswith("Stored") for line in lines)
    shown = subprocess.run([CERVITRACK, "sessions", "--patient", "P-none", "--json", "--simulated"],
                           capture_output=True, text=True, env={**os.environ, "CERVITRACK_HOME": str(tmp_path)},
                           cwd=tmp_path, check=True)
    assert json.loads(shown.stdout) == []
