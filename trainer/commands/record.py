"""``cervitrack record --device SPEC --duration S --out PATH``: record a device's raw stream.

Writes a crash-safe ``.cvtrec`` recording (docs/recording-format.md) of the device's bytes,
gaps and metadata. ``--lsl`` also streams the head orientation and angles live over LSL.
"""

from __future__ import annotations

import json

from cervitrack.trainer.commands import (
    add_device_argument,
    add_force_argument,
    add_pace_arguments,
    check_duration,
    pace_speed,
    refuse_overwrite,
)


def add_source_arguments(p) -> None:
    """The options every command that opens a ``--device`` shares."""
    add_device_argument(p)
    add_pace_arguments(p, default="real time")
    p.add_argument("--protocol", metavar="P",
                   help="wire protocol of a live device (default: the device's own, or "
                   "recognised)")
    p.add_argument("--baud", type=int, metavar="B", help="serial line speed")
    p.add_argument("--seed", type=int, help="simulator seed")
    p.add_argument("--sim-config", metavar="FILE.toml", help="simulator settings")


def source_options(args) -> dict:
    from cervitrack.firmware_bridge.protocols import make_decoder

    speed = pace_speed(args, 1.0)
    if args.protocol is not None:
        make_decoder(args.protocol)  # a bad protocol name is reported before opening a device
    return {"speed": speed, "seed": args.seed, "sim_config": args.sim_config,
            "protocol": args.protocol, "baud": args.baud}


def run(args) -> int:
    check_duration("--duration", args.duration)
    from cervitrack.trainer.live.devices import open_device
    from cervitrack.trainer.recording.session import record_source, recording_metadata
    from cervitrack.trainer.recording.writer import Recorder

    out = refuse_overwrite(args.out, args.force, writes="recording")
    options = source_options(args)
    if args.force and out.exists():
        out.unlink()  # asked for with --force
    source = open_device(args.device, **options)
    lsl = on_step = None
    if args.lsl:
        from cervitrack.trainer.recording.live import LslPoseTap

        lsl = LslPoseTap(source)
        on_step = lsl.process
    settings = {"command": "record", "device": args.device, "duration_s": args.duration,
                "speed": options["speed"], "seed": args.seed,
                "sim_config": args.sim_config, "protocol": args.protocol, "baud": args.baud,
                "lsl": bool(args.lsl)}
    try:
        with Recorder(args.out, recording_metadata(source, settings),
                      flush_interval_s=args.flush_interval, fsync=not args.no_fsync) as rec:
            result = record_source(source, rec, args.duration, on_step=on_step)
    finally:
        source.close()
        if lsl is not None:
            lsl.close()
    summary = {"path": result.path, "duration_s": round(result.duration_s, 6),
               "chunks": result.chunks, "gaps": result.gaps, "steps": result.steps,
               "stopped": result.stopped}
    if lsl is not None:
        summary["lsl_samples"] = lsl.samples_pushed
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"recorded {summary['duration_s']:.1f} s ({result.chunks} chunks, "
              f"{result.gaps} gaps) to {result.path}")
    return 0


def register(sub) -> None:
    from cervitrack.trainer.recording.writer import DEFAULT_FLUSH_INTERVAL_S

    p = sub.add_parser("record", help="record a device's raw stream to a crash-safe file")
    add_source_arguments(p)
    p.add_argument("--duration", type=float, required=True, metavar="S",
                   help="seconds to record (of the device's time)")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="the new recording (.cvtrec); an existing file only with --force")
    add_force_argument(p)
    p.add_argument("--lsl", action="store_true",
                   help="also stream head orientation and angles over LSL (needs pylsl)")
    p.add_argument("--flush-interval", type=float, default=DEFAULT_FLUSH_INTERVAL_S,
                   metavar="S", help=f"longest time data waits in memory, s (default "
                   f"{DEFAULT_FLUSH_INTERVAL_S}, at most 0.5)")
    p.add_argument("--no-fsync", action="store_true",
                   help="flush to the OS only (survives a program crash, not a power loss)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
