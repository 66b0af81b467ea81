"""Record a device source to a file: the loop behind ``cervitrack record``.

Every poll's items are written to the recorder as they arrive, followed by a STEP boundary at
the source's host time, so a replay repeats the same pipeline steps. The loop stops after
``duration_s`` of the source's own time (simulated time for the simulator, host time for live
devices and replays), when the source ends, or on Ctrl-C (the file is closed cleanly either
way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cervitrack.trainer.recording.writer import Recorder


@dataclass
class RecordResult:
    """What a recording session wrote: counts, the time span, and why it stopped."""

    path: str
    chunks: int
    gaps: int
    sample_batches: int
    steps: int
    duration_s: float
    stopped: str


def source_metadata(source) -> dict:
    """The source's device metadata as a plain dict (a live link's grows once connected)."""
    meta = getattr(source, "metadata", None)
    meta = meta() if callable(meta) else meta
    return dict(meta or {})


def recording_metadata(source, settings: dict | None = None) -> dict:
    """The header for a recording of ``source``."""
    device = source_metadata(source)
    meta = {
        "protocol": source.protocol,
        "nominal_rate_hz": source.nominal_rate_hz,
        "host_clock": source.host_clock,
        "device": device,
        "settings": dict(settings or {}),
    }
    if device.get("firmware"):
        meta["firmware"] = device["firmware"]
    return meta


def record_source(source, recorder: Recorder, duration_s: float | None, *,
                  on_step=None) -> RecordResult:
    """Record ``source`` into ``recorder`` (which the caller closes).

    Args:
        source: a device source (:mod:`cervitrack.firmware_bridge.device_spec`).
        recorder: an open :class:`Recorder`.
        duration_s: stop after this much source time, s; None = until the source ends.
        on_step: optional ``callback(items)`` after each step is recorded (e.g. LSL output).
    """
    counts = {"chunk": 0, "gap": 0, "samples": 0}
    steps = 0
    t_first = math.nan
    now = math.nan
    stopped = "source ended"
    device = source_metadata(source)
    device_updated = False
    try:
        for items in source.polls():
            for item in items:
                recorder.write(item)
            if items and not device_updated:
                # A live link knows the device (name, firmware, battery) once data flows.
                device_updated = True
                now_meta = source_metadata(source)
                if now_meta != device:
                    recorder.metadata({"device": now_meta})
            now = source.now_s()
            recorder.step(now)
            steps += 1
            if on_step is not None:
                on_step(items)
            if math.isnan(t_first) and math.isfinite(now):
                t_first = now
            if duration_s is not None and math.isfinite(now) and now - t_first >= duration_s:
                stopped = "duration reached"
                break
    except KeyboardInterrupt:  # Ctrl-C is the normal way to stop an open-ended recording
        stopped = "interrupted"
    for name in counts:
        counts[name] = recorder.counts[name]
    span = now - t_first if math.isfinite(now) and math.isfinite(t_first) else 0.0
    return RecordResult(str(recorder.path), counts["chunk"], counts["gap"], counts["samples"],
                        steps, span, stopped)
