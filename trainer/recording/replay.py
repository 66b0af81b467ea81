"""Replay a recording as a device source (``--device replay:PATH``).

The source yields the recorded stream items (:class:`Chunk`, :class:`Gap`, or
:class:`SampleBatch` for recordings of decoded samples) with their recorded host times, grouped
into the live run's pipeline steps (the recording's STEP records), so the pipeline downstream
(decoder, timebase, orientation, test engine) computes exactly what it computed live.

Only the pacing uses the wall clock: with ``speed`` X, a step recorded ``d`` seconds after the
first is yielded ``d / X`` wall seconds after replay started; ``speed=None`` (``--fast``)
yields as fast as the consumer takes them.
"""

from __future__ import annotations

import math
import time

from cervitrack.firmware_bridge.device_spec import register_source
from cervitrack.signal.samples import Chunk, Gap, SampleBatch
from cervitrack.trainer.recording import format as fmt
from cervitrack.trainer.recording.reader import load


def _host_time(item) -> float:
    if isinstance(item, (Chunk, Gap, fmt.Step)):
        return item.t_host_s
    if isinstance(item, SampleBatch) and len(item):
        return float(item.t_host_s[-1])
    return math.nan


class ReplaySource:
    """A recording as a device source (see :mod:`cervitrack.firmware_bridge.device_spec`).

    Args:
        path: the recording.
        speed: playback speed factor (1.0 = real time); None = as fast as possible.
        sleep, clock: injectable for tests (default ``time.sleep``, ``time.monotonic``).

    Attributes:
        recording: the loaded :class:`~cervitrack.trainer.recording.reader.Recording`.
        protocol, nominal_rate_hz, host_clock: as recorded.
        metadata: the recording's metadata, with ``replay_of`` naming the file and ``spec``
            the ``replay:PATH`` device spec.
        events: the recorded events (a replayed test makes its own; compare with these).
    """

    def __init__(self, path, speed: float | None = 1.0, *, sleep=time.sleep,
                 clock=time.monotonic, protocol: str | None = None) -> None:
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"replay speed must be a positive number, not {speed}")
        self.recording = load(path, protocol)
        self.speed = speed
        meta = self.recording.metadata
        self.protocol = self.recording.protocol
        self.nominal_rate_hz = float(meta.get("nominal_rate_hz") or 100.0)
        self.host_clock = meta.get("host_clock", "monotonic")
        self.metadata = dict(meta)
        self.metadata["replay_of"] = str(path)
        self.metadata["spec"] = f"replay:{path}"
        self.events = self.recording.events
        self._sleep = sleep
        self._clock = clock
        self._now_s = math.nan
        self._groups = self.recording.polls()

    def now_s(self) -> float:
        """Host time (as recorded) of the latest step yielded, s."""
        return self._now_s

    def polls(self):
        """Yield the recorded steps' item lists, paced by ``speed``."""
        t0_item = None
        t0_wall = self._clock()
        steps = [s.t_host_s for s in self.recording.steps]
        for i, group in enumerate(self._groups):
            t = steps[i] if i < len(steps) else max(
                (_host_time(item) for item in group), default=math.nan)
            if math.isfinite(t):
                self._now_s = t
                if self.speed is not None:
                    if t0_item is None:
                        t0_item = t
                    wait = (t - t0_item) / self.speed - (self._clock() - t0_wall)
                    if wait > 0:
                        self._sleep(wait)
            yield group

    def __iter__(self):
        """The stream items one by one (flattened steps)."""
        for group in self.polls():
            yield from group

    def close(self) -> None:
        """Nothing to release (the file was read when opened)."""


def _open_replay(spec, speed: float | None = 1.0, protocol: str | None = None,
                 **_options) -> ReplaySource:
    return ReplaySource(spec.target, speed=speed, protocol=protocol)


register_source("replay", _open_replay, "replay:PATH")
