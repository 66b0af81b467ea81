"""``--record PATH``, ``--lsl`` and ``--device replay:PATH`` for test commands (``demo``).

:func:`attach` hooks a recorder and/or an LSL tap onto a session before it runs;
:func:`replay` re-runs a recorded test from ``replay:PATH`` and returns its session, whose
engine then holds exactly the live trials and scores.
"""

from __future__ import annotations

import contextlib

from cervitrack.trainer.recording.capture import SessionCapture, session_metadata
from cervitrack.trainer.recording.writer import Recorder


def add_arguments(p) -> None:
    """The recording/streaming/replay options of a test command."""
    p.add_argument("--device", default="sim", metavar="SPEC",
                   help="sim (default) or replay:FILE.cvtrec to re-score a recorded test")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=None, metavar="X",
                      help="replay pacing, X times real time (default: as fast as possible)")
    pace.add_argument("--fast", action="store_true", help="replay as fast as possible")
    p.add_argument("--record", metavar="PATH",
                   help="record the test (raw stream, events, metadata) to a new .cvtrec file")
    p.add_argument("--lsl", action="store_true",
                   help="stream head pose and test events over LSL (needs pylsl)")


@contextlib.contextmanager
def capture(session, args, device_spec: str):
    """Attach ``--record`` / ``--lsl`` to ``session`` for the duration of the block."""
    recorder = lsl = None
    try:
        if getattr(args, "lsl", False):
            from cervitrack.trainer.recording.live import LslPoseTap

            lsl = LslPoseTap(_SourceInfo(session, device_spec))
        if getattr(args, "record", None):
            recorder = Recorder(args.record, session_metadata(
                session, device_spec, {"command": args.command}))
        if recorder is not None or lsl is not None:
            session.step_observers.append(SessionCapture(recorder, lsl))
        yield session
        if recorder is not None:
            recorder.close({"test_done": bool(session.engine.done)})
    finally:
        if recorder is not None:
            recorder.close({"aborted": "error"})  # no-op when already closed
        if lsl is not None:
            lsl.close()


class _SourceInfo:
    """What the LSL tap needs to know about a session's device."""

    def __init__(self, session, device_spec: str) -> None:
        device = session.device
        self.protocol = getattr(device, "protocol", None)
        self.nominal_rate_hz = float(getattr(session.engine, "rate_hz", 100.0))
        self.host_clock = "simulated" if device_spec == "sim" else "monotonic"
        self.metadata = {"spec": device_spec, **getattr(device, "device_info", {})}


def replay(args, engine=None):
    """Re-run the recorded test named by ``args.device`` (``replay:PATH``); the session."""
    from cervitrack.firmware_bridge.device_spec import parse_device_spec
    from cervitrack.trainer.recording.replay import ReplaySource
    from cervitrack.trainer.recording.rescore import replay_test

    spec = parse_device_spec(args.device)
    if spec.kind != "replay":
        raise ValueError(f"--device {args.device!r}: test commands take sim or replay:PATH")
    if args.speed is not None and not args.speed > 0:
        raise ValueError(f"--speed must be a positive number, not {args.speed}")
    source = ReplaySource(spec.target, speed=None if args.fast else args.speed)
    observers = []
    lsl = None
    if args.lsl:
        from cervitrack.trainer.recording.live import LslPoseTap

        lsl = LslPoseTap(source)
        observers.append(SessionCapture(None, lsl))
    try:
        return replay_test(source, engine, observers)
    finally:
        if lsl is not None:
            lsl.close()
