"""``cervitrack report SESSION_ID --out FILE.html|FILE.pdf``: the therapist report of a stored
session (:mod:`cervitrack.trainer.report.document`)."""

from __future__ import annotations

from cervitrack.trainer.commands import add_force_argument, refuse_overwrite


def run(args) -> int:
    from cervitrack.trainer.report.document import write_report

    refuse_overwrite(args.out, args.force)
    out = write_report(args.session_id, args.out)
    print(f"Report written to {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="write the therapist report of a stored session (HTML or PDF)")
    p.add_argument("session_id", type=int, metavar="SESSION_ID", help="a session id (see `cervitrack sessions`)")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.html or FILE.pdf")
    add_force_argument(p)
    p.set_defaults(func=run)
