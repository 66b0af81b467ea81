"""Acceptance of the foundation: `cervitrack demo --headless --json` measures what the
simulator knows to be true.

For every trial, the measured error (through OHT/1 bytes, decoder, timebase, orientation,
functional calibration and the JPE engine) must match the ground truth taken over the same
frames: |error − true error| ≤ 0.3° per trial and component, RMS over trials ≤ 0.15° for the
global angle and ≤ 0.2° per component; the scores obey RMSE² = CE² + VE².
"""

import json
import subprocess
import sys

import numpy as np
import pytest

COMPONENTS = ("axial", "flexion", "lateral", "global")


def run_demo(tmp_path, toml: str | None = None, *extra) -> dict:
    cmd = [sys.executable, "-m", "cervitrack", "demo", "--headless", "--json", *extra]
    if toml is not None:
        path = tmp_path / "sim.toml"
        path.write_text(toml)
        cmd += ["--sim-config", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def assert_matches_truth(doc: dict) -> None:
    trials = [t for t in doc["trials"] if "true_error_deg" in t]
    assert len([t for t in trials if t["valid"]]) == 32
    diff = np.array([[t["error_deg"][c] - t["true_error_deg"][c] for c in COMPONENTS] for t in trials])
    assert np.abs(diff).max() <= 0.3, np.abs(diff).max(axis=0)
    rms = np.sqrt((diff**2).mean(axis=0))
    assert rms[3] <= 0.15, rms
    assert np.all(rms[:3] <= 0.2), rms


def assert_score_identity(doc: dict) -> None:
    for direction, s in doc["directions"].items():
        assert s["n"] == 8, direction
        assert s["rmse_deg"] ** 2 == pytest.approx(s["ce_deg"] ** 2 + s["ve_deg"] ** 2, rel=1e-9)
        assert s["ae_deg"] >= abs(s["ce_deg"]) - 1e-12


def test_json_shape(tmp_path):
    doc = run_demo(tmp_path, None, "--seed", "11", "--trials", "1")
    assert doc["test"] == "jpe-neutral" and doc["device"] == "sim"
    assert set(doc["directions"]) == {"rotation_left", "rotation_right", "flexion", "extension"}
    for s in doc["directions"].values():
        assert {"n", "ae_deg", "ce_deg", "ve_deg", "rmse_deg", "global_ae_deg"} <= set(s)
    trial = doc["trials"][0]
    assert {"direction", "valid", "error_deg", "true_error_deg"} <= set(trial)
    assert set(trial["error_deg"]) == set(COMPONENTS) == set(trial["true_error_deg"])


def test_defaults_match_truth(tmp_path):
    doc = run_demo(tmp_path)
    assert_matches_truth(doc)
    assert_score_identity(doc)


def test_raw_output_and_tilted_mount_match_truth(tmp_path):
    doc = run_demo(tmp_path, '[sensor]\noutput = "raw"\nmount_rpy_deg = [20, -30, 45]\n')
    assert_matches_truth(doc)
    assert_score_identity(doc)


def test_configured_relocation_bias_is_recovered(tmp_path):
    doc = run_demo(tmp_path, "[patient]\nsd_deg = 1\n[patient.bias_deg]\nrotation_left = 3\n")
    assert doc["directions"]["rotation_left"]["ce_deg"] == pytest.approx(3.0, abs=1.0)


def test_same_seed_gives_identical_results(tmp_path):
    a = run_demo(tmp_path, None, "--seed", "5", "--trials", "1")
    b = run_demo(tmp_path, None, "--seed", "5", "--trials", "1")
    assert a == b
