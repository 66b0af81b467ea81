"""``cervitrack test`` with a real device and its saved calibration, over a UDP link.

The installed ``cervitrack`` command runs a JPE test on ``--device udp:PORT`` (opentrack
datagrams, the format phone head-tracking apps send) while another program, the virtual patient
of tests/udp_patient.py (standard library and numpy only, not cervitrack), follows the test by
tailing the ``--events`` file: it re-centres, moves and comes back to an error it draws and
logs. The device's saved calibration is reused (``--use-saved-calibration``) and the link drops
out during trial 2. Everything the person sees is the command's output; the stored session is
read back with ``cervitrack sessions``. The full journeys on every transport (calibration
included) are in test_e2e_emulated.py. Real time: about half a minute.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PATIENT = Path(__file__).with_name("udp_patient.py")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def journey(tmp_path, *cli_args, drop_trial=None, drop_s=4.0, port=None):
    """Run the sender and the test command; returns (result, events, sender log, env, port)."""
    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home")}
    port = port or free_udp_port()
    events, log = tmp_path / "events.jsonl", tmp_path / "patient.jsonl"
    sender_args = [str(BIN / "python"), str(PATIENT), "--port", str(port), "--events", str(events),
                   "--log", str(log), "--max-s", "400"]
    if drop_trial is not None:
        sender_args += ["--drop-trial", str(drop_trial), "--drop-s", str(drop_s)]
    sender = subprocess.Popen(sender_args, cwd=tmp_path, env=env)
    try:
        result = subprocess.run(
            [str(BIN / "cervitrack"), "test", "jpe", "--device", f"udp:{port}", "--protocol", "opentrack-udp",
             "--patient", "P1", "--events", str(events), "--json", *cli_args],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=420)
    finally:
        try:
            sender.wait(timeout=15)  # it leaves a second after the test's end
        except subprocess.TimeoutExpired:
            sender.kill()
            sender.wait()
    lines = [json.loads(x) for x in events.read_text().splitlines()] if events.exists() else []
    drawn = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return result, lines, drawn, env, port


def stored_sessions(env, tmp_path):
    out = subprocess.run([str(BIN / "cervitrack"), "sessions", "--patient", "P1", "--json"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def check_errors_recovered(doc, drawn):
    """Each valid trial's measured error equals the error the patient drew (within 0.3°)."""
    by_trial = {d["trial"]: d for d in drawn if "trial" in d}
    component = {"yaw": "axial", "pitch": "flexion"}
    checked = 0
    for number, trial in enumerate(doc["trials"], start=1):
        if not trial["valid"]:
            continue
        want = by_trial[number]
        assert want["direction"] == trial["direction"]
        got = trial["error_deg"]
        assert got[component[want["axis"]]] == pytest.approx(want["error_deg"], abs=0.3)
        assert got["global"] == pytest.approx(abs(want["error_deg"]), abs=0.3)
        checked += 1
    return checked


def test_the_saved_calibration_is_reused_and_a_dropout_pauses_the_trial_and_it_is_redone(tmp_path, monkeypatch):
    # The device was calibrated in an earlier session (the sensor sits square on the head):
    # --use-saved-calibration reuses it, capturing only the neutral.
    import numpy as np

    from cervitrack.calibration.head import HeadCalibration
    from cervitrack.trainer.stores.calibrations import save_calibration

    port = free_udp_port()
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path / "home"))
    save_calibration(f"udp:{port}:opentrack-udp", HeadCalibration(np.array([1.0, 0, 0, 0]), None, None, {"ok": True}))
    presets = tmp_path / "home" / "presets"
    presets.mkdir(parents=True, exist_ok=True)
    (presets / "jpe-rotation.toml").write_text(
        'test = "jpe"\ntitle = "JPE, rotation only (1 trial per direction)"\n\n[settings]\n'
        'directions = ["rotation_left", "rotation_right"]\ntrials_per_direction = 1\n')
    result, events, drawn, env, _ = journey(tmp_path, "--preset", "jpe-rotation", "--use-saved-calibration",
                                            drop_trial=2, drop_s=4.0, port=port)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    printed = result.stderr.splitlines()
    assert printed[2] == "Using this device's saved calibration. Sit upright, look straight ahead and keep still."
    assert [e["prompt"] for e in events if e["kind"] == "prompt"][0] == "recenter"  # no calibration
    assert printed.count("Signal lost — trial 2 paused. Waiting for the sensor…") == 1
    assert printed.count("Signal back. Trial 2 will be redone.") == 1
    pause = [e for e in events if e["kind"] == "pause"]
    resume = [e for e in events if e["kind"] == "resume"]
    assert len(pause) == 1 and len(resume) == 1 and pause[0]["trial"] == 2
    dropout = next(d["dropout"] for d in drawn if "dropout" in d)
    assert resume[0]["t_s"] - pause[0]["t_s"] == pytest.approx(dropout[1] - dropout[0], abs=0.5)
    # Trial 2 is counted as lost and redone; nothing from the gap is stored as valid.
    reasons = [t["reason"] for t in doc["trials"]]
    assert reasons == [None, "signal lost", None]
    lost = doc["trials"][1]
    assert not lost["valid"] and "error_deg" not in lost and "ret_window" not in lost
    for t in doc["trials"]:
        if t["valid"]:
            assert not (t["ref_window"]["t0_s"] <= pause[0]["t_s"] <= t["ret_window"]["t1_s"])
    assert check_errors_recovered(doc, drawn) == 2
    assert stored_sessions(env, tmp_path)[0]["tests"][0]["kind"] == "jpe"
