"""Training sessions on the simulated pipeline: drills measure what the trainee did, feedback
fades with the self-estimate before every reveal, and scripted symptoms stop the session."""

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import skill_for_practice
from cervitrack.trainer.training.simulate import SIM_RATE_HZ, run_sim_session
from cervitrack.trainer.training.symptoms import SymptomRating as R


class Scripted:
    """Answers ratings from a script; estimates from the trainee's own perception."""

    def __init__(self, ratings):
        self.ratings = list(ratings)
        self.asked = []
        self.patient = None

    def answer(self, kind):
        self.asked.append(kind)
        if kind == "rate_symptoms":
            return self.ratings.pop(0)
        return self.patient.estimate()


def run(level, ratings, before=R(2), mode="normal", seed=5, **plan_kw):
    plan = Plan(level=level, **({"reps_per_direction": 1, "warmup_reps": 1, "relocation_blocks": 1} | plan_kw))
    cfg = SimConfig(seed=seed, sensor=SensorConfig(rate_hz=SIM_RATE_HZ), patient=skill_for_practice(0))
    engine = TrainingSession(plan, mode, before, rate_hz=cfg.sensor.rate_hz)
    responder = Scripted(ratings)
    sim = run_sim_session(cfg, engine, responder)
    prompts = [e for e in engine.events if e.get("kind") == "prompt"]
    return engine, sim, responder, prompts


def test_relocation_to_neutral_measures_the_trainees_errors_and_fades_feedback():
    engine, sim, responder, prompts = run(3, [R(2)], blocks=("relocation",))
    trials = engine.relocation_trials()
    drawn = [r["error_deg"] for r in sim.patient.drill_relocations]
    assert len(trials) == 4 and all(t["valid"] for t in trials)
    # Measured signed error (overshoot > 0) agrees with what the trainee did, within 1°
    # (tremor, sway, off-axis movement and the pipeline's own error).
    assert np.array([t["signed_error_deg"] for t in trials]) == pytest.approx(drawn, abs=1.0)
    # Level 3 fades KR to 50 %: estimate then dot after trials 1 and 3, nothing after 2 and 4.
    assert [t["kr"] for t in trials] == [True, False, True, False]
    kinds = [p["prompt"] for p in prompts]
    assert kinds.count("estimate") == 2 and kinds.count("feedback") == 2
    for i, k in enumerate(kinds):
        if k == "feedback":
            assert kinds[i - 1] == "estimate"  # the person estimates before seeing the dot
    assert [t["estimate"] is not None for t in trials] == [True, False, True, False]
    s = engine.summary()
    assert not s["stopped"] and s["n_trials"] == 4 and s["ae_deg"] == pytest.approx(
        np.mean([abs(e) for e in drawn]), abs=1.0)


def test_relocation_to_targets_measures_against_the_captured_target():
    engine, sim, responder, prompts = run(4, [R(2)], blocks=("relocation",), seed=9)
    trials = engine.relocation_trials()
    drawn = [r["error_deg"] for r in sim.patient.drill_relocations]
    assert [t["task"] for t in trials] == ["target"] * 4 and all(t["valid"] for t in trials)
    assert np.array([t["signed_error_deg"] for t in trials]) == pytest.approx(drawn, abs=1.2)
    kinds = [p["prompt"] for p in prompts]
    assert kinds.count("drill_relocate") == 4 and kinds.count("drill_back") == 4


def test_pain_up_by_two_after_a_block_stops_the_session_with_advice():
    engine, sim, responder, prompts = run(2, [R(4), R(4)], before=R(2), relocation_blocks=2,
                                          blocks=("relocation",))
    assert engine.done and engine.stop.stop and engine.stop.reason == "pain"
    assert len(engine.blocks) == 1  # the second block never started
    assert responder.asked.count("rate_symptoms") == 1
    assert prompts[-1]["prompt"] == "stop" and "physiotherapist" in prompts[-1]["text"]
    assert engine.summary()["stopped"] and engine.summary()["max_pain_rise_nrs"] == 2


def test_pain_up_by_one_continues_and_dizziness_then_stops():
    engine, sim, responder, prompts = run(1, [R(3), R(3, dizziness_nrs=1)], before=R(2),
                                          relocation_blocks=2, blocks=("relocation",))
    assert len(engine.blocks) == 2
    assert engine.stop.reason == "dizziness" and "urgent care" in prompts[-1]["text"]


def test_gentle_day_skips_the_warm_up_and_keeps_targets_small():
    engine, sim, responder, prompts = run(8, [R(4), R(4)], before=R(4), mode="gentle",
                                          blocks=("warmup", "relocation"), directions=("rotation_left",),
                                          reps_per_direction=2)
    assert [b["kind"] for b in engine.blocks] == ["relocation"]
    assert all(t["amplitude_deg"] == 20.0 for t in engine.relocation_trials())
    assert "warmup" not in {p["prompt"] for p in prompts}


