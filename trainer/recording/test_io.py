"""``--record PATH``, ``--lsl`` and ``--device replay:PATH`` for test commands (``demo``).

:func:`attach` hooks a recorder and/or an LSL tap onto a session before it runs;
:func:`test_capture` does the same for ``cervitrack test``, whose runner makes the session;
:func:`replay` re-runs a recorded test from ``replay:PATH`` and returns its session, whose
engine then holds exactly the live trials and scores.
"""

from __future__ import annotations

import contextlib


def add_capture_arguments(p) -> None:
    """``--record`` and ``--lsl`` (the command adds ``--speed``/``--fast``)."""
    p.add_argument("--record", metavar="PATH",
                   help="record the test (raw stream, events, metadata) to a new .cvtrec file "
                   "(the test then runs headless)")
    p.add_argument("--lsl", action="store_true",
                   help="stream head pose and test events over LSL (needs pylsl)")


@contextlib.contextmanager
def capture(session, args, device_spec: str):
    """Attach ``--record`` / ``--lsl`` to ``session`` for the duration of the block."""
    from cervitrack.trainer.recording.capture import SessionCapture, session_metadata
    from cervitrack.trainer.recording.writer import Recorder

    recorder = lsl = None
    try:
        if getattr(args, "lsl", False):
            from cervitrack.trainer.recording.live import LslPoseTap

            device = session.device
            lsl = LslPoseTap(_SourceInfo(
                getattr(device, "protocol", None), float(getattr(session.engine, "rate_hz", 100.0)),
                {"spec": device_spec, **getattr(device, "device_info", {})}))
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


@contextlib.contextmanager
def test_capture(args, kind: str, preset, overrides: dict | None, device_spec: str,
                 rate_hz: float, protocol: str = "reference"):
    """``--record`` / ``--lsl`` for ``cervitrack test``: yields the step observers to give the
    session (the session and its engine are made inside the runner, so the recording's file is
    opened at the first step, with the test's kind, preset and overrides in its header)."""
    from pathlib import Path

    from cervitrack.trainer.recording.capture import (
        SessionCapture,
        engine_metadata,
        session_metadata,
    )
    from cervitrack.trainer.recording.writer import Recorder

    record = getattr(args, "record", None)
    if record and Path(record).exists():
        if not getattr(args, "force", False):
            raise FileExistsError(f"{record} already exists; add --force to overwrite it")
        Path(record).unlink()
    capture_ = None
    lsl = None
    try:
        if getattr(args, "lsl", False) or record:
            def open_recorder(session):
                test = engine_metadata(session.engine, kind, preset, overrides)
                return Recorder(record, session_metadata(
                    session, device_spec, {"command": f"test {kind}"}, test))

            capture_ = SessionCapture(None, None, open_recorder if record else None)
            if getattr(args, "lsl", False):
                from cervitrack.trainer.recording.live import LslPoseTap

                lsl = capture_.lsl = LslPoseTap(_SourceInfo(protocol, rate_hz,
                                                             {"spec": device_spec}))
        yield [capture_] if capture_ is not None else []
        if capture_ is not None and capture_.recorder is not None:
            capture_.recorder.close({"test_done": True})
    finally:
        if capture_ is not None and capture_.recorder is not None:
            capture_.recorder.close({"aborted": "error"})  # no-op when already closed
        if lsl is not None:
            lsl.close()


class _SourceInfo:
    """What the LSL tap needs to know about a test session's (simulated) device."""

    host_clock = "simulated"

    def __init__(self, protocol: str | None, nominal_rate_hz: float, metadata: dict) -> None:
        self.protocol = protocol
        self.nominal_rate_hz = float(nominal_rate_hz)
        self.metadata = dict(metadata)


def replay(args, engine=None):
    """Re-run the recorded test named by ``args.device`` (``replay:PATH``).

    Returns (the session after the replay, the recording's metadata)."""
    from cervitrack.firmware_bridge.device_spec import parse_device_spec
    from cervitrack.trainer.recording.capture import SessionCapture
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
        return replay_test(source, engine, observers), source.metadata
    finally:
        if lsl is not None:
            lsl.close()
