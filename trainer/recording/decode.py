"""Turn a recording's stream back into samples, exactly as the live pipeline did.

Raw chunks go through the live chain, :class:`cervitrack.trainer.live.pipeline.Pipeline` (the
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
from cervitrack.signal.samples import LinkStats, SampleBatch, concat


@dataclass
class Decoded:
    """The samples of a recording.

    Attributes:
        samples: all samples in order; ``t_s`` host monotonic seconds (see
            :mod:`cervitrack.signal.samples`), ``seq`` unwrapped.
        q_world_sensor: (N, 4) sensor→world orientation, scalar first: the device's own
            quaternion when it sends one, else the pipeline's fusion (VQF); None when neither.
        orientation_source: "device", "fusion" or None.
        q_world_fused: (N, 4) the pipeline's orientation (fusion when raw data arrive, else the
            device quaternion), as the live run computed it; None for sample recordings.
        q_neutral_head: (N, 4) head pose relative to the recorded calibration's neutral, NaN
            before the live run had a calibration; None when the recording has none.
        gaps: the recorded gap markers.
        stats: the decoder's counters (frames, rejected frames, skipped bytes).
        nominal_rate_hz: the protocol's nominal rate, or the header's ``nominal_rate_hz``.
        source: "chunks" (decoded from raw bytes) or "samples" (recorded decoded).
    """

    samples: SampleBatch
    q_world_sensor: np.ndarray | None = None
    orientation_source: str | None = None
    q_world_fused: np.ndarray | None = None
    q_neutral_head: np.ndarray | None = None
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
    return Decoded(samples, q, "device" if q is not None else None, None, None,
                   recording.gaps, LinkStats(), recording.metadata.get("nominal_rate_hz"),
                   "samples")


def decode_recording(recording) -> Decoded:
    """Decode ``recording`` (a :class:`Recording`) through the live pipeline.

    Raises:
        ValueError: the recording has chunks but no known protocol in its metadata.
    """
    from cervitrack.trainer.live.pipeline import Pipeline

    if not recording.chunks:
        return _from_samples(recording)
    if not recording.protocol:
        raise ValueError(f"{recording.path}: the recording has raw chunks but names no protocol "
                         "(its header was lost): name it with --protocol P")
    from cervitrack.calibration.head import HeadCalibration

    pipeline = Pipeline(make_decoder(recording.protocol))
    samples, fused, head = [], [], []
    updates = list(recording.meta_updates)
    position = 0
    any_head = False
    for group in recording.polls():
        # Settings the live session applied after the previous step apply from this one on.
        while updates and updates[0][0] <= position:
            meta = updates.pop(0)[1]
            if isinstance(meta.get("calibration"), dict):
                pipeline.calibration = HeadCalibration.from_dict(meta["calibration"])
            if meta.get("pipeline_gyro_bias_rad_s") is not None:
                pipeline.set_gyro_bias(np.asarray(meta["pipeline_gyro_bias_rad_s"], float))
        position += len(group) + (1 if recording.steps else 0)
        items = [item for item in group if not isinstance(item, SampleBatch)]
        pose = pipeline.process(items)
        if len(pose):
            samples.append(pose.samples)
            fused.append(pose.q_world_sensor)
            any_head |= pose.q_neutral_head is not None
            head.append(pose.q_neutral_head if pose.q_neutral_head is not None
                        else np.full((len(pose), 4), np.nan))
    batch = concat(samples)
    if batch.quat_wxyz is not None:
        q, source = batch.quat_wxyz, "device"
    elif fused:
        q, source = np.concatenate(fused), "fusion"
    else:
        q, source = None, None
    rate = recording.metadata.get("nominal_rate_hz") or pipeline.decoder.nominal_rate_hz
    return Decoded(batch, q, source, np.concatenate(fused) if fused else None,
                   np.concatenate(head) if any_head else None, recording.gaps,
                   pipeline.decoder.stats, rate, "chunks")
