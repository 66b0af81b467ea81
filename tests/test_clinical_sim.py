"""Every test runs headless end to end on the simulator, is stored, and recovers what the
virtual patient was configured to do (docs/clinical-tests.md)."""

import json
import math

import numpy as np
import pytest
from scipy.stats import chi2

from cervitrack.firmware_bridge.sim.config import config_from_dict
from cervitrack.trainer.cli import main
from cervitrack.trainer.clinical import presets as protocols
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.simulation.sim_tests import run_sim_test, truth_for
from cervitrack.trainer.stores.sessions import Store


def _run(preset, patient=None, seed=3, **overrides):
    cfg = config_from_dict({"seed": seed, "patient": patient or {}})
    return run_sim_test(protocols.load(preset), cfg, overrides or None)


def _ve_interval(sd, n, level=0.99):
    """Where the n-denominator VE of n normal errors with this SD falls with probability
    ``level``: n·VE²/SD² follows a chi-square law with n − 1 degrees of freedom."""
    lo, hi = chi2.ppf([(1 - level) / 2, (1 + level) / 2], n - 1)
    return sd * math.sqrt(lo / n), sd * math.sqrt(hi / n)


def _valid(engine, direction):
    return [tr for tr in engine.trials if tr["valid"] and tr["direction"] == direction]


