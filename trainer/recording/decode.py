"""Turn a recording's stream back into samples, exactly as the live pipeline did.

Raw chunks go through the live chain, :class:`cervitrack.trainer.pipeline.Pipeline` (the
recorded protocol's decoder, the timebase, the orientation filter), one recorded pipeline step
at a time with the recorded host arrival times, so samples and times are identical to what the
live run computed. Recordings that hold decoded sample batches instead are timed as recorded
(their ``t_s`` when set, else the device clock).

Pure: takes a loaded :class:`~cervitrack.trainer.recording.reader.Recording`, does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.samples import LinkStats, SampleBatch, concat


@dataclass
class Decoded:
    """The samples of a recording.

    Attributes:
        samples: all samples in order; ``t_s`` host monotonic seconds (see
            :mod:`cervitrack.firmware_bridge.samples`), ``seq`` unwrapped.
        q_world_sensor: (N, 4) sensor→world orientation, scalar first: the device's own
            quaternion when it sends one, else the pipeline's fusion (VQF); None when neither.
        orientation_source: "device", "fusion" or None.
        gaps: the recorded gap markers.
        stats: the decoder's counters (frames, rejected frames, skipped bytes).
        nominal_rate_hz: the protocol's nominal rate, or the header's ``nominal_rate_hz``.
        source: "chunks" (decoded from raw bytes) or "samples" (recorded decoded).
    """

    samples: SampleBatch
    q_world_sensor: np.ndarray | None = None
    orientation_source: str | None = None
    gaps: list = field(default_factory=list)
    stats: LinkStats = field(default_factory=LinkStats)
    nominal_rate_hz: float | None = None
    source: str = "chunks"


def _from_samples(recording) -> Decoded:
    samples = concat(recording.sample_batches)
    if len(samples) and not np.all(np.isfinite(samples.t_s)):
        samples = samples.with_(t_s=np.where(np.isfinite(samples.t_s), samples.t_s,
                                             samples.t_device_s))
    q = samples.quat_wxyz
    return Decoded(samples, q, "device" if q is not None else None, recording.gaps,
                   LinkStats(), recording.metadata.get("nominal_rate_hz"), "samples")


def decode_recording(recording) -> Decoded:
    """Decode ``recording`` (a :class:`Recording`) through the live pipeline.

    Raises:
        ValueError: the recording has chunks but no known protocol in its metadata.
    """
    from cervitrack.trainer.pipeline import Pipeline

    if not recording.chunks:
        return _from_samples(recording)
    if not recording.protocol:
        raise ValueError(f"{recording.path}: the recording has raw chunks but names no protocol")
    pipeline = Pipeline(make_decoder(recording.protocol))
    samples, fused = [], []
    for group in recording.polls():
        items = [item for item in group if not isinstance(item, SampleBatch)]
        pose = pipeline.process(items)
        if len(pose):
            samples.append(pose.samples)
            fused.append(pose.q_world_sensor)
    batch = concat(samples)
    if batch.quat_wxyz is not None:
        q, source = batch.quat_wxyz, "device"
    elif fused:
        q, source = np.concatenate(fused), "fusion"
    else:
        q, source = None, None
    rate = recording.metadata.get("nominal_rate_hz") or pipeline.decoder.nominal_rate_hz
    return Decoded(batch, q, source, recording.gaps, pipeline.decoder.stats, rate, "chunks")
