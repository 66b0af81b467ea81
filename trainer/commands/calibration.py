"""``cervitrack calibration``: the head calibrations saved per device.

``list`` shows the saved calibrations, ``show DEVICE`` prints one as JSON (usable as
``cervitrack process --calibration``), ``delete DEVICE`` removes one so the next session
calibrates afresh. Files live in the user data directory (:mod:`cervitrack.trainer.stores.calibrations`).
"""

from __future__ import annotations

import json

from cervitrack.trainer.commands import CliError


def run(args) -> int:
    from cervitrack.trainer.stores import calibrations as store

    if args.action == "list":
        folder = store.calibration_dir(create=False)
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not files:
            print("no saved calibrations")
        for path in files:
            try:
                device, score = store.summary(path)
                print(f"{device}\tscore {score if score is not None else '-'}\t{path}")
            except ValueError:
                print(f"?\tunreadable\t{path}")
        return 0
    if not args.device:
        raise CliError(f"calibration {args.action} needs a DEVICE id")
    if args.action == "show":
        cal = store.load_calibration(args.device)
        if cal is None:
            raise CliError(f"no saved calibration for device {args.device!r}")
        print(json.dumps(cal.to_dict(), indent=1))
        return 0
    if not store.delete_calibration(args.device):
        raise CliError(f"no saved calibration for device {args.device!r}")
    print(f"deleted the calibration of {args.device}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("calibration", help="list, show or delete the head calibrations saved per device")
    p.add_argument("action", choices=("list", "show", "delete"),
                   help="list: every saved calibration; show DEVICE_ID: one; delete DEVICE_ID: remove it")
    p.add_argument("device", nargs="?", default=None, metavar="DEVICE_ID",
                   help="device id as listed (e.g. udp:4242:opentrack-udp)")
    p.set_defaults(func=run)
