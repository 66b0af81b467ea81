"""Record (and stream) a running test: a step observer for :class:`~cervitrack.trainer.simulation.runner.SimSession`.

After every step, :class:`SessionCapture` writes the step's transport items and a STEP
boundary, the test engine's new events, and META updates for what the session handed to the
pipeline after that step: the calibration (``calibration``) once the engine has one, and each
gyro bias seed for the fusion (``pipeline_gyro_bias_rad_s``). Decoding applies them at the same
step, so exports reproduce the live orientation and head pose. With LSL it pushes the step's
head poses and events. :func:`session_metadata` is the
recording header: everything :mod:`cervitrack.trainer.recording.rescore` needs to rebuild the
same test engine for a replay.
"""

from __future__ import annotations

import dataclasses

from cervitrack.firmware_bridge.sim.config import as_dict


def engine_metadata(engine, kind: str | None = None, preset=None,
                    overrides: dict | None = None) -> dict:
    """The test engine's name, nominal rate and settings (plain data); for a clinical test
    also its kind, preset (the whole preset, settings table included) and overrides, from
    which a replay rebuilds the same engine."""
    settings = dataclasses.asdict(engine.settings) if dataclasses.is_dataclass(
        engine.settings) and not isinstance(engine.settings, type) else {}
    meta = {"name": engine.name, "rate_hz": getattr(engine, "rate_hz", None),
            "settings": settings}
    if kind is not None:
        meta["kind"] = kind
    if preset is not None:
        meta["preset"] = preset.as_dict()
        meta["overrides"] = dict(overrides or {})
    return meta


def session_metadata(session, device_spec: str = "sim", settings: dict | None = None,
                     test: dict | None = None) -> dict:
    """The header of a recording of ``session`` (a SimSession); ``test`` replaces the
    default :func:`engine_metadata` of its engine."""
    device = session.device
    return {
        "protocol": device.protocol,
        "nominal_rate_hz": float(session.cfg.sensor.rate_hz),
        "host_clock": "simulated",
        "device": {"spec": device_spec, **getattr(device, "device_info", {})},
        "firmware": getattr(device, "device_info", {}).get("firmware"),
        "task": (test or {}).get("kind", "jpe"),
        "test": test if test is not None else engine_metadata(session.engine),
        "settings": {"step_s": session.step_s, "seed": session.cfg.seed,
                     "sim_config": as_dict(session.cfg), **(settings or {})},
    }


class SessionCapture:
    """A step observer writing to a :class:`~.writer.Recorder` and/or an LSL tap.

    Args:
        recorder: an open Recorder, or None.
        lsl: a :class:`~cervitrack.trainer.recording.live.LslPoseTap`, or None.
        open_recorder: instead of ``recorder``, ``open_recorder(session) -> Recorder`` called
            at the first step (when the session's engine exists, for the header).

    Manual marks (``engine.mark(t_s)``, given between steps by an examiner or a key) are inputs
    to the engine that the stream does not hold: the capture records each as an event
    ``{"t_s", "kind": "mark", "input": "manual", "after_step": n}`` (n = steps so far), and a
    replay gives it to the engine after the same step.
    """

    def __init__(self, recorder=None, lsl=None, open_recorder=None) -> None:
        self.recorder = recorder
        self.lsl = lsl
        self.steps = 0
        self._open_recorder = open_recorder
        self._events_done = 0
        self._calibration_done = False
        self._bias_done = None
        self._watched = None

    def __call__(self, session, result) -> None:
        if self.recorder is None and self._open_recorder is not None:
            self.recorder, self._open_recorder = self._open_recorder(session), None
        if self._watched is not session.engine:
            self._watch_marks(session.engine)
        self.steps += 1
        rec = self.recorder
        if rec is not None:
            for item in result.items:
                rec.write(item)
            rec.step(result.t_s)
        events = session.engine.events[self._events_done:]
        self._events_done += len(events)
        for event in events:
            self._event(event)
        calibration = getattr(session.engine, "calibration", None)
        if calibration is not None and not self._calibration_done:
            self._calibration_done = True
            if rec is not None:
                rec.metadata({"calibration": calibration.to_dict()})
        # The gyro bias the session handed to the fusion (changes the fused orientation).
        bias = getattr(session.engine, "gyro_bias_update", None)
        if bias is not None and bias is not self._bias_done:
            self._bias_done = bias
            if rec is not None:
                rec.metadata({"pipeline_gyro_bias_rad_s": [float(v) for v in bias]})
        if self.lsl is not None:
            self.lsl.push_pose(result.pose)

    def _event(self, event: dict) -> None:
        if self.recorder is not None:
            self.recorder.event(event)
        if self.lsl is not None:
            self.lsl.push_event(event)

    def _watch_marks(self, engine) -> None:
        """Record the engine's manual marks (wraps ``engine.mark`` on this instance)."""
        self._watched = engine
        original = getattr(engine, "mark", None)
        if original is None:
            return

        def mark(t_s: float) -> None:
            self._event({"t_s": float(t_s), "kind": "mark", "input": "manual",
                         "after_step": self.steps})
            original(t_s)

        engine.mark = mark
