"""Turn a recording's stream back into samples, exactly as the live pipeline did.

Raw chunks are decoded with the recorded protocol's decoder
(:func:`cervitrack.firmware_bridge.protocols.make_decoder`) and stamped by the same timebase
as live (:class:`cervitrack.signal.timebase.Timebase`), chunk by chunk with the recorded host
arrival times, so the result is identical to what the live run computed. Recordings that hold
decoded sample batches instead are returned as recorded.

Pure: takes a loaded :class:`~cervitrack.trainer.recording.reader.Recording`, does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.samples import Chunk, Gap, LinkStats, SampleBatch, concat

try:  # the timebase lands with the foundation; until then device time stands in
    from cervitrack.signal.timebase import Timebase
except ImportError:  # pragma: no cover - removed once the timebase is on main
    Timebase = None


@dataclass
class Decoded:
    """The samples of a recording.

    Attributes:
        samples: all samples in order; ``t_s`` host monotonic seconds (see
            :mod:`cervitrack.firmware_bridge.samples`), ``seq`` unwrapped.
        gaps: the recorded gap markers.
        stats: the decoder's counters (frames, rejected frames, skipped bytes).
        nominal_rate_hz: the protocol's nominal rate, or the header's ``nominal_rate_hz``.
        source: "chunks" (decoded from raw bytes) or "samples" (recorded decoded).
    """

    samples: SampleBatch
    gaps: list = field(default_factory=list)
    stats: LinkStats = field(default_factory=LinkStats)
    nominal_rate_hz: float | None = None
    source: str = "chunks"


def decode_recording(recording) -> Decoded:
    """Decode ``recording`` (a :class:`Recording`).

    Raises:
        ValueError: the recording has chunks but no known protocol in its metadata.
    """
    chunks = recording.chunks
    header_rate = recording.metadata.get("nominal_rate_hz")
    if not chunks:
        batches = recording.sample_batches
        return Decoded(concat(batches), recording.gaps, LinkStats(), header_rate, "samples")
    if not recording.protocol:
        raise ValueError(f"{recording.path}: the recording has raw chunks but names no protocol")
    decoder = make_decoder(recording.protocol)
    timebase = Timebase.for_decoder(decoder) if Timebase is not None else None
    batches = []
    for item in recording.stream:
        if isinstance(item, Chunk):
            batch = decoder.feed(item.data, item.t_host_s)
            if len(batch):
                batches.append(timebase.process(batch) if timebase is not None else batch)
        elif isinstance(item, Gap):
            if item.reason == "disconnect":
                decoder.flush()
            if timebase is not None:
                timebase.mark_gap()
    samples = concat(batches)
    if timebase is None and len(samples):
        t_dev = samples.t_device_s
        samples = samples.with_(t_s=t_dev - t_dev[0] if np.all(np.isfinite(t_dev))
                                else (samples.seq - samples.seq[0]) / decoder.nominal_rate_hz)
    return Decoded(samples, recording.gaps, decoder.stats,
                   header_rate or decoder.nominal_rate_hz, "chunks")