def test_the_session_ends_with_its_own_done_prompt_and_without_the_calibrations():
    engine, sim, responder, prompts = run(1, [R(2)], blocks=("relocation",), directions=("flexion",))
    kinds = [p["prompt"] for p in prompts]
    assert kinds.count("done") == 1 and kinds[-1] == "done"
    assert "Session finished" in prompts[-1]["text"]
    assert kinds[:3] == ["sit_still", "nod", "turn"]  # the functional calibration comes first


@pytest.mark.slow
def test_a_12_day_program_progresses_and_the_flare_day_stops(tmp_path):
    """The 21-day run of docs/training.md, shortened to keep the suite fast."""
    from cervitrack.trainer.training.simulate import simulate_program
    from cervitrack.trainer.training.store import TrainingStore

    with TrainingStore(tmp_path / "sim.db") as store:
        days = simulate_program(12, store, seed=1, flare_day=7)
    levels = [d["level"] for d in days]
    stops = [(d["day"], d["reason"]) for d in days if d["stopped"]]
    assert stops == [(7, "pain")]
    assert days[6]["pain_after"] - days[6]["pain_before"] >= 2
    assert levels[7] == levels[6] - 1  # the flare-up costs one level
    rises = [b - a for a, b in zip(levels, levels[1:])]
    assert all(r >= 0 for i, r in enumerate(rises) if i != 6)  # otherwise never easier
    assert levels[0] == 1 and levels[6] >= 3 and levels[-1] >= 4
    assert days[-1]["adherence"]["current_streak_days"] == 12


def test_a_live_device_session_runs_through_the_decoder_and_asks_on_the_terminal():
    """The live path (bytes → decoder → pipeline → session, questions on the terminal) with the
    simulated headset as the device and the virtual trainee as the person wearing it."""
    from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
    from cervitrack.trainer.training.live import OpenedDevice, run_device_session
    from cervitrack.trainer.training.sim_patient import TrainingPatient

    cfg = SimConfig(seed=3, sensor=SensorConfig(rate_hz=SIM_RATE_HZ), patient=skill_for_practice(0))
    trainee = TrainingPatient(cfg.patient, np.random.default_rng(3))
    headset = SimulatedHeadset(cfg, trainee)
    clock = {"t_s": 0.0}

    class Source:
        protocol = headset.protocol
        nominal_rate_hz = cfg.sensor.rate_hz

        def polls(self):
            while clock["t_s"] < 600:
                clock["t_s"] += 0.5
                yield headset.advance(clock["t_s"])

        def close(self):
            pass

    answers = iter(["2", "0", "n", "n"])  # one rating after the block: pain 2, dizziness 0, no, no
    said = []
    plan = Plan(level=2, reps_per_direction=1, blocks=("relocation",), relocation_blocks=1,
                directions=("rotation_left", "extension"))
    engine = TrainingSession(plan, "normal", R(2), rate_hz=cfg.sensor.rate_hz)
    source = Source()
    finished = run_device_session(OpenedDevice(source, source.polls()), engine,
                                  ask=lambda text: "o" if "Where do you think" in text else next(answers),
                                  say=said.append, on_prompt=lambda p: trainee.on_prompt(p, clock["t_s"]))
    assert finished and not engine.stop.stop
    trials = engine.relocation_trials()
    assert [t["valid"] for t in trials] == [True, True]
    assert [t["estimate"] for t in trials] == ["on_target", "on_target"]
    drawn = [r["error_deg"] for r in trainee.drill_relocations]
    assert np.array([t["signed_error_deg"] for t in trials]) == pytest.approx(drawn, abs=1.0)
    assert said[-1] == "Well done, that block is finished." and any(s.startswith("You were") for s in said)
    assert not any(s.startswith("[") for s in said)  # plain words, no prompt tags


def test_posture_monitor_reminds_a_head_held_down_on_the_simulated_pipeline():
    """Calibrate, then the virtual person looks down 30° and stays there: with a 1-minute hold
    and a 2-minute interval (shortened for the test), reminders come at about 1 and 3 minutes."""
    from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
    from cervitrack.trainer.clinical.prompts import make_prompt
    from cervitrack.trainer.simulation.runner import SimSession
    from cervitrack.trainer.training.posture import PostureMonitor, PostureSettings

    cfg = SimConfig(seed=2, sensor=SensorConfig(rate_hz=SIM_RATE_HZ))
    cfg.patient.amplitude_deg = {**cfg.patient.amplitude_deg, "flexion": 30.0}
    session = SimSession(cfg, JpeTest(JpeSettings(directions=()), rate_hz=SIM_RATE_HZ), step_s=0.5)
    session.run()
    monitor = PostureMonitor(session.engine.calibration, PostureSettings(hold_min=1.0, min_interval_min=2.0),
                             duration_s=200.0)
    session.engine = monitor
    monitor.start(session.t_s)
    t_down = session.t_s
    session.patient.on_prompt(make_prompt("move", t_down, "flexion"), t_down)  # and never comes back
    session.run()
    after = np.array(monitor.reminders_t_s) - t_down
    assert len(after) == 2
    assert after[0] == pytest.approx(61.0, abs=4.0) and after[1] - after[0] == pytest.approx(120.0, abs=2.0)
