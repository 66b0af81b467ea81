"""``cervitrack sessions [--patient ID] [--simulated] [--json]``: list the stored sessions.

Real patients' sessions by default; ``--simulated`` lists the sessions run on the simulated
headset (virtual patient) instead, which are kept apart.

The JSON is a list of sessions, oldest first, each with ``id``, ``patient_id``,
``started_utc``, ``device``, ``software_version``, ``raw_trace_path`` and ``tests`` (a list of
{``id``, ``kind``, ``preset``, ``aborted``}: ``aborted`` says why a test stopped early, null when
it finished).
"""

from __future__ import annotations

import json
from typing import Any

from cervitrack.trainer.stores.sessions import Store

FIELDS = ("id", "patient_id", "started_utc", "device", "software_version", "raw_trace_path", "simulated",
          "tests")


def run(args) -> int:
    with Store() as store:
        if args.patient is not None and store.patient(args.patient) is None:
            raise ValueError(f"no patient {args.patient!r} in the sessions store")
        sessions: list[dict[str, Any]] = [{k: s.get(k) for k in FIELDS}
                                          for s in store.sessions(args.patient, simulated=args.simulated)]
        hidden = 0 if args.simulated else len(store.sessions(args.patient, simulated=True))
    if args.json:
        print(json.dumps(sessions))
        return 0
    if not sessions:
        print("No simulated sessions stored." if args.simulated else "No sessions stored yet (of real patients).")
    if hidden:
        print(f"{hidden} simulated session{'s' if hidden > 1 else ''} not listed "
              "(`cervitrack sessions --simulated` lists them).")
    if not sessions:
        return 0
    print(f"{'id':>5}  {'patient':<14}{'started (UTC)':<27}{'device':<8}tests")
    for s in sessions:
        tests = ", ".join(f"{t['kind']} ({t['preset']}{', aborted' if t.get('aborted') else ''})"
                          for t in s["tests"]) or "-"
        print(f"{s['id']:>5}  {str(s['patient_id']):<14}{s['started_utc']:<27}{s['device']:<8}{tests}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("sessions", help="list the stored test sessions")
    p.add_argument("--patient", default=None, metavar="ID", help="only this patient's sessions")
    p.add_argument("--simulated", action="store_true",
                   help="list the simulated sessions (virtual patient) instead of real patients'")
    p.add_argument("--json", action="store_true", help="print a JSON list of sessions")
    p.set_defaults(func=run)