@pytest.mark.parametrize("kind, preset, extra", [
    ("jpe", "jpe", ["--trials", "1"]),
    ("thp", "thp-20", ["--trials", "1"]),
    ("rom", "rom", ["--trials", "1"]),
    ("butterfly", "butterfly-easy", ["--trials", "1"]),
    ("trace", "trace-zigzag", []),
])
def test_each_test_runs_headless_on_the_simulator_and_is_stored(kind, preset, extra, capsys):
    code = main(["test", kind, "--device", "sim", "--patient", "P-7", "--preset", preset,
                 "--headless", "--json", "--seed", "2", *extra])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["test"] == kind and doc["preset"] == preset
    assert doc["trials"] and all(tr["valid"] for tr in doc["trials"])
    assert main(["sessions", "--patient", "P-7", "--simulated", "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in sessions] == [doc["session_id"]]
    assert sessions[0]["tests"] == [{"id": doc["test_id"], "kind": kind, "preset": preset, "aborted": None}]
    with Store() as store:
        stored = store.tests(doc["session_id"])[0]
        assert len(stored["trials"]) == len(doc["trials"])
        assert store.session(doc["session_id"])["calibration"]["q_sensor_head_wxyz"]
    if kind == "butterfly":
        for key in ("aa_deg", "time_on_target_pct", "undershoot_pct", "overshoot_pct"):
            assert isinstance(doc[key], float)
        assert doc["time_on_target_pct"] + doc["undershoot_pct"] + doc["overshoot_pct"] == pytest.approx(100)
    if kind in ("jpe", "thp"):
        assert "Revel" in doc["threshold_source"] and doc["overall"]["n"] == len(doc["trials"])


def test_neutral_jpe_recovers_the_configured_bias_and_variability():
    bias, sd, n = {"rotation_left": 2.0, "extension": -1.5}, 1.0, 6
    session = _run("jpe", {"bias_deg": bias, "sd_deg": sd}, directions=tuple(bias), trials_per_direction=n)
    engine = session.engine
    scores = engine.scores()
    truth = truth_for("jpe", session.device)
    drawn = {d: np.array([r["error_deg"] for r in session.patient.relocations if r["direction"] == d])
             for d in bias}
    for d, b in bias.items():
        measured = np.array([tr["signed_error_deg"] for tr in _valid(engine, d)])
        assert scores[d]["n"] == len(drawn[d]) == n
        # The virtual patient returns 0.6° past its drawn target and corrects over 0.5 s, below
        # the 5°/s stillness threshold; the mark waits until the angles stay within 0.5° over
        # the settled window, so it lands on the final position, up to sway and tremor.
        shift = measured - drawn[d]
        assert abs(shift.mean()) <= 0.15 and shift.std() < 0.1
        assert abs(scores[d]["ce_deg"] - b) <= 2 * sd / math.sqrt(n) + 0.15
        assert _ve_interval(sd, n)[0] <= scores[d]["ve_deg"] <= _ve_interval(sd, n)[1]
        assert abs(scores[d]["ve_deg"] - drawn[d].std()) <= 0.1
        for tr in _valid(engine, d):
            assert abs(tr["error_deg"]["global"] - truth(tr)["global"]) <= 0.3


def test_target_jpe_learns_the_target_and_recovers_bias_relative_to_it():
    bias, sd, n = {"rotation_right": 2.5, "flexion": -2.0}, 1.0, 6
    session = _run("thp-20", {"bias_deg": bias, "sd_deg": sd}, directions=tuple(bias),
                   trials_per_direction=n)
    engine = session.engine
    scores = engine.scores()
    truth = truth_for("thp", session.device)
    for d, b in bias.items():
        assert scores[d]["target_deg"] == 20.0 and scores[d]["n"] == n
        # CE > 0 means past the target: the configured bias is signed the same way.
        assert abs(scores[d]["ce_deg"] - b) <= 2 * sd / math.sqrt(n) + 0.2
        assert _ve_interval(sd, n)[0] <= scores[d]["ve_deg"] <= _ve_interval(sd, n)[1]
        for tr in _valid(engine, d):
            assert abs(tr["learned_offset_deg"]) <= engine.settings.tolerance_deg
            assert abs(tr["signed_error_deg"] - truth(tr)["signed_error_deg"]) <= 0.3
    prompts = [e["prompt"] for e in engine.events if e["kind"] == "prompt"]
    assert "hold_here" in prompts and "relocate" in prompts and "adjust" in prompts
    # Each measured error is the one the virtual patient drew (plus sway and sensor error).
    drawn = [r["error_deg"] for r in session.patient.relocations]
    measured = [tr["signed_error_deg"] for tr in engine.trials if "signed_error_deg" in tr]
    assert len(drawn) == len(measured) == 2 * n
    assert np.allclose(measured, drawn, atol=0.35)


def test_range_of_motion_recovers_the_configured_maxima():
    rom, sd, n = {"rotation_left": 70.0, "flexion": 50.0}, 1.5, 4
    session = _run("rom", {"rom_deg": rom, "rom_sd_deg": sd}, directions=tuple(rom), trials_per_direction=n)
    engine = session.engine
    scores = engine.scores()
    truth = truth_for("rom", session.device)
    for d, r in rom.items():
        assert scores["directions"][d]["n"] == n
        assert abs(scores["directions"][d]["mean_deg"] - r) <= 2 * sd / math.sqrt(n) + 0.3
        for tr in _valid(engine, d):
            assert abs(tr["held_deg"] - truth(tr)["held_deg"]) <= 0.3
    drawn = [r["reach_deg"] for r in session.patient.reaches]
    measured = [tr["rom_deg"] for tr in engine.trials]
    assert np.allclose(measured, drawn, atol=0.5)
    assert "No numeric norm table" in scores["norms_note"]


@pytest.mark.parametrize("lag_s", [0.5, -0.5])
def test_a_lagging_patient_undershoots_and_a_leading_one_overshoots(lag_s):
    session = _run("butterfly-medium", {"tracking_lag_s": lag_s, "tracking_noise_deg": 0.2},
                   repetitions=1, duration_s=14.0)
    run = session.engine.trials[0]
    assert run["valid"]
    assert run["time_on_target_pct"] + run["undershoot_pct"] + run["overshoot_pct"] == pytest.approx(100)
    if lag_s > 0:
        assert run["undershoot_pct"] > run["overshoot_pct"] + 10
    else:
        assert run["overshoot_pct"] > run["undershoot_pct"] + 10


def test_tracing_counts_more_departures_for_a_less_accurate_patient():
    steady = _run("trace-figure8", {"trace_error_deg": 0.2, "trace_speed_deg_s": 8.0}).engine.trials[0]
    shaky = _run("trace-figure8", {"trace_error_deg": 2.5, "trace_speed_deg_s": 8.0}).engine.trials[0]
    assert steady["completed"] and shaky["completed"]
    assert steady["error_count"] == 0 and shaky["error_count"] >= 2
    assert shaky["error_magnitude_deg_s"] > steady["error_magnitude_deg_s"]
    # Minimum-jerk along the path: mean speed 8 deg/s; the run ends within a band of the end.
    length = 82.78
    assert length / 8.0 * 0.8 <= steady["time_s"] <= length / 8.0 + 0.5


def test_manual_marking_records_only_on_the_mark():
    session = _run("jpe-manual", directions=("flexion",), trials_per_direction=3)
    engine = session.engine
    assert [tr["valid"] for tr in engine.trials] == [True] * 3
    marked = [e for e in engine.events if e["kind"] == "trial"]
    # The virtual examiner marks 1.2 s after the patient stops: later than the automatic mark.
    assert all(e["ret_window"]["t1_s"] > 0 for e in marked)


def test_a_mark_while_the_head_is_still_moving_makes_the_trial_invalid_and_redone():
    preset = protocols.load("jpe-manual")
    engine = protocols.build_engine(preset, 100.0, {"directions": ("rotation_left",), "trials_per_direction": 1})
    from cervitrack.trainer.simulation.runner import SimSession

    session = SimSession(config_from_dict({"seed": 4}), engine)
    marked = False
    while not engine.done and session.t_s < 300:
        step = session.step()
        if engine.phase == "return" and len(step.pose) and not marked:
            # Mark 70 % into the main return movement: past half-way, still moving fast.
            main_return = session.patient.plan.segments[-2]
            if session.t_s >= main_return.t0_s + 0.7 * (main_return.t1_s - main_return.t0_s):
                engine.mark(float(step.pose.t_s[-1]))
                marked = True
        elif engine.phase == "return" and len(step.pose) and session.t_s >= session.patient.plan.end_time_s + 1.2:
            engine.mark(float(step.pose.t_s[-1]))
    assert engine.done
    assert engine.trials[0]["valid"] is False and "still moving" in engine.trials[0]["reason"]
    assert engine.trials[1]["valid"] is True


def test_target_as_a_share_of_rom_needs_a_stored_rom_test(capsys):
    assert main(["test", "thp", "--device", "sim", "--preset", "thp-rom50", "--patient", "P-9"]) == 2
    assert "run `cervitrack test rom --patient P-9` first" in capsys.readouterr().err
    with Store() as store:
        store.ensure_patient("P-9")
        sid = store.add_session("sim", "P-9")
        rom = {d: {"n": 1, "max_deg": v, "mean_deg": v, "sd_deg": 0.0} for d, v in
               {"rotation_left": 60.0, "rotation_right": 50.0, "flexion": 40.0, "extension": 44.0}.items()}
        store.add_test(sid, "rom", "rom", {}, {"directions": rom, "planes": {}}, {}, [])
    # A clinic's own preset: half the ROM, one direction (the shipped thp-rom50 has four).
    (data_dir() / "presets").mkdir()
    (data_dir() / "presets" / "thp-half-left.toml").write_text(
        'test = "thp"\ntitle = "Half ROM, left"\n[settings]\ndirections = ["rotation_left"]\n'
        'trials_per_direction = 2\ntarget_rom_share = 0.5\n')
    assert main(["test", "thp", "--device", "sim", "--preset", "thp-half-left", "--patient", "P-9",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["directions"]["rotation_left"]["target_deg"] == 30.0
    assert all(tr["target_deg"] == 30.0 for tr in doc["trials"])


@pytest.mark.parametrize("argv, message", [
    (["test", "jpe", "--device", "ble:AA:BB", "--fast"], "--speed and --fast apply to sim and replay"),
    (["test", "jpe", "--device", "udp:4242", "--seed", "3"], "--seed and --sim-config are for --device sim"),
    (["test", "jpe", "--device", "usb"], "unknown device"),
    (["test", "jpe", "--device", "sim", "--preset", "rom"], "is a rom test, not jpe"),
    (["test", "jpe", "--device", "sim", "--preset", "nope"], "unknown preset"),
    (["test", "jpe", "--device", "sim", "--trials", "0"], "--trials must be between 1 and 50"),
    (["test", "jpe", "--device", "sim", "--session", "99"], "no session 99"),
    (["sessions", "--patient", "ghost"], "no patient 'ghost'"),
])
def test_bad_input_gives_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cervitrack: error: ") and message in err and len(err.strip().splitlines()) == 1
