"""The decoder interface shared by every wire protocol.

A decoder is pure and incremental: :meth:`Decoder.feed` takes bytes in any chunking and returns
the samples completed so far as a :class:`~cervitrack.signal.samples.SampleBatch`.
It resynchronises after garbage, checks integrity (CRC, checksum or plausibility), counts what
it rejects in :attr:`Decoder.stats`, and never raises on any input.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from cervitrack.signal.samples import LinkStats, SampleBatch


class Decoder(abc.ABC):
    """Base class. Subclasses implement :meth:`_decode`.

    Class attributes:
        name: protocol name used on the command line (``--protocol``).
        seq_modulus: the wire counter wraps at this value; None when it does not wrap, or when
            the protocol has no counter (the decoder then numbers frames itself from 0).
        has_clock: whether frames carry a device clock. Without one ``t_device_s`` is NaN.
        clock_wrap_s: the device clock wraps after this many seconds; None when it does not
            wrap or there is no clock.
        nominal_rate_hz: the rate assumed when only a counter is available.
    """

    name: str = "base"
    seq_modulus: int | None = None
    has_clock: bool = False
    clock_wrap_s: float | None = None
    nominal_rate_hz: float = 100.0

    def __init__(self) -> None:
        self.stats = LinkStats()
        self._buf = bytearray()

    def feed(self, data: bytes, t_host_s: float = math.nan) -> SampleBatch:
        """Append ``data`` (arrived at host time ``t_host_s``) and return completed samples."""
        if data:
            self._buf += data
        try:
            # Arbitrary bytes read as floats overflow or are NaN: no warnings either.
            with np.errstate(all="ignore"):
                return self._decode(t_host_s)
        except Exception as exc:  # a decoder bug must never take the link down
            self.stats.extra["internal_errors"] = self.stats.extra.get("internal_errors", 0) + 1
            self.stats.extra["last_internal_error"] = repr(exc)
            self.stats.skipped_bytes += len(self._buf)
            self._buf.clear()
            return SampleBatch.empty()

    def finish(self, t_host_s: float = math.nan) -> SampleBatch:
        """End of stream: samples held back waiting for more bytes (most decoders hold none).

        Call before :meth:`flush` when a capture ends; never raises.
        """
        try:
            with np.errstate(all="ignore"):
                return self._finish(t_host_s)
        except Exception as exc:  # same contract as feed()
            self.stats.extra["internal_errors"] = self.stats.extra.get("internal_errors", 0) + 1
            self.stats.extra["last_internal_error"] = repr(exc)
            return SampleBatch.empty()

    def _finish(self, t_host_s: float) -> SampleBatch:
        return SampleBatch.empty()

    def feed_chunks(self, chunks) -> SampleBatch:
        """Decode several :class:`Chunk` items at once (one vectorised pass).

        Each sample gets the arrival time of the chunk that completed its frame. Decoders that
        report frame end offsets (``_frame_ends``) are decoded in one call; others chunk by
        chunk.
        """
        from cervitrack.signal.samples import concat

        chunks = [c for c in chunks if c.data]
        if not chunks:
            return SampleBatch.empty()
        if not self.reports_frame_ends or len(chunks) == 1:
            return concat([self.feed(c.data, c.t_host_s) for c in chunks])
        import numpy as np

        base = len(self._buf)
        ends = base + np.cumsum([len(c.data) for c in chunks])
        batch = self.feed(b"".join(c.data for c in chunks), chunks[-1].t_host_s)
        frame_ends = getattr(self, "_frame_ends", None)
        if frame_ends is None or len(frame_ends) != len(batch):
            return batch
        which = np.searchsorted(ends, frame_ends, side="left")
        t_host = np.array([c.t_host_s for c in chunks])[np.minimum(which, len(chunks) - 1)]
        return batch.with_(t_host_s=t_host)

    #: Whether ``_decode`` sets ``self._frame_ends``: for each returned sample, the offset just
    #: past its frame in the buffer as it was when ``_decode`` started.
    reports_frame_ends = False

    def flush(self) -> None:
        """Drop any buffered partial frame (after a disconnect), counting it as skipped."""
        self.stats.skipped_bytes += len(self._buf)
        self._buf.clear()

    def _take_fixed_frames(self, length: int, check, header: bytes | None = None) -> np.ndarray:
        """Accept fixed-length frames from the buffer and consume them.

        Scans with :func:`~cervitrack.firmware_bridge.protocols._framing.scan_fixed`, drops the
        accepted frames and the garbage before them from the buffer, and counts frames,
        rejected frames and skipped bytes.

        Returns:
            uint8 (M, length): the accepted frames in wire order (M may be 0).
        """
        from cervitrack.firmware_bridge.protocols._framing import scan_fixed

        if len(self._buf) < length:
            return np.zeros((0, length), dtype=np.uint8)
        scan = scan_fixed(np.frombuffer(bytes(self._buf), dtype=np.uint8), length, check, header)
        del self._buf[:scan.keep_from]
        self.stats.skipped_bytes += scan.skipped
        self.stats.rejected_frames += scan.rejected
        self.stats.frames += scan.starts.size
        return scan.rows

    @abc.abstractmethod
    def _decode(self, t_host_s: float) -> SampleBatch:
        """Decode the complete frames at the start of ``self._buf`` (each decoder's own)."""
