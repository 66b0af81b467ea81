"""A lost signal in the engines: the test pauses with a message, the trial under way is
redone when samples return, and nothing measured across the interruption is kept.

Pure: the engines get poses from the simulator's pipeline (time from the samples); a hole in
the stream is made by advancing the simulated headset and dropping what it delivered.
"""

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.trainer.clinical import presets
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession, true_trial_errors


def jpe_session(seed=2, trials=2, directions=("rotation_left",)):
    cfg = load_config(None, seed=seed)
    engine = JpeTest(JpeSettings(directions=directions, trials_per_direction=trials),
                     rate_hz=cfg.sensor.rate_hz)
    return SimSession(cfg, engine, max_duration_s=600)


def step_until(s, phase):
    while s.engine.phase != phase:
        s.step()
        assert s.t_s < 600


def drop(s, seconds):
    """The link delivers nothing for ``seconds``: the headset runs on, its items are lost."""
    end = s.t_s + seconds
    while s.t_s < end:
        s.t_s = round(s.t_s + s.step_s, 9)
        s.device.advance(s.t_s)


def events(engine, kind):
    return [e for e in engine.events if e["kind"] == kind]


def test_no_samples_for_half_a_second_pauses_the_trial_with_a_message():
    s = jpe_session()
    step_until(s, "return")
    t_last = float(s.engine.history.t_s[-1])
    assert not s.engine.check_signal(t_last + 0.4)          # not yet: 0.4 s is not lost
    assert s.engine.check_signal(t_last + 0.6)              # > 0.5 s without a sample
    pause = events(s.engine, "pause")
    assert len(pause) == 1 and pause[0]["t_s"] == t_last
    assert pause[0]["text"] == "Signal lost — trial 1 paused. Waiting for the sensor…"
    assert s.engine.check_signal(t_last + 5.0) and len(events(s.engine, "pause")) == 1  # said once


def test_the_trial_is_redone_when_the_signal_returns_and_nothing_from_the_gap_is_kept():
    s = jpe_session(trials=2)
    step_until(s, "move")
    s.step()
    drop(s, 2.0)
    s.engine.check_signal(s.t_s)
    t_back = s.t_s
    s.run()
    trials = s.engine.trials
    lost = [t for t in trials if t["reason"] == "signal lost"]
    assert len(lost) == 1 and not lost[0]["valid"] and "error_deg" not in lost[0]
    assert sum(t["valid"] for t in trials) == 2                # the lost one was redone
    resume = events(s.engine, "resume")
    assert len(resume) == 1 and resume[0]["text"] == "Signal back. Trial 1 will be redone."
    prompts = [e["prompt"] for e in s.engine.events if e["kind"] == "prompt" and e["t_s"] >= resume[0]["t_s"]]
    assert prompts[:2] == ["redo", "recenter"]
    for tr in trials:
        if tr["valid"]:
            assert tr["ref_window"]["t0_s"] >= t_back - 0.2    # measured after the hole only
            truth = true_trial_errors(s.device, tr)
            assert abs(tr["error_deg"]["global"] - truth["global"]) < 0.3


def test_a_hole_in_the_sample_times_alone_pauses_and_redoes():
    # Nobody calls check_signal: the next samples, 2 s after the last, show the loss.
    s = jpe_session(trials=1)
    step_until(s, "return")
    drop(s, 2.0)
    s.run()
    assert [e["reason"] for e in events(s.engine, "pause")] == ["no data"]
    assert [t["reason"] for t in s.engine.trials] == ["signal lost", None]


def test_a_gap_item_from_the_link_pauses():
    cfg = load_config(None, seed=3)
    cfg.link.disconnect_every_s = 15.0
    cfg.link.disconnect_s = 0.3          # shorter than signal_lost_s: the Gap alone says it
    engine = JpeTest(JpeSettings(directions=("rotation_left",), trials_per_direction=3),
                     rate_hz=cfg.sensor.rate_hz)
    s = SimSession(cfg, engine, max_duration_s=900)
    s.run()
    gaps, pauses = events(engine, "gap"), events(engine, "pause")
    assert gaps and len(pauses) == len(gaps)
    assert {p["reason"] for p in pauses} == {"disconnect"}
    assert sum(t["valid"] for t in engine.trials) == 3
    lost = [t for t in engine.trials if t["reason"] == "signal lost"]
    assert len(lost) == sum(1 for p in pauses if p["text"].startswith("Signal lost — trial"))


def test_a_lost_signal_during_calibration_restarts_it():
    s = jpe_session(trials=1)
    step_until(s, "cal_nod")
    drop(s, 1.0)
    s.run()
    resume = events(s.engine, "resume")
    assert resume and resume[0]["text"] == "Signal back. The calibration starts again."
    kinds = [e["prompt"] for e in s.engine.events if e["kind"] == "prompt"]
    assert kinds[:4] == ["sit_still", "nod", "sit_still", "nod"]
    assert s.engine.calibration is not None and s.engine.trials[-1]["valid"]


def test_signal_lost_redos_do_not_use_up_the_redo_limit():
    cfg = load_config(None, seed=5)
    engine = JpeTest(JpeSettings(directions=("rotation_left",), trials_per_direction=1,
                                 max_redos_per_direction=0), rate_hz=cfg.sensor.rate_hz)
    s = SimSession(cfg, engine, max_duration_s=600)
    for _ in range(2):
        step_until(s, "return")
        drop(s, 1.0)
        s.step()
    s.run()
    assert [t["reason"] for t in engine.trials] == ["signal lost", "signal lost", None]
    assert engine.scores()["rotation_left"]["n"] == 1


@pytest.mark.parametrize("kind,phase,field", [("rom", "move_max", "direction"),
                                              ("thp", "learn", "direction")])
def test_recentered_tests_redo_the_item_with_the_reason(kind, phase, field):
    cfg = load_config(None, seed=6)
    preset = presets.load(presets.DEFAULT_PRESETS[kind])
    engine = presets.build_engine(preset, cfg.sensor.rate_hz, {"trials_per_direction": 1})
    s = SimSession(cfg, engine, max_duration_s=1800)
    step_until(s, phase)
    key = engine._item.key
    drop(s, 1.0)
    s.run()
    lost = [t for t in engine.trials if t["reason"] == "signal lost"]
    assert len(lost) == 1 and lost[0][field] == key and not lost[0]["valid"]
    first_valid = [t for t in engine.trials if t["valid"] and t[field] == key]
    assert first_valid, "the lost item was redone"
    assert np.isfinite(first_valid[0]["ref_window"]["t0_s"])
