"""A bounded, thread-safe queue of stream items that drops the oldest and says so.

A transport's reader thread must never grow memory without bound when its consumer falls
behind (a flood of UDP datagrams, a stalled GUI). :class:`ItemQueue` holds at most
``max_bytes`` of chunk payload and ``max_items`` items; past either, it drops the *oldest*
chunks and puts one :class:`Gap` (reason ``"overflow"``) where they were, so the consumer sees
that data was lost and where, and the newest data keeps flowing.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from cervitrack.signal.samples import Chunk, Gap

#: Default bounds: about 20 s of a 100 Hz, 40-byte-frame link in bytes is far below this; a
#: consumer this far behind has lost real time anyway.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_ITEMS = 50_000
OVERFLOW_REASON = "overflow"


class ItemQueue:
    """FIFO of :class:`Chunk` / :class:`Gap` items with a byte and item bound.

    Attributes:
        dropped_chunks: chunks dropped so far.
        dropped_bytes: their payload bytes.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_items: int = DEFAULT_MAX_ITEMS) -> None:
        if max_bytes < 1 or max_items < 2:
            raise ValueError("an item queue needs room for at least one chunk and its gap")
        self.max_bytes, self.max_items = int(max_bytes), int(max_items)
        self._items: deque = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self.dropped_chunks = 0
        self.dropped_bytes = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    @property
    def queued_bytes(self) -> int:
        with self._cond:
            return self._bytes

    def put(self, item) -> None:
        with self._cond:
            self._items.append(item)
            if isinstance(item, Chunk):
                self._bytes += len(item.data)
            if self._bytes > self.max_bytes or len(self._items) > self.max_items:
                self._drop_oldest()
            self._cond.notify()

    def _drop_oldest(self) -> None:
        dropped, last_t = 0, float("nan")
        while (self._bytes > self.max_bytes or len(self._items) > self.max_items - 1) \
                and len(self._items) > 1:
            old = self._items.popleft()
            if isinstance(old, Chunk):
                self._bytes -= len(old.data)
                self.dropped_chunks += 1
                self.dropped_bytes += len(old.data)
                dropped += 1
                last_t = old.t_host_s
        if dropped:
            head = self._items[0] if self._items else None
            if not (isinstance(head, Gap) and head.reason == OVERFLOW_REASON):
                self._items.appendleft(Gap(last_t, OVERFLOW_REASON, -1))

    def get_all(self, timeout_s: float) -> list:
        """Every queued item, waiting up to ``timeout_s`` for the first one."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
            out = list(self._items)
            self._items.clear()
            self._bytes = 0
            return out
