"""A training session on the command line with the simulated headset: the virtual trainee
moves; the person at the terminal reads the prompts and answers the questions (symptom ratings,
self-estimates). The same flow a real device will use, with the moving done for you.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.simulation.runner import SimSession
from cervitrack.trainer.stores.sessions import Store
from cervitrack.trainer.training import cli_flow, outcome, program
from cervitrack.trainer.training.clinical_link import plan_with_measured_rom, store_training_session
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import TrainingPatient, skill_for_practice
from cervitrack.trainer.training.simulate import MAX_SESSION_S, SIM_RATE_HZ, SIM_STEP_S

#: Prompts not printed: questions are asked instead (movement cues are shown: they are the drill).
QUIET = {"trial_recorded", "estimate", "rate_symptoms", "stop", "done"}
#: (The end is said in full afterwards: a stop with what to do next, cli_flow.say_stop; a
#: finished session with its result and what changed, never praise before a level drop.)


def run_sim_interactive(args, store, plan, mode, before, today: str, ask, say) -> int:
    seed = args.seed if args.seed is not None else int(dt.date.fromisoformat(today).toordinal())
    practice = sum(s["n_trials"] for s in store.sessions(plan.patient))
    cfg = SimConfig(seed=int(np.random.SeedSequence([seed]).generate_state(1)[0]),
                    sensor=SensorConfig(rate_hz=SIM_RATE_HZ), patient=skill_for_practice(practice))
    engine = TrainingSession(_session_plan(plan, say), mode, before, rate_hz=cfg.sensor.rate_hz)
    session = SimSession(cfg, engine, step_s=SIM_STEP_S, max_duration_s=MAX_SESSION_S,
                         patient_factory=TrainingPatient)
    say("The simulated headset is worn by a virtual trainee, who does the movements. "
        "You answer the questions.")
    say("Press Ctrl-C at any moment to stop.")
    try:
        while not engine.done:
            if session.t_s >= MAX_SESSION_S:
                raise RuntimeError("the training session did not finish")
            step = session.step()
            for p in step.prompts:
                if p.kind not in QUIET:
                    say(p.text)
            question = engine.question
            if question:
                value = cli_flow.ask_rating(ask) if question == "rate_symptoms" else cli_flow.ask_estimate(ask)
                t = float(step.pose.t_s[-1]) if len(step.pose) else session.t_s
                for p in engine.answer(t, question, value):
                    if p.kind not in QUIET:
                        say(p.text)
                    session.patient.on_prompt(p, session.t_s)
    except KeyboardInterrupt:
        engine.stop_now(session.t_s)  # said in full by _finish
    return _finish(store, plan, engine, today, say, args.device)


def _session_plan(plan, say):
    """The plan for today's session: soft limits from the measured ROM when one is stored."""
    with Store() as clinical:
        session_plan, measured = plan_with_measured_rom(plan, clinical)
    if measured:
        say("Your movement range from your last range-of-motion test sets today's limits.")
    return session_plan


def finish_live(args, store, plan, mode, before, today: str, source, ask, say) -> int:
    """A session with an opened device (:class:`cervitrack.trainer.training.live.OpenedDevice`)."""
    from cervitrack.trainer.training.live import run_device_session

    engine = TrainingSession(_session_plan(plan, say), mode, before, rate_hz=source.source.nominal_rate_hz)
    say("Press Ctrl-C at any moment to stop.")
    try:
        finished = run_device_session(source, engine, ask, say)
    except KeyboardInterrupt:
        finished = True
        engine.stop_now(float(source.source.now_s()))  # said in full by _finish
    finally:
        source.close()
    if not finished:
        say("The device stream ended before the session finished; nothing was stored.")
        return 1
    return _finish(store, plan, engine, today, say, args.device)


def _finish(store, plan, engine, today: str, say, device: str) -> int:
    day = len({s["date"] for s in store.sessions(plan.patient)} | {today})
    record, trials, ratings = program.session_record(day, today, engine)
    with Store() as clinical:
        store_training_session(clinical, device, plan, engine, record)
    diary = {e["date"]: e["headache_nrs"] for e in store.diary(plan.patient)}
    program.finish_day(store, plan, record, trials, ratings, diary.get(today))
    change = outcome.level_change_text(record)
    if record["stopped"]:
        reason = record["reason"] or "person"
        store.save_stop(plan.patient, today, "session", reason, (), {"change": change})
        cli_flow.say_stop(say, {"kind": "session", "reason": reason, "flags": [], "detail": {"change": change}}, plan)
        return 0
    say("Session finished.")
    say(outcome.today_sentence(record))
    say(change)
    a = record["adherence"]
    n = a["current_streak_days"]
    say(f"Streak: {n} day{'s' if n != 1 else ''} in a row.")
    return 0
