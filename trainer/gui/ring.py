"""A preallocated, thread-safe ring buffer of float64 channels (single producer).

Each channel is stored twice, at ``i`` and ``i + capacity`` of a (channels, 2·capacity)
array, so the newest ``n`` samples of a channel are always one contiguous numpy view: views are
handed to ``setData`` without copying or concatenating.

Thread safety: one producer thread calls :meth:`RingBuffer.write`; any thread may read. The
producer writes the data first and then publishes the new count under a lock, so a reader
never sees unwritten rows. A view stays valid until the producer has written
``capacity - n`` more samples; readers ask for at most half the capacity, which at 400 Hz and
a 20 s capacity leaves them 10 s, far more than one display frame.
"""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """Args:
        channels: channel names (each a float64 series).
        capacity: samples kept per channel.
    """

    def __init__(self, channels, capacity: int) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.channels = tuple(channels)
        self.index = {name: i for i, name in enumerate(self.channels)}
        self.capacity = int(capacity)
        self._data = np.full((len(self.channels), 2 * self.capacity), np.nan)
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        """Samples written since creation (or the last clear)."""
        with self._lock:
            return self._count

    def write(self, values: dict) -> None:
        """Append N samples: ``values`` maps channel name → (N,) array. Missing channels are
        written as NaN. Called by the producer thread only."""
        lengths = {len(v) for v in values.values()}
        if not lengths:
            return
        if len(lengths) != 1:
            raise ValueError(f"channels have different lengths: {sorted(lengths)}")
        n = lengths.pop()
        if n == 0:
            return
        block = np.full((len(self.channels), n), np.nan)
        for name, v in values.items():
            block[self.index[name]] = v
        if n > self.capacity:
            block = block[:, -self.capacity:]
            skipped, n = n - self.capacity, self.capacity
        else:
            skipped = 0
        start = (self._count + skipped) % self.capacity
        first = min(n, self.capacity - start)
        for offset in (0, self.capacity):
            self._data[:, offset + start:offset + start + first] = block[:, :first]
            self._data[:, offset:offset + n - first] = block[:, first:]
        with self._lock:
            self._count += skipped + n

    def latest(self, n: int, count: int | None = None) -> np.ndarray:
        """The newest ``n`` samples (at most the capacity) as a (channels, n) view.

        ``count`` pins the read to a count obtained earlier (so several reads in one frame
        see the same samples)."""
        if count is None:
            count = self.count
        n = int(max(0, min(n, count, self.capacity)))
        end = count % self.capacity + self.capacity if count >= self.capacity else count
        return self._data[:, end - n:end]

    def channel(self, name: str, n: int, count: int | None = None) -> np.ndarray:
        """The newest ``n`` samples of one channel, a contiguous view."""
        return self.latest(n, count)[self.index[name]]

    def since(self, count_before: int, count: int | None = None) -> np.ndarray:
        """Samples written after ``count_before`` (at most half the capacity), (channels, k)."""
        if count is None:
            count = self.count
        return self.latest(max(0, count - count_before), count)

    def clear(self) -> None:
        with self._lock:
            self._count = 0
        self._data[:] = np.nan
