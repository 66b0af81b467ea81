"""``cervitrack train-plan``: the therapist's side of the training program.

- ``show [--patient ID] [--json]``: the current plan and how it changed (progression, edits);
- ``set KEY=VALUE ... [--patient ID]``: adjust the plan (values in TOML syntax, e.g.
  ``level=3``, ``sessions_per_day=1``, ``directions=["rotation_left","rotation_right"]``);
- ``export --out FILE.toml|FILE.json [--patient ID]``: write the plan to a file;
- ``import FILE [--patient ID]``: assign a plan file (validated; errors name the key).

Plans live in the training history (``training.db`` in the data dir).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib
from typing import TYPE_CHECKING

from cervitrack.trainer.commands import CliError, add_force_argument, refuse_overwrite
from cervitrack.trainer.paths import DEFAULT_PATIENT

if TYPE_CHECKING:  # annotations only: imported when the command runs
    from cervitrack.trainer.training.plan import Plan
    from cervitrack.trainer.training.store import TrainingStore


def _today() -> str:
    return dt.date.today().isoformat()


def _current(store: TrainingStore, patient: str) -> Plan:
    from cervitrack.trainer.training.plan import Plan

    return store.plan(patient) or Plan(patient=patient)


def run(args) -> int:
    from cervitrack.trainer.training import levels
    from cervitrack.trainer.training.plan import load_plan, plan_from_dict, save_plan
    from cervitrack.trainer.training.store import TrainingStore

    with TrainingStore(args.db) as store:
        if args.action == "show":
            plan = _current(store, args.patient)
            if args.json:
                print(json.dumps({"plan": plan.as_dict(), "history": store.plan_history(args.patient)}))
            else:
                print(f"Plan for {plan.patient}: {levels.level(plan.level).describe()}")
                for k, v in plan.as_dict().items():
                    print(f"  {k} = {v}")
            return 0
        if args.action == "export":
            if not args.out:
                raise CliError("train-plan export needs --out FILE.toml or FILE.json")
            refuse_overwrite(args.out, args.force)
            path = save_plan(_current(store, args.patient), args.out)
            print(f"wrote {path}")
            return 0
        if args.action == "import":
            if not args.values or len(args.values) != 1:
                raise CliError("train-plan import needs one plan file")
            plan = load_plan(args.values[0])
            if args.patient_given:
                plan = plan.adjusted(patient=args.patient)
            store.save_plan(plan, _today(), f"imported from {args.values[0]}")
            print(f"assigned plan to {plan.patient}: {levels.level(plan.level).describe()}")
            return 0
        # set
        if not args.values:
            raise CliError("train-plan set needs KEY=VALUE pairs, e.g. level=3")
        changes = {}
        for item in args.values:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise CliError(f"expected KEY=VALUE, got {item!r}")
            try:
                changes[key.strip()] = tomllib.loads(f"v = {text}")["v"]
            except tomllib.TOMLDecodeError:
                changes[key.strip()] = text  # bare text, e.g. notes=hello
        plan = plan_from_dict({**_current(store, args.patient).as_dict(), **changes})
        store.save_plan(plan, _today(), "therapist: " + ", ".join(args.values))
        print(f"plan for {plan.patient} updated: {levels.level(plan.level).describe()}")
        return 0


def register(sub) -> None:
    p = sub.add_parser("train-plan", help="therapist: show, set, export or import a training plan")
    p.add_argument("action", choices=("show", "set", "export", "import"),
                   help="show: the plan and its history; set: change keys; export: write it (--out); "
                   "import: assign a plan file")
    from cervitrack.trainer.training.plan import Plan as PlanFields  # light: no numpy

    keys = ", ".join(f.name for f in dataclasses.fields(PlanFields) if f.name not in ("format",))
    p.add_argument("values", nargs="*", metavar="KEY=VALUE",
                   help=f"set: KEY=VALUE pairs, values in TOML syntax (keys: {keys}); import: the plan file")
    p.add_argument("--patient", default=None, help=f"patient id (default {DEFAULT_PATIENT!r})")
    p.add_argument("--out", metavar="FILE", help="export: FILE.toml or FILE.json")
    add_force_argument(p)
    p.add_argument("--json", action="store_true", help="show: print JSON")
    p.add_argument("--db", metavar="FILE", help="training history file (default: in the data dir)")

    def run_args(args):
        args.patient_given = args.patient is not None
        args.patient = args.patient or DEFAULT_PATIENT
        return run(args)

    p.set_defaults(func=run_args)
