"""The live chain: transport items → decoded samples → timebase → orientation → head pose.

Pure and deterministic: the same items in the same order give the same poses, so a recording
replays exactly. No I/O, no wall clock.

:class:`Pipeline` consumes lists of :class:`Chunk` and :class:`Gap` items and returns a
:class:`PoseBatch` per call. Stillness is computed from the sensor orientation (angular speed
is frame independent), so it works before calibration. Head angles are computed when a
:class:`~cervitrack.calibration.head.HeadCalibration` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.calibration.head import HeadCalibration
from cervitrack.firmware_bridge.protocols import Decoder
from cervitrack.firmware_bridge.samples import Chunk, Gap, SampleBatch
from cervitrack.signal import kinematics
from cervitrack.signal.orientation import DeviceOrientation, VqfOrientation
from cervitrack.signal.stillness import StillnessDetector, StillnessParams
from cervitrack.signal.timebase import Timebase


@dataclass(frozen=True)
class PoseBatch:
    """N head poses.

    Attributes:
        samples: the timed samples (``t_s`` set by the timebase).
        q_world_sensor: (N, 4) sensor→world orientation, scalar first.
        speed_deg_s: (N,) angular speed, deg/s.
        smoothed_speed_deg_s: (N,) low-passed speed used by the stillness detector, deg/s.
        still: (N,) bool, below the stillness threshold.
        still_since_t_s: (N,) start of the current still run, s (NaN while moving).
        q_neutral_head: (N, 4) head pose relative to neutral, or None before calibration.
        gaps: gap markers received since the previous batch.
    """

    samples: SampleBatch
    q_world_sensor: np.ndarray
    speed_deg_s: np.ndarray
    smoothed_speed_deg_s: np.ndarray
    still: np.ndarray
    still_since_t_s: np.ndarray
    q_neutral_head: np.ndarray | None
    gaps: tuple = ()

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def t_s(self) -> np.ndarray:
        return self.samples.t_s

    @property
    def seq(self) -> np.ndarray:
        return self.samples.seq

    def angles_deg(self) -> dict[str, np.ndarray] | None:
        """Head angles relative to neutral (see :mod:`cervitrack.signal.kinematics`)."""
        return None if self.q_neutral_head is None else kinematics.head_angles_deg(self.q_neutral_head)


class Pipeline:
    """Streaming chain for one device.

    Angular speed is measured over a ``SPEED_BASELINE_S`` baseline (0.05 s) so that sensor and
    quantisation noise of a few hundredths of a degree per sample stays below 1 deg/s.

    Args:
        decoder: the wire-protocol decoder.
        orientation: "auto" (VQF when raw gyro + acc arrive, else the device quaternion),
            "fusion" or "device".
        stillness: stillness detector settings.
        use_mag: 9-axis VQF (off by default).
    """

    SPEED_BASELINE_S = 0.05

    def __init__(self, decoder: Decoder, orientation: str = "auto",
                 stillness: StillnessParams = StillnessParams(), use_mag: bool = False) -> None:
        self.decoder = decoder
        self.timebase = Timebase.for_decoder(decoder)
        self.orientation_mode = orientation
        self.use_mag = use_mag
        self.orientation = None
        self.stillness = StillnessDetector(stillness)
        self.calibration: HeadCalibration | None = None
        #: Speed baseline: samples spanning SPEED_BASELINE_S (see angular_speed_deg_s).
        self.speed_lag = max(1, round(self.SPEED_BASELINE_S * decoder.nominal_rate_hz))
        self._tail_q = np.zeros((0, 4))
        self._tail_t = np.zeros(0)
        self.gap_count = 0

    def _orientation_for(self, batch: SampleBatch):
        has_raw = batch.gyr_rad_s is not None and batch.acc_m_s2 is not None
        if self.orientation_mode == "fusion" or (self.orientation_mode == "auto" and has_raw):
            return VqfOrientation(self.decoder.nominal_rate_hz, use_mag=self.use_mag)
        return DeviceOrientation()

    def set_gyro_bias(self, gyr_bias_rad_s) -> None:
        """Seed the fusion's gyro bias (rest calibration); no effect on device quaternions."""
        if isinstance(self.orientation, VqfOrientation):
            self.orientation.set_bias(gyr_bias_rad_s)

    def process(self, items) -> PoseBatch:
        """Process transport items (Chunk and Gap, in arrival order) into poses."""
        gaps = []
        pending: list[Chunk] = []
        parts = []
        for item in items:
            if isinstance(item, Gap):
                if pending:
                    parts.append(self.decoder.feed_chunks(pending))
                    pending = []
                self.decoder.flush()
                self.timebase.mark_gap()
                gaps.append(item)
                self.gap_count += 1
            else:
                pending.append(item)
        if pending:
            parts.append(self.decoder.feed_chunks(pending))
        from cervitrack.firmware_bridge.samples import concat

        raw = concat(parts)
        return self.process_samples(raw, gaps)

    def process_samples(self, raw: SampleBatch, gaps=()) -> PoseBatch:
        """Process decoded (untimed) samples; used by :meth:`process` and by file replays."""
        samples = self.timebase.process(raw) if len(raw) else raw
        if len(samples) and self.orientation is None:
            self.orientation = self._orientation_for(samples)
        q_ws = self.orientation.process(samples) if len(samples) else np.zeros((0, 4))
        t = samples.t_s
        if len(samples):
            tt = np.concatenate([self._tail_t, t])
            qq = np.concatenate([self._tail_q, q_ws])
            speed = kinematics.angular_speed_deg_s(tt, qq, self.speed_lag)[len(self._tail_t):]
            self._tail_t, self._tail_q = tt[-self.speed_lag:], qq[-self.speed_lag:]
        else:
            speed = np.zeros(0)
        st = self.stillness.update(t, speed)
        q_nh = self.calibration.neutral_head(q_ws) if self.calibration is not None and len(q_ws) else None
        return PoseBatch(samples, q_ws, speed, st["smoothed_deg_s"], st["still"],
                         st["still_since_t_s"], q_nh, tuple(gaps))
