"""Run sessions through the simulated pipeline, and the program day by day with a virtual
trainee (``cervitrack train --device sim --headless --simulate-days N``).

:func:`run_sim_session` drives a :class:`~cervitrack.trainer.training.session.TrainingSession`
with :class:`~cervitrack.trainer.simulation.runner.SimSession` (simulated headset → link → decoder →
timebase → orientation → calibration → drills), answering its questions with a responder.

:func:`simulate_program` repeats, for each day: the daily 5D/3N check, the rating before the
session and the readiness rule, the session (real drills on the simulated pipeline), the stop
rules, the headache diary, storage, and the progression rule for the next day. The trainee
improves with practice (:func:`~cervitrack.trainer.training.sim_patient.skill_for_practice`);
an optional flare-up day raises pain during the first block.

A simulated day is a compressed session (one warm-up movement and one relocation trial per
direction, one relocation block, and the Butterfly run when available: :data:`SIM_PLAN`) so
that 21 days run in well under a minute of CPU; the progression rule
therefore needs about two days per level (8 trials). Real plans have 2-3 trials per direction
and two relocation blocks.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.simulation.runner import SimSession
from cervitrack.trainer.training import program, safety, symptoms
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import (
    SimResponder,
    SymptomModel,
    TrainingPatient,
    skill_for_practice,
)
from cervitrack.trainer.training.store import TrainingStore

SIM_PATIENT = "sim"
SIM_START_DATE = "2026-01-05"
SIM_PLAN = Plan(patient=SIM_PATIENT, sessions_per_day=1, reps_per_direction=1, relocation_blocks=1,
                warmup_reps=1)
#: Simulated time per step, s (detection latency is at most one step).
SIM_STEP_S = 0.5
MAX_SESSION_S = 900.0
#: Sample rate of the simulated headset, Hz (50 Hz is ample for slow head movements and
#: halves the per-sample simulation work).
SIM_RATE_HZ = 50.0


def run_sim_session(cfg: SimConfig, engine: TrainingSession, responder) -> SimSession:
    """Run ``engine`` to the end on the simulated pipeline; ``responder.answer(kind)`` answers
    the questions. Returns the SimSession (device truth, patient)."""
    session = SimSession(cfg, engine, step_s=SIM_STEP_S, max_duration_s=MAX_SESSION_S,
                         patient_factory=TrainingPatient)
    responder.patient = session.patient
    while not engine.done:
        if session.t_s >= MAX_SESSION_S:
            raise RuntimeError(f"the training session did not finish within {MAX_SESSION_S:.0f} s of simulated time")
        step = session.step()
        question = engine.question
        if question:
            t = float(step.pose.t_s[-1]) if len(step.pose) else session.t_s
            for prompt in engine.answer(t, question, responder.answer(question)):
                session.patient.on_prompt(prompt, session.t_s)
    return session


def _date(start: str, day: int) -> str:
    return (dt.date.fromisoformat(start) + dt.timedelta(days=day - 1)).isoformat()


def simulate_program(days: int, store: TrainingStore, seed: int = 1, flare_day: int | None = None,
                     plan: Plan = SIM_PLAN, start: str = SIM_START_DATE, on_day=None) -> list[dict]:
    """Simulate ``days`` days of the program; returns one record per day (also stored).

    Args:
        days: number of days (≥ 1).
        store: where the history goes (the simulated patient's earlier records are removed).
        seed: simulation seed.
        flare_day: the day of a pain flare-up (None: none).
        plan: the starting plan.
        on_day: optional callback(record) after each day.
    """
    if days < 1:
        raise ValueError("--simulate-days must be at least 1")
    if flare_day is not None and not 1 <= flare_day <= days:
        raise ValueError(f"--pain-flare-day must be between 1 and {days}, got {flare_day}")
    store.delete_patient(plan.patient)
    store.save_plan(plan, start, "simulation start")
    first = safety.evaluate_screen({q.key: False for q in safety.FIRST_RUN_QUESTIONS})
    store.save_screening(plan.patient, start, "first_run", first.positive, first.flags)
    model = SymptomModel(seed=seed, days=days, flare_day=flare_day)
    practice = 0
    records = []
    for day in range(1, days + 1):
        date = _date(start, day)
        responder = SimResponder(model, day)
        daily = safety.evaluate_screen({q.key: False for q in safety.DAILY_QUESTIONS}, safety.DAILY_QUESTIONS)
        store.save_screening(plan.patient, date, "daily", daily.positive, daily.flags)
        before = responder.before()
        mode, first_stop = symptoms.readiness(before, plan.gentle_pain_nrs, plan.no_training_pain_nrs)
        if mode == "none":
            record = program.no_training_record(day, date, plan, before, first_stop)
            trials: list[dict] = []
            ratings = [(-1, before)]
            record["sim_s"] = 0.0
        else:
            cfg = SimConfig(seed=int(np.random.SeedSequence([seed, day]).generate_state(1)[0]),
                            sensor=SensorConfig(rate_hz=SIM_RATE_HZ), patient=skill_for_practice(practice))
            engine = TrainingSession(plan, mode, before, rate_hz=cfg.sensor.rate_hz)
            sim = run_sim_session(cfg, engine, responder)
            record, trials, ratings = program.session_record(day, date, engine)
            record["sim_s"] = round(sim.t_s, 2)
            practice += record["n_trials"]
        plan = program.finish_day(store, plan, record, trials, ratings, model.headache(day), start)
        records.append(record)
        if on_day is not None:
            on_day(record)
    return records
