"""Live LSL output for a device source: items → live pipeline → head pose → LSL.

:class:`LslPoseTap` runs its own :class:`~cervitrack.trainer.live.pipeline.Pipeline` on each poll's
items and pushes the head pose to :class:`~cervitrack.trainer.recording.lsl.LslStreamer`.
Head pose needs a neutral: a test run passes its calibration (:meth:`set_calibration`); a
plain recording has none, so the tap takes the first sample's orientation as neutral and the
sensor axes as head axes (stated in the stream's ``neutral`` description) until one is set.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cervitrack.calibration.head import HeadCalibration
from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.signal import kinematics
from cervitrack.signal.samples import SampleBatch
from cervitrack.trainer.recording.lsl import LslStreamer


def pose_arrays(pose):
    """(t_s (N,), q_neutral_head (N, 4), angles (N, 3) axial/lateral/flexion deg) of a
    :class:`~cervitrack.trainer.live.pipeline.PoseBatch` with a head pose."""
    angles = kinematics.head_angles_deg(pose.q_neutral_head)
    return pose.t_s, pose.q_neutral_head, np.stack(
        [angles["axial"], angles["lateral"], angles["flexion"]], axis=-1)


class LslPoseTap:
    """Stream a source's head pose over LSL.

    Args:
        source: a device source (``protocol``, ``nominal_rate_hz``, ``host_clock``,
            ``metadata``).
    """

    def __init__(self, source) -> None:
        from cervitrack.trainer.live.pipeline import Pipeline

        if not source.protocol:
            raise ValueError("--lsl needs a device that sends raw bytes with a known protocol")
        from cervitrack.trainer.recording.session import source_metadata

        device = source_metadata(source)
        self.streamer = LslStreamer(source.nominal_rate_hz, host_clock=source.host_clock,
                                    source_id=str(device.get("spec", "cervitrack")),
                                    metadata={"device": device})
        self.pipeline = Pipeline(make_decoder(source.protocol))

    @property
    def samples_pushed(self) -> int:
        return self.streamer.samples_pushed

    def set_calibration(self, calibration: HeadCalibration) -> None:
        self.pipeline.calibration = calibration

    def process(self, items) -> None:
        """Run one poll's items through the pipeline and push the resulting head poses."""
        pose = self.pipeline.process([i for i in items if not isinstance(i, SampleBatch)])
        if not len(pose):
            return
        if pose.q_neutral_head is None:
            self.pipeline.calibration = HeadCalibration(q_world_neutral=pose.q_world_sensor[0])
            pose = dataclasses.replace(
                pose, q_neutral_head=self.pipeline.calibration.neutral_head(pose.q_world_sensor))
        self.streamer.push_pose(*pose_arrays(pose))

    def push_pose(self, pose) -> None:
        """Push an already computed pose batch (test runs share their pipeline's output)."""
        if len(pose) and pose.q_neutral_head is not None:
            self.streamer.push_pose(*pose_arrays(pose))

    def push_event(self, event: dict) -> None:
        self.streamer.push_event(event)

    def close(self) -> None:
        self.streamer.close()


class TappedSource:
    """A device source whose polls also go to an :class:`LslPoseTap` (for ``stream --lsl``).

    Every other attribute (``protocol``, ``metadata``, ``now_s``, ``supervisor``...) is the
    wrapped source's; :meth:`close` closes both.
    """

    def __init__(self, source, protocol: str | None = None) -> None:
        self._source = source
        if protocol:
            self.protocol = protocol
        try:
            self.tap = LslPoseTap(self)
        except BaseException:
            source.close()
            raise

    def __getattr__(self, name):
        return getattr(self._source, name)

    def polls(self):
        for items in self._source.polls():
            self.tap.process(items)
            yield items

    def close(self) -> None:
        try:
            self._source.close()
        finally:
            self.tap.close()
