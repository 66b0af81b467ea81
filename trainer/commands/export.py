"""``cervitrack export PATH --to bids|csv|sto --out DIR``: research exports of a recording.

The raw chunks are decoded with the recorded protocol's decoder and stamped by the same
timebase as live, so every export carries exactly the samples the live run used.
"""

from __future__ import annotations

from cervitrack.trainer.recording.decode import decode_recording
from cervitrack.trainer.recording.export_bids import export_bids
from cervitrack.trainer.recording.export_csv import export_csv
from cervitrack.trainer.recording.export_sto import export_sto
from cervitrack.trainer.recording.reader import load


def run(args) -> int:
    recording = load(args.path, args.protocol)
    decoded = decode_recording(recording)
    if not len(decoded.samples):
        raise ValueError(f"{args.path}: the recording holds no samples")
    if args.to == "bids":
        paths = export_bids(decoded, recording, args.out, subject=args.subject,
                            session=args.session, task=args.task, run=args.run)
    elif args.to == "csv":
        paths = export_csv(decoded, recording, args.out)
    else:
        paths = export_sto(decoded, recording, args.out)
    integrity = recording.integrity
    if integrity.status != "ok":
        print(f"note: recording integrity is {integrity.status}; exported the intact records")
    for p in paths:
        print(p)
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="export a recording as BIDS-Motion, tidy CSV or OpenSim "
                       ".sto")
    p.add_argument("path", metavar="PATH", help="a .cvtrec recording")
    p.add_argument("--protocol", metavar="P", help="the device protocol, when the recording's "
                   "header was damaged and names none (see `cervitrack decode --help`)")
    p.add_argument("--to", required=True, choices=("bids", "csv", "sto"), help="export format")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (BIDS: the "
                   "dataset root; created if missing; files are never overwritten)")
    p.add_argument("--subject", metavar="LABEL", help="BIDS subject label (letters and digits); "
                   "default a pseudonym")
    p.add_argument("--session", metavar="LABEL", help="BIDS session label (default: none)")
    p.add_argument("--task", metavar="LABEL", help="BIDS task label (default: the recording's "
                   "task, else 'record')")
    p.add_argument("--run", type=int, metavar="N", help="BIDS run index (to add another "
                   "recording of the same subject and task)")
    p.set_defaults(func=run)
