"""``cervitrack train-diary``: the symptom and headache diary.

``--headache N`` (0-10, 0 = no headache) records today's (or ``--date``'s) worst headache,
with an optional ``--note``; a ``--note`` alone is added to a day whose headache is already
recorded (a day without one is refused with a message, never dropped); future dates are
refused. Without ``--headache`` or ``--note`` it lists the diary with the days with
headache per week. The daily training session asks the same question; this command is for
days without training, so the diary has no holes.
"""

from __future__ import annotations

import datetime as dt
import json

from cervitrack.trainer.commands import CliError
from cervitrack.trainer.paths import DEFAULT_PATIENT


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def run(args) -> int:
    from cervitrack.trainer.training import progress
    from cervitrack.trainer.training.store import TrainingStore

    today = dt.date.today()
    date = args.date or today.isoformat()
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise CliError(f"--date must be YYYY-MM-DD, got {date!r}") from None
    if day > today and (args.headache is not None or args.note is not None):
        raise CliError(f"--date {date} is in the future: the diary records days that have happened")
    with TrainingStore(args.db) as store:
        entries = store.diary(args.patient)
        headache = args.headache
        if headache is None and args.note is not None:
            # A note alone goes with the day's recorded headache; a day without one needs it.
            known = {e["date"]: e["headache_nrs"] for e in entries}
            if date not in known:
                raise CliError(f"no headache recorded on {date}: give --headache N (0 = no headache) with the note")
            headache = known[date]
        if headache is not None:
            note = args.note if args.note is not None else next(
                (e["note"] for e in entries if e["date"] == date), "")
            store.save_diary(args.patient, date, headache, note)
        entries = store.diary(args.patient)
        sessions = store.sessions(args.patient)
    if headache is not None and not args.json:
        saved = f" with the note {args.note!r}" if args.note else ""
        print(f"recorded headache {headache}/10 on {date} for {args.patient}{saved}")
        return 0
    start = min([e["date"] for e in entries] + [s["date"] for s in sessions], default=date)
    weekly = progress.weekly_symptoms(sessions, entries, start)
    if args.json:
        print(json.dumps({"patient": args.patient, "diary": entries, "weekly": weekly}))
        return 0
    if not entries:
        print(f"no diary entries for {args.patient}")
        return 0
    for e in entries:
        print(f"{e['date']}  headache {e['headache_nrs']:>2}/10  {e['note']}")
    for w in weekly:
        print(f"week {w['week']}: {_days(w['headache_days'])} with headache")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train-diary", help="symptom and headache diary (record or list)")
    p.add_argument("--patient", default=DEFAULT_PATIENT, help=f"patient id (default {DEFAULT_PATIENT!r})")
    p.add_argument("--headache", type=int, choices=range(11), metavar="N",
                   help="worst headache today, 0 (none) to 10")
    p.add_argument("--date", help="the day (YYYY-MM-DD, default today)")
    p.add_argument("--note", help="a short note")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--db", metavar="FILE", help="training history file (default: in the data dir)")
    p.set_defaults(func=run)
