"""The JPE engine: calibration, trial flow, validity rules and redo, on simulated time."""

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession, true_trial_errors


def session(seed=1, trials=2, directions=("rotation_left", "flexion"), **overrides):
    cfg = load_config(None, seed=seed)
    for key, value in overrides.items():
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    engine = JpeTest(JpeSettings(directions=directions, trials_per_direction=trials),
                     rate_hz=cfg.sensor.rate_hz)
    return SimSession(cfg, engine, max_duration_s=600)


def prompts_of(engine):
    return [e["prompt"] for e in engine.events if e["kind"] == "prompt"]


def test_calibrates_then_runs_the_trial_sequence():
    s = session()
    s.run()
    kinds = prompts_of(s.engine)
    assert kinds[:3] == ["sit_still", "nod", "turn"]
    assert kinds[3:7] == ["recenter", "move", "return", "trial_recorded"]
    assert kinds[-1] == "done"
    cal = [e for e in s.engine.events if e["kind"] == "calibration"]
    assert cal and cal[-1]["ok"] and cal[-1]["score"] > 0
    assert [t["direction"] for t in s.engine.trials] == ["rotation_left"] * 2 + ["flexion"] * 2
    assert all(t["valid"] for t in s.engine.trials)


def test_trial_windows_are_settled_and_ordered():
    s = session()
    s.run()
    for tr in s.engine.trials:
        ref, ret = tr["ref_window"], tr["ret_window"]
        assert ref["t1_s"] - ref["t0_s"] == pytest.approx(1.0, abs=0.02)
        assert ret["t1_s"] - ret["t0_s"] == pytest.approx(1.0, abs=0.02)
        assert ref["t1_s"] < ret["t0_s"]
        assert tr["peak_deg"] >= 20 if tr["direction"] == "rotation_left" else tr["peak_deg"] >= 15


def test_signed_error_is_positive_for_overshoot():
    # A large configured overshoot on rotation left: the return lands right of neutral.
    s = session(patient__bias_deg={**load_config().patient.bias_deg, "rotation_left": 6.0},
                patient__sd_deg=0.2, trials=3, directions=("rotation_left",))
    s.run()
    for tr in s.engine.trials:
        assert tr["signed_error_deg"] == pytest.approx(6.0, abs=1.0)
        assert tr["error_deg"]["axial"] == pytest.approx(-6.0, abs=1.0)  # right of start


def test_too_small_movements_are_invalid_and_redone_up_to_the_limit():
    amp = {**load_config().patient.amplitude_deg, "rotation_left": 12.0}
    s = session(patient__amplitude_deg=amp, trials=1, directions=("rotation_left",))
    s.engine.settings = JpeSettings(directions=("rotation_left",), trials_per_direction=1,
                                    max_redos_per_direction=2)
    s.engine._redos = {"rotation_left": 0}
    s.run()
    trials = s.engine.trials
    assert len(trials) == 3 and not any(t["valid"] for t in trials)
    assert {t["reason"] for t in trials} == {"the movement was not large enough"}
    assert prompts_of(s.engine).count("redo") == 2
    assert s.engine.scores()["rotation_left"]["n"] == 0


def test_data_gaps_invalidate_trials_which_are_redone():
    s = session(seed=3, trials=3, link__disconnect_every_s=12.0, link__disconnect_s=0.6,
                directions=("rotation_left",))
    s.run()
    trials = s.engine.trials
    gap_events = [e for e in s.engine.events if e["kind"] == "gap"]
    assert gap_events
    invalid = [t for t in trials if not t["valid"]]
    assert all(t["reason"] in ("signal lost", "a data gap occurred during the trial",
                               "samples were lost during the trial",
                               "no stable relocation was found") for t in invalid)
    assert sum(t["valid"] for t in trials) == 3 or len(invalid) > s.engine.settings.max_redos_per_direction - 1
    for tr in trials:
        if tr["valid"]:
            truth = true_trial_errors(s.device, tr)
            assert abs(tr["error_deg"]["global"] - truth["global"]) < 0.3


def test_packet_loss_still_measures_accurately():
    s = session(seed=4, trials=2, link__loss_rate=0.03, link__jitter_ms=10.0)
    s.run()
    valid = [t for t in s.engine.trials if t["valid"]]
    assert len(valid) == 4
    for tr in valid:
        truth = true_trial_errors(s.device, tr)
        for k in ("axial", "flexion", "lateral", "global"):
            assert abs(tr["error_deg"][k] - truth[k]) < 0.3


def _until_return(s):
    while s.engine.phase != "return":
        s.step()
    return s.t_s


def _mark_now(s):
    t_mark = float(s.pipeline.timebase._last_t_s)
    s.engine.mark(t_mark)
    s.step()
    return t_mark


def test_manual_mark_records_the_relocation_at_that_time():
    s = session(trials=1, directions=("rotation_left",))
    t0 = _until_return(s)
    engine = s.engine
    while True:  # back, and still for half a second: before the automatic 1 s mark
        s.step()
        tr = engine._trial
        if not np.isnan(tr.came_back_t_s) and s.pipeline.stillness.still_since_t_s <= s.t_s - 0.5:
            break
        assert s.t_s < t0 + 10
    t_mark = _mark_now(s)
    tr = engine.trials[0]
    assert tr["valid"], tr["reason"]
    assert tr["ret_window"]["t1_s"] == pytest.approx(t_mark, abs=0.011)
    assert abs(tr["error_deg"]["global"] - true_trial_errors(s.device, tr)["global"]) < 0.3


def test_manual_mark_while_moving_is_invalid():
    s = session(trials=1, directions=("rotation_left",))
    t0 = _until_return(s)
    while s.engine._trial is not None and np.isnan(s.engine._trial.came_back_t_s):
        s.step()
        assert s.t_s < t0 + 10
    _mark_now(s)  # just past half-way back: still moving fast
    tr = s.engine.trials[0]
    assert not tr["valid"] and tr["reason"] == "the head was still moving at the mark"


def test_manual_mark_before_coming_back_is_invalid():
    s = session(trials=1, directions=("rotation_left",))
    _until_return(s)
    _mark_now(s)
    tr = s.engine.trials[0]
    assert not tr["valid"] and tr["reason"] == "the head had not come back at the mark"
    assert s.engine.phase == "recenter"  # the trial is redone


def test_reusing_a_calibration_skips_the_calibration_phase():
    first = session(trials=1, directions=("flexion",))
    first.run()
    cfg = load_config(None, seed=1)
    engine = JpeTest(JpeSettings(directions=("flexion",), trials_per_direction=1),
                     calibration=first.engine.calibration)
    s = SimSession(cfg, engine)
    s.run()
    assert prompts_of(engine)[0] == "recenter"
    assert engine.trials[0]["valid"]


def test_scores_follow_the_definitions():
    s = session(trials=3, directions=("extension",))
    s.run()
    e = np.array([t["signed_error_deg"] for t in s.engine.trials if t["valid"]])
    sc = s.engine.scores()["extension"]
    assert sc["ce_deg"] == pytest.approx(e.mean())
    assert sc["ae_deg"] == pytest.approx(np.abs(e).mean())
    assert sc["ve_deg"] == pytest.approx(e.std(ddof=0))
    assert sc["rmse_deg"] == pytest.approx(np.sqrt((e**2).mean()))
