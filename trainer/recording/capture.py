"""Record (and stream) a running test: a step observer for :class:`~cervitrack.trainer.runner.SimSession`.

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


def engine_metadata(engine) -> dict:
    """The test engine's name, nominal rate and settings (plain data)."""
    settings = dataclasses.asdict(engine.settings) if dataclasses.is_dataclass(
        engine.settings) else {}
    return {"name": engine.name, "rate_hz": getattr(engine, "rate_hz", None),
            "settings": settings}


def session_metadata(session, device_spec: str = "sim", settings: dict | None = None) -> dict:
    """The header of a recording of ``session`` (a SimSession)."""
    device = session.device
    return {
        "protocol": device.protocol,
        "nominal_rate_hz": float(session.cfg.sensor.rate_hz),
        "host_clock": "simulated",
        "device": {"spec": device_spec, **getattr(device, "device_info", {})},
        "firmware": getattr(device, "device_info", {}).get("firmware"),
        "task": "jpe",
        "test": engine_metadata(session.engine),
        "settings": {"step_s": session.step_s, "seed": session.cfg.seed,
                     "sim_config": as_dict(session.cfg), **(settings or {})},
    }


class SessionCapture:
    """A step observer writing to a :class:`~.writer.Recorder` and/or an LSL tap.

    Args:
        recorder: an open Recorder, or None.
        lsl: a :class:`~cervitrack.trainer.recording.live.LslPoseTap`, or None.
    """

    def __init__(self, recorder=None, lsl=None) -> None:
        self.recorder = recorder
        self.lsl = lsl
        self._events_done = 0
        self._calibration_done = False
        self._bias_done = None

    def __call__(self, session, result) -> None:
        rec = self.recorder
        if rec is not None:
            for item in result.items:
                rec.write(item)
            rec.step(result.t_s)
        events = session.engine.events[self._events_done:]
        self._events_done += len(events)
        for event in events:
            if rec is not None:
                rec.event(event)
            if self.lsl is not None:
                self.lsl.push_event(event)
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
