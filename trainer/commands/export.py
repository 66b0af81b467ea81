"""``cervitrack export PATH --to bids|csv|sto --out DIR``: research exports of a recording.

The raw chunks are decoded with the recorded protocol's decoder and stamped by the same
timebase as live, so every export carries exactly the samples the live run used.
"""

from __future__ import annotations

from cervitrack.trainer.commands import add_force_argument, add_recording_arguments


def run(args) -> int:
    from cervitrack.trainer.recording.decode import decode_recording
    from cervitrack.trainer.recording.export_bids import export_bids
    from cervitrack.trainer.recording.export_csv import export_csv
    from cervitrack.trainer.recording.export_sto import export_sto
    from cervitrack.trainer.recording.reader import load

    recording = load(args.path, args.protocol)
    decoded = decode_recording(recording)
    if not len(decoded.samples):
        raise ValueError(f"{args.path}: the recording holds no samples")
    if args.to == "bids":
        paths = export_bids(decoded, recording, args.out, subject=args.subject,
                            session=args.session, task=args.task, run=args.run, overwrite=args.force,
                            keep_dates=args.keep_dates)
    elif args.to == "csv":
        paths = export_csv(decoded, recording, args.out, overwrite=args.force,
                           keep_ids=args.keep_dates)
    else:
        paths = export_sto(decoded, recording, args.out, overwrite=args.force)
    integrity = recording.integrity
    if integrity.status != "ok":
        print(f"note: recording integrity is {integrity.status}; exported the intact records")
    for p in paths:
        print(p)
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="export a recording as BIDS-Motion, tidy CSV or OpenSim "
                       ".sto")
    add_recording_arguments(p)
    p.add_argument("--to", required=True, choices=("bids", "csv", "sto"), help="export format")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (BIDS: the "
                   "dataset root; created if missing; existing files only with --force)")
    add_force_argument(p)
    p.add_argument("--subject", metavar="LABEL", help="BIDS subject label (letters and digits); "
                   "default a pseudonym")
    p.add_argument("--session", metavar="LABEL", help="BIDS session label (default: none)")
    p.add_argument("--task", metavar="LABEL", help="BIDS task label (default: the recording's "
                   "task, else 'record')")
    p.add_argument("--run", type=int, metavar="N", help="BIDS run index (to add another "
                   "recording of the same subject and task)")
    p.add_argument("--keep-dates", action="store_true", help="keep true dates and recording "
                   "ids (BIDS acq_time; CSV sidecar created_utc, recording_id); by default "
                   "BIDS dates are shifted per subject and the CSV sidecar carries neither")
    p.set_defaults(func=run)
