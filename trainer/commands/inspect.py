"""``cervitrack inspect PATH [--json]``: what a recording holds and whether it is intact.

A truncated tail or corrupt records are reported, not fatal (exit 0). A path that is missing
or not a recording is a one-line error (exit 2).
"""

from __future__ import annotations

import json

from cervitrack.trainer.commands import add_recording_arguments


def run(args) -> int:
    from cervitrack.trainer.recording.reader import load
    from cervitrack.trainer.recording.summary import format_text, summarise

    summary = summarise(load(args.path, args.protocol))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_text(summary))
    return 0


def register(sub) -> None:
    p = sub.add_parser("inspect", help="report a recording's samples, timing, gaps, events and "
                       "integrity")
    add_recording_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
