"""``cervitrack sessions [--patient ID] [--json]``: list the stored sessions.

The JSON is a list of sessions, oldest first, each with ``id``, ``patient_id``,
``started_utc``, ``device``, ``software_version``, ``raw_trace_path`` and ``tests`` (a list of
{``id``, ``kind``, ``preset``}).
"""

from __future__ import annotations

import json
from typing import Any

from cervitrack.trainer.stores.sessions import Store

FIELDS = ("id", "patient_id", "started_utc", "device", "software_version", "raw_trace_path", "tests")


def run(args) -> int:
    with Store() as store:
        if args.patient is not None and store.patient(args.patient) is None:
            raise ValueError(f"no patient {args.patient!r} in the sessions store")
        sessions: list[dict[str, Any]] = [{k: s.get(k) for k in FIELDS}
                                          for s in store.sessions(args.patient)]
    if args.json:
        print(json.dumps(sessions))
        return 0
    if not sessions:
        print("No sessions stored yet. Run one with: cervitrack test jpe --device sim")
        return 0
    print(f"{'id':>5}  {'patient':<14}{'started (UTC)':<27}{'device':<8}tests")
    for s in sessions:
        tests = ", ".join(f"{t['kind']} ({t['preset']})" for t in s["tests"]) or "-"
        print(f"{s['id']:>5}  {str(s['patient_id']):<14}{s['started_utc']:<27}{s['device']:<8}{tests}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("sessions", help="list the stored test sessions")
    p.add_argument("--patient", default=None, metavar="ID", help="only this patient's sessions")
    p.add_argument("--json", action="store_true", help="print a JSON list of sessions")
    p.set_defaults(func=run)
