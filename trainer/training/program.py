"""After a session: its record, storage, and the level for next time (shared by the
interactive flow and the simulation)."""

from __future__ import annotations

from cervitrack.trainer.training import progress
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.progression import SessionOutcome, next_level
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.store import TrainingStore
from cervitrack.trainer.training.symptoms import StopDecision, SymptomRating

SUMMARY_KEYS = ("stopped", "reason", "advice", "pain_before", "pain_after", "max_pain_rise_nrs", "dizziness_max",
                "n_trials", "ae_deg", "ae_by_direction_deg", "estimate_agreement", "blocks", "skipped_blocks",
                "tracking")


def no_training_record(day: int, date: str, plan: Plan, before: SymptomRating, stop: StopDecision) -> dict:
    """The record of a day without training (readiness said no)."""
    return {"day": day, "date": date, "level": plan.level, "mode": "none", "stopped": True,
            "reason": stop.reason, "advice": stop.advice, "pain_before": before.pain_nrs,
            "pain_after": before.pain_nrs, "max_pain_rise_nrs": 0, "dizziness_max": before.dizziness_nrs,
            "n_trials": 0, "ae_deg": None, "ae_by_direction_deg": {}, "estimate_agreement": None,
            "blocks": [], "skipped_blocks": [], "tracking": None}


def session_record(day: int, date: str, engine: TrainingSession) -> tuple[dict, list, list]:
    """(record, relocation trials with their block index, ratings as (block, rating))."""
    summary = engine.summary()
    record = {"day": day, "date": date, "level": engine.level.number, "mode": engine.mode,
              **{k: summary[k] for k in SUMMARY_KEYS}}
    trials = [{**t, "block": i} for i, b in enumerate(engine.blocks) if b["kind"] == "relocation"
              for t in b["engine"].trials]
    ratings = [(-1, engine.before)] + [(i, b["after"]) for i, b in enumerate(engine.blocks) if b["after"] is not None]
    return record, trials, ratings


def history_from_store(store: TrainingStore, patient: str) -> list[SessionOutcome]:
    """Progression inputs for every stored session of the patient, oldest first."""
    errors: dict[int, list] = {}
    for t in store.trials(patient):
        if t["valid"]:
            errors.setdefault(t["session_id"], []).append(t["abs_error_deg"])
    return [SessionOutcome(s["level"], s["mode"], s["reason"] if s["stopped"] else "",
                           tuple(errors.get(s["id"], ())), s["max_pain_rise_nrs"])
            for s in store.sessions(patient)]


def finish_day(store: TrainingStore, plan: Plan, record: dict, trials=(), ratings=(), headache_nrs: int | None = None,
               start: str | None = None) -> Plan:
    """Store the session and the diary, apply the progression rule, store a changed plan.

    Adds ``level_next``, ``level_reason``, ``headache_nrs`` and ``adherence`` to ``record``;
    returns the plan for next time.
    """
    patient = plan.patient
    if headache_nrs is not None:
        store.save_diary(patient, record["date"], headache_nrs)
    record["headache_nrs"] = headache_nrs
    # The decision needs this session in the history: store first with a provisional level.
    record["level_next"], record["level_reason"] = plan.level, ""
    sid = store.save_session(patient, record["date"], record["day"], record, trials, ratings)
    if plan.auto_progress:
        decision = next_level(plan.level, history_from_store(store, patient), max_level=plan.max_level)
        record["level_next"], record["level_reason"] = decision.level, decision.reason
    else:
        record["level_reason"] = "level locked by the therapist"
    store.update_session_level(sid, record)
    sessions = store.sessions(patient)
    record["adherence"] = progress.adherence(sessions, start or sessions[0]["date"], record["date"],
                                             plan.days_per_week)
    if record["level_next"] != plan.level:
        plan = plan.adjusted(level=record["level_next"])
        store.save_plan(plan, record["date"], f"progression: {record['level_reason']}")
    return plan
