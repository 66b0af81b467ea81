"""Transport items → decoded, time-mapped samples (the first half of the live pipeline).

Pure: no I/O, no clock. :class:`TimedDecoder` feeds :class:`Chunk` bytes to a protocol decoder,
maps the samples' device time to host time with a :class:`~cervitrack.signal.timebase.Timebase`,
and on a :class:`Gap` takes the samples the decoder held back (``finish``), drops its partial
frame and tells the timebase (counters may have wrapped meanwhile). Sources that deliver decoded :class:`SampleBatch` items (recordings of
samples) go straight to the timebase.
"""

from __future__ import annotations

from cervitrack.signal.samples import Chunk, Gap, SampleBatch, concat
from cervitrack.signal.timebase import Timebase


class TimedDecoder:
    """Args:
        decoder: a protocol decoder (:func:`cervitrack.firmware_bridge.protocols.make_decoder`).
        nominal_rate_hz: overrides the decoder's nominal rate for counter-only devices.
    """

    def __init__(self, decoder, nominal_rate_hz: float | None = None) -> None:
        self.decoder = decoder
        rate = decoder.nominal_rate_hz if nominal_rate_hz is None else nominal_rate_hz
        self.timebase = Timebase(decoder.seq_modulus, decoder.has_clock, decoder.clock_wrap_s,
                                 rate)
        self._last_chunk_s = float("nan")

    @property
    def stats(self):
        """The decoder's counters (frames, rejected_frames, skipped_bytes)."""
        return self.decoder.stats

    def process(self, items) -> list:
        """Items in arrival order → the same order of timed :class:`SampleBatch` and
        :class:`Gap` objects (consecutive chunks are decoded together)."""
        out: list = []
        pending: list[Chunk] = []

        def flush_pending():
            if pending:
                self._emit(out, self.decoder.feed_chunks(pending))
                pending.clear()

        for item in items:
            if isinstance(item, Chunk):
                pending.append(item)
                self._last_chunk_s = item.t_host_s
            elif isinstance(item, Gap):
                flush_pending()
                # Samples a decoder held back for more bytes are complete: keep them.
                self._emit(out, self.decoder.finish(self._last_chunk_s))
                self.decoder.flush()
                self.timebase.mark_gap()
                out.append(item)
            elif isinstance(item, SampleBatch):
                flush_pending()
                self._emit(out, item)
        flush_pending()
        return out

    def finish(self) -> list:
        """End of stream: the samples the decoder held back, timed (a list of 0 or 1 batch)."""
        out: list = []
        self._emit(out, self.decoder.finish(self._last_chunk_s))
        return out

    def _emit(self, out: list, batch: SampleBatch) -> None:
        if len(batch):
            out.append(self.timebase.process(batch))


def samples_and_gaps(processed: list) -> tuple[SampleBatch, list[Gap]]:
    """Split :meth:`TimedDecoder.process` output into one batch and the gaps."""
    batches = [x for x in processed if isinstance(x, SampleBatch)]
    gaps = [x for x in processed if isinstance(x, Gap)]
    return concat(batches), gaps
