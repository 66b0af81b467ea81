"""A lost signal in a training session, as in the clinical engines (tests/test_signal_lost.py):
the drill pauses with the same words, the trial under way is recorded as invalid ("signal lost")
and redone when samples return, a calibration under way starts again, and nothing measured
across the interruption is kept.

Pure: the session gets poses from the simulator's pipeline (time from the samples); a hole in
the stream is made by advancing the simulated headset and dropping what it delivered.
"""

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.simulation.runner import SimSession
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import TrainingPatient, skill_for_practice
from cervitrack.trainer.training.simulate import SIM_RATE_HZ
from cervitrack.trainer.training.symptoms import SymptomRating as R


def session(seed=4, level=2, blocks=("relocation",), directions=("rotation_left", "rotation_right")):
    plan = Plan(level=level, reps_per_direction=1, relocation_blocks=1, warmup_reps=1, blocks=blocks,
                directions=directions)
    cfg = SimConfig(seed=seed, sensor=SensorConfig(rate_hz=SIM_RATE_HZ), patient=skill_for_practice(0))
    engine = TrainingSession(plan, "normal", R(1), rate_hz=cfg.sensor.rate_hz)
    return SimSession(cfg, engine, step_s=0.1, max_duration_s=600, patient_factory=TrainingPatient)


def step(s):
    """One step; open questions answered (ratings unchanged, the trainee's own estimate)."""
    result = s.step()
    q = s.engine.question
    if q:
        t = float(result.pose.t_s[-1]) if len(result.pose) else s.t_s
        for p in s.engine.answer(t, q, R(1) if q == "rate_symptoms" else s.patient.estimate()):
            s.patient.on_prompt(p, s.t_s)
    assert s.t_s < 600


def step_until(s, ok):
    while not ok(s):
        step(s)


def run(s):
    while not s.engine.done:
        step(s)


def drop(s, seconds):
    """The link delivers nothing for ``seconds``: the headset runs on, its items are lost."""
    end = s.t_s + seconds
    while s.t_s < end:
        s.t_s = round(s.t_s + s.step_s, 9)
        s.device.advance(s.t_s)


def drill_phase(phase):
    return lambda s: s.engine.phase == "block" and s.engine._current.phase == phase


def events(engine, kind):
    return [e for e in engine.events if e["kind"] == kind]


def test_no_samples_for_half_a_second_pauses_the_drill_trial_with_the_clinical_words():
    s = session()
    step_until(s, drill_phase("return"))
    t_last = float(s.engine._current.history.t_s[-1])
    assert not s.engine.check_signal(t_last + 0.4)        # 0.4 s is not lost yet
    assert s.engine.check_signal(t_last + 0.6) and s.engine.paused
    pause = events(s.engine, "pause")                     # copied into the session's events
    assert len(pause) == 1 and pause[0]["t_s"] == t_last
    assert pause[0]["text"] == "Signal lost — trial 1 paused. Waiting for the sensor…"
    assert s.engine.check_signal(t_last + 5.0) and len(events(s.engine, "pause")) == 1  # said once


def test_the_trial_under_way_is_invalid_signal_lost_and_redone_with_nothing_from_the_gap():
    s = session()
    step_until(s, drill_phase("return"))
    direction = s.engine._current._current.direction
    drop(s, 2.0)
    s.engine.check_signal(s.t_s)
    t_back = s.t_s
    run(s)
    trials = s.engine.relocation_trials()
    assert [t["reason"] for t in trials] == ["signal lost", None, None]
    lost = trials[0]
    assert not lost["valid"] and "error_deg" not in lost and lost["direction"] == direction
    assert trials[1]["direction"] == direction            # the same direction again
    resume = events(s.engine, "resume")
    assert len(resume) == 1 and resume[0]["text"] == "Signal back. Trial 1 will be redone."
    after = [e for e in s.engine.events if e["kind"] == "prompt" and e["t_s"] >= resume[0]["t_s"]]
    assert [e["prompt"] for e in after][:2] == ["redo", "recenter"]
    assert after[0]["text"] == "Let's repeat that one. Reason: signal lost."
    for t in trials[1:]:
        assert t["valid"] and t["window"]["t0_s"] >= t_back - 0.2   # measured after the hole only
    summary = s.engine.summary()
    assert summary["n_trials"] == 2 and not summary["stopped"]


def test_a_hole_in_the_sample_times_alone_pauses_and_redoes():
    s = session(directions=("flexion",))
    step_until(s, drill_phase("move"))
    step(s)
    drop(s, 2.0)                                          # nobody calls check_signal
    run(s)
    assert [e["reason"] for e in events(s.engine, "pause")] == ["no data"]
    assert [t["reason"] for t in s.engine.relocation_trials()] == ["signal lost", None]


def test_a_lost_signal_while_recentring_restarts_the_recentring_without_a_lost_trial():
    s = session(directions=("rotation_left",))
    step_until(s, drill_phase("recenter"))
    step(s)
    drop(s, 1.0)
    run(s)
    pause = events(s.engine, "pause")
    assert [p["text"] for p in pause] == ["Signal lost — training paused. Waiting for the sensor…"]
    assert events(s.engine, "resume")[0]["text"] == "Signal back."
    assert [t["reason"] for t in s.engine.relocation_trials()] == [None]


def test_a_lost_signal_during_the_calibration_restarts_it():
    s = session(directions=("rotation_left",))
    step_until(s, lambda s: s.engine.phase == "calibrate" and s.engine._cal_engine.phase == "cal_nod")
    drop(s, 1.0)
    run(s)
    assert events(s.engine, "pause")[0]["text"] == "Signal lost — calibration paused. Waiting for the sensor…"
    assert events(s.engine, "resume")[0]["text"] == "Signal back. The calibration starts again."
    kinds = [e["prompt"] for e in s.engine.events if e["kind"] == "prompt"]
    assert kinds[:4] == ["sit_still", "nod", "sit_still", "nod"]
    assert s.engine.calibration is not None and s.engine.relocation_trials()[-1]["valid"]


def test_a_warm_up_movement_lost_is_redone_and_its_peak_not_counted():
    s = session(blocks=("warmup",), directions=("rotation_left",))
    step_until(s, drill_phase("return"))
    drop(s, 1.0)
    run(s)
    warm = s.engine.blocks[0]["engine"]
    assert [(t["valid"], t["reason"]) for t in warm.trials] == [(False, "signal lost"), (True, None)]
    assert warm.scores()["peak_deg"]["rotation_left"] == warm.trials[1]["peak_deg"]


def test_a_lost_signal_while_the_rating_is_open_is_said_and_nothing_is_redone():
    s = session(directions=("rotation_left",))
    while s.engine.question != "rate_symptoms":
        s.step()
        q = s.engine.question
        if q == "estimate":
            s.engine.answer(s.t_s, q, s.patient.estimate())
        assert s.t_s < 600
    t_last = s.engine._last_sample_t_s
    assert s.engine.check_signal(t_last + 1.0)
    assert events(s.engine, "pause")[-1]["text"] == "Signal lost — training paused. Waiting for the sensor…"
    s.step()                                              # samples again
    assert not s.engine.paused and events(s.engine, "resume")[-1]["text"] == "Signal back."
    run(s)
    assert s.engine.done and [t["reason"] for t in s.engine.relocation_trials()] == [None]
