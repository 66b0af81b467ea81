"""Replay a recording as a device source: the recorded Chunk/Gap items, at a chosen speed.

Items keep their recorded host times (``t_host_s``), so the pipeline downstream (decoder,
timebase, orientation, test engine) computes exactly what it computed live. Only the pacing
uses the wall clock: with ``speed`` X, an item recorded ``d`` seconds after the first is
yielded ``d / X`` wall seconds after replay started; ``speed=None`` (``--fast``) yields as fast
as the consumer takes them.

Recordings that hold decoded sample batches instead of chunks replay those batches.
"""

from __future__ import annotations

import math
import time

from cervitrack.firmware_bridge.samples import Chunk, Gap, SampleBatch
from cervitrack.trainer.recording.reader import load


def _host_time(item) -> float:
    if isinstance(item, (Chunk, Gap)):
        return item.t_host_s
    if isinstance(item, SampleBatch) and len(item):
        return float(item.t_host_s[-1])
    return math.nan


class ReplaySource:
    """Iterate a recording's stream items (:class:`Chunk`, :class:`Gap`, :class:`SampleBatch`).

    Args:
        path: the recording.
        speed: playback speed factor (1.0 = real time); None = as fast as possible.
        sleep, clock: injectable for tests (default ``time.sleep``, ``time.monotonic``).

    Attributes:
        recording: the loaded :class:`~cervitrack.trainer.recording.reader.Recording`.
        protocol: the recorded protocol (decoder name), or None.
        metadata: the recording's metadata, with ``replay_of`` naming the file.
        events: the recorded events (for comparison; a replayed test makes its own).
    """

    def __init__(self, path, speed: float | None = 1.0, *, sleep=time.sleep,
                 clock=time.monotonic) -> None:
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"replay speed must be a positive number, not {speed}")
        self.recording = load(path)
        self.speed = speed
        self.protocol = self.recording.protocol
        self.metadata = dict(self.recording.metadata)
        self.metadata["replay_of"] = str(path)
        self.events = self.recording.events
        self._sleep = sleep
        self._clock = clock

    def __iter__(self):
        t0_item = None
        t0_wall = self._clock()
        for item in self.recording.stream:
            if self.speed is not None:
                t = _host_time(item)
                if math.isfinite(t):
                    if t0_item is None:
                        t0_item = t
                    wait = (t - t0_item) / self.speed - (self._clock() - t0_wall)
                    if wait > 0:
                        self._sleep(wait)
            yield item

    def close(self) -> None:
        """Nothing to release (the file was read at construction)."""
