"""Progress figures from the history: accuracy per direction over time, adherence streaks,
symptom and headache trends. Pure functions over plain records (lists of dicts from
:class:`~cervitrack.trainer.training.store.TrainingStore`).

Adherence counts **days with a check-in** (a session record of any kind: trained, stopped by a
stop rule, or "no training today" after the symptom check), because following the safety rules
is adherence too; ``trained_days`` counts days with at least one drill. Seeing progress is what
keeps people training (non-adherence up to 70 % in neck home programmes, Himler et al. 2023;
Winstein 1991, Phys Ther 71:140–149; Aoyagi et al. 2019, J Phys Ther Sci 31:687).
"""

from __future__ import annotations

import datetime as dt

import numpy as np


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def streaks(dates) -> dict:
    """Current and longest run of consecutive calendar days in ``dates`` (ISO strings).

    The current streak is the run ending on the latest date."""
    days = sorted({_date(d) for d in dates})
    if not days:
        return {"current_days": 0, "longest_days": 0}
    longest = run = 1
    for a, b in zip(days, days[1:]):
        run = run + 1 if (b - a).days == 1 else 1
        longest = max(longest, run)
    return {"current_days": run, "longest_days": longest}


def adherence(sessions: list[dict], start: str, end: str, days_per_week: int = 7) -> dict:
    """Check-in days over the planned days from ``start`` to ``end`` (inclusive).

    Planned days = calendar days × days_per_week / 7 (rounded).
    """
    n_days = (_date(end) - _date(start)).days + 1
    planned = max(1, round(n_days * days_per_week / 7))
    checked = {s["date"] for s in sessions}
    trained = {s["date"] for s in sessions if s.get("n_trials", 0) > 0}
    st = streaks(checked)
    return {"planned_days": planned, "checkin_days": len(checked), "trained_days": len(trained),
            "adherence_pct": 100.0 * min(len(checked), planned) / planned,
            "current_streak_days": st["current_days"], "longest_streak_days": st["longest_days"]}


def ae_by_direction(trials: list[dict]) -> dict[str, dict[int, float]]:
    """Eyes-closed relocation AE (deg) per direction per program day: {direction: {day: AE}}.

    Eyes-open (laser) trials are left out: visually guided errors do not measure position sense.
    """
    out: dict[str, dict[int, list]] = {}
    for t in trials:
        if t["valid"] and t["vision"] == "closed" and t["abs_error_deg"] is not None:
            out.setdefault(t["direction"], {}).setdefault(t["day"], []).append(t["abs_error_deg"])
    return {d: {day: float(np.mean(v)) for day, v in sorted(days.items())} for d, days in out.items()}


def weekly_symptoms(sessions: list[dict], diary: list[dict], start: str) -> list[dict]:
    """Per program week (1 = days 1-7): mean pain before sessions, stops, headache days and
    mean headache intensity on headache days."""
    s0 = _date(start)
    weeks: dict[int, dict] = {}

    def week(date):
        return (_date(date) - s0).days // 7 + 1

    for s in sessions:
        w = weeks.setdefault(week(s["date"]), {"pain": [], "stops": 0, "headache": []})
        w["pain"].append(s["pain_before"])
        w["stops"] += int(bool(s["stopped"]))
    for e in diary:
        w = weeks.setdefault(week(e["date"]), {"pain": [], "stops": 0, "headache": []})
        if e["headache_nrs"] > 0:
            w["headache"].append(e["headache_nrs"])
    return [{"week": k, "mean_pain_before_nrs": float(np.mean(v["pain"])) if v["pain"] else None,
             "stops": v["stops"], "headache_days": len(v["headache"]),
             "mean_headache_nrs": float(np.mean(v["headache"])) if v["headache"] else None}
            for k, v in sorted(weeks.items())]
