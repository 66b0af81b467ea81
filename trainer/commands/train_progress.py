"""``cervitrack train-progress``: the progress figure and figures from the training history.

``--out FILE.png`` renders accuracy per direction over the days, level and stops, symptoms and
headache diary, and adherence; ``--json`` prints adherence, weekly symptoms and the AE per
direction per day. ``--sim`` reads the simulation's history.
"""

from __future__ import annotations

import json
from typing import Any

from cervitrack.trainer.commands import CliError, add_force_argument, refuse_overwrite
from cervitrack.trainer.paths import DEFAULT_PATIENT


def run(args) -> int:
    from cervitrack.trainer.training import progress
    from cervitrack.trainer.training.store import TrainingStore, default_path

    patient = "sim" if args.sim and args.patient is None else (args.patient or DEFAULT_PATIENT)
    with TrainingStore(args.db or default_path(simulation=args.sim)) as store:
        sessions, trials, diary = store.sessions(patient), store.trials(patient), store.diary(patient)
        plan = store.plan(patient)
    if not sessions:
        raise CliError(f"no training sessions stored for {patient}")
    start = sessions[0]["date"]
    days_per_week = plan.days_per_week if plan else 7
    if args.out:
        refuse_overwrite(args.out, args.force)
        from cervitrack.trainer.training.plot import save_progress_png

        save_progress_png(args.out, sessions, trials, diary, start, days_per_week,
                          title=f"Training progress: {patient}")
    doc: dict[str, Any] = {"patient": patient,
           "adherence": progress.adherence(sessions, start, sessions[-1]["date"], days_per_week),
           "weekly": progress.weekly_symptoms(sessions, diary, start),
           "ae_by_direction_deg": progress.ae_by_direction(trials)}
    if args.json:
        print(json.dumps(doc))
    else:
        a = doc["adherence"]
        def days(n):
            return f"{n} day" if n == 1 else f"{n} days"

        print(f"{patient}: {a['checkin_days']} of {a['planned_days']} planned days ({a['adherence_pct']:.0f} %), "
              f"current streak {days(a['current_streak_days'])}, longest {days(a['longest_streak_days'])}")
        for w in doc["weekly"]:
            pain = "-" if w["mean_pain_before_nrs"] is None else f"{w['mean_pain_before_nrs']:.1f}"
            print(f"  week {w['week']}: mean pain before {pain}/10, stops {w['stops']}, "
                  f"headache days {w['headache_days']}")
        if args.out:
            print(f"wrote {args.out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train-progress", help="training progress: figure (PNG) and figures")
    p.add_argument("--patient", default=None, help=f"patient id (default {DEFAULT_PATIENT!r}; 'sim' with --sim)")
    p.add_argument("--sim", action="store_true", help="read the simulation's history")
    p.add_argument("--out", metavar="FILE.png", help="save the progress figure")
    add_force_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--db", metavar="FILE", help="training history file (default: in the data dir)")
    p.set_defaults(func=run)
