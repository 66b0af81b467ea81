"""The live chain: transport items → decoded samples → timebase → orientation → head pose.

Pure and deterministic: the same items in the same order give the same poses, so a recording
replays exactly. No I/O, no wall clock.

:class:`Pipeline` consumes lists of :class:`Chunk` and :class:`Gap` items and returns a
:class:`PoseBatch` per call: decode → timebase → orientation (VQF on raw data, or the device's
quaternion) → angular speed and stillness → (with a
:class:`~cervitrack.calibration.head.HeadCalibration`) head pose relative to neutral, head
angles and their One Euro smoothed version for live display
(:mod:`cervitrack.signal.smoothing`). Stillness is computed from the sensor orientation
(angular speed is frame independent), so it works before calibration. With device-fused
orientation the heading drift rate is measured during still periods
(:mod:`cervitrack.signal.drift`, :attr:`Pipeline.heading_drift_deg_min`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.calibration.head import HeadCalibration
from cervitrack.firmware_bridge.protocols import Decoder
from cervitrack.firmware_bridge.sniff import NoFrameWatch
from cervitrack.signal import kinematics
from cervitrack.signal.drift import DriftParams, HeadingDriftMonitor
from cervitrack.signal.orientation import DeviceOrientation, VqfOrientation
from cervitrack.signal.samples import Chunk, Gap, SampleBatch
from cervitrack.signal.smoothing import OneEuroFilter, OneEuroParams
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
        head_angles_deg: dict of (N,) ``axial``, ``flexion``, ``lateral``, ``global`` (deg;
            :func:`cervitrack.signal.kinematics.head_angles_deg`), or None before calibration.
        smoothed_angles_deg: the same three components (no ``global``) through the One Euro
            filter, for live display only (never for scoring), or None before calibration.
    """

    samples: SampleBatch
    q_world_sensor: np.ndarray
    speed_deg_s: np.ndarray
    smoothed_speed_deg_s: np.ndarray
    still: np.ndarray
    still_since_t_s: np.ndarray
    q_neutral_head: np.ndarray | None
    gaps: tuple = ()
    head_angles_deg: dict | None = None
    smoothed_angles_deg: dict | None = None

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
        if self.head_angles_deg is not None:
            return self.head_angles_deg
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
        smoothing: One Euro settings for the live head angles.
        drift: heading drift monitor settings (device-fused orientation only).
    """

    SPEED_BASELINE_S = 0.05

    def __init__(self, decoder: Decoder, orientation: str = "auto",
                 stillness: StillnessParams = StillnessParams(), use_mag: bool = False,
                 smoothing: OneEuroParams = OneEuroParams(),
                 drift: DriftParams = DriftParams()) -> None:
        self.decoder = decoder
        self.timebase = Timebase.for_decoder(decoder)
        self.orientation_mode = orientation
        self.use_mag = use_mag
        self.orientation: VqfOrientation | DeviceOrientation | None = None
        self.stillness = StillnessDetector(stillness)
        self.calibration: HeadCalibration | None = None
        #: The gyro bias last handed to the fusion, rad/s, shape (3,) (None: never set).
        self.gyr_bias_rad_s: np.ndarray | None = None
        #: Speed baseline: samples spanning SPEED_BASELINE_S (see angular_speed_deg_s).
        self.speed_lag = max(1, round(self.SPEED_BASELINE_S * decoder.nominal_rate_hz))
        self._tail_q = np.zeros((0, 4))
        self._tail_t = np.zeros(0)
        self.gap_count = 0
        #: Names the protocols found when the stream's bytes hold no valid frame.
        self.no_frame_watch = NoFrameWatch(decoder.name)
        self.smoother = OneEuroFilter(smoothing)
        self._drift_params = drift
        #: Heading drift monitor, set when the orientation is device-fused.
        self.drift_monitor: HeadingDriftMonitor | None = None

    def _orientation_for(self, batch: SampleBatch):
        has_raw = batch.gyr_rad_s is not None and batch.acc_m_s2 is not None
        if self.orientation_mode == "fusion" or (self.orientation_mode == "auto" and has_raw):
            return VqfOrientation(self.decoder.nominal_rate_hz, use_mag=self.use_mag)
        return DeviceOrientation()

    @property
    def heading_drift_deg_min(self) -> float:
        """Measured heading drift of device-fused orientation, deg/min (NaN: not yet known
        or not applicable)."""
        return self.drift_monitor.rate_deg_min if self.drift_monitor is not None else float("nan")

    def set_gyro_bias(self, gyr_bias_rad_s) -> None:
        """Seed the fusion's gyro bias (rest calibration); no effect on device quaternions."""
        self.gyr_bias_rad_s = np.array(gyr_bias_rad_s, dtype=np.float64)
        if isinstance(self.orientation, VqfOrientation):
            self.orientation.set_bias(gyr_bias_rad_s)

    def process(self, items) -> PoseBatch:
        """Process transport items (Chunk and Gap, in arrival order) into poses.

        At a gap, samples a decoder still holds back are finished, its partial frame is
        dropped, and the timebase is told, after the samples before the gap were timed.
        """
        from cervitrack.signal.samples import concat

        gaps = []
        pending: list[Chunk] = []
        timed = []
        for item in items:
            if isinstance(item, Gap):
                before = [self.decoder.feed_chunks(pending)] if pending else []
                before.append(self.decoder.finish(item.t_host_s))
                pending = []
                segment = concat(before)
                if len(segment):
                    timed.append(self.timebase.process(segment))
                self.decoder.flush()
                self.timebase.mark_gap()
                gaps.append(item)
                self.gap_count += 1
            else:
                pending.append(item)
        if pending:
            segment = self.decoder.feed_chunks(pending)
            if len(segment):
                timed.append(self.timebase.process(segment))
        samples = concat(timed)
        if self.no_frame_watch is not None:
            self.no_frame_watch.see(b"".join(c.data for c in items if isinstance(c, Chunk)),
                                    len(samples))
        return self.process_samples(samples, gaps, timed=True)

    @property
    def no_frame_warning(self) -> str | None:
        """"no valid frame in N bytes: is this a X device?" once a stream delivered
        :data:`~cervitrack.firmware_bridge.sniff.NO_FRAME_WARN_BYTES` bytes and no sample."""
        return None if self.no_frame_watch is None else self.no_frame_watch.message

    def process_samples(self, raw: SampleBatch, gaps=(), timed: bool = False) -> PoseBatch:
        """Process decoded samples (untimed unless ``timed``); used by :meth:`process` and by
        file replays."""
        samples = raw if timed or not len(raw) else self.timebase.process(raw)
        if len(samples) and self.orientation is None:
            self.orientation = self._orientation_for(samples)
            if isinstance(self.orientation, DeviceOrientation):
                self.drift_monitor = HeadingDriftMonitor(self._drift_params)
        q_ws = (self.orientation.process(samples) if len(samples) and self.orientation is not None
                else np.zeros((0, 4)))
        t = samples.t_s
        if len(samples):
            tt = np.concatenate([self._tail_t, t])
            qq = np.concatenate([self._tail_q, q_ws])
            speed = kinematics.angular_speed_deg_s(tt, qq, self.speed_lag)[len(self._tail_t):]
            self._tail_t, self._tail_q = tt[-self.speed_lag:], qq[-self.speed_lag:]
        else:
            speed = np.zeros(0)
        st = self.stillness.update(t, speed)
        if self.drift_monitor is not None and len(t):
            self.drift_monitor.update(
                t, q_ws, st["smoothed_deg_s"] < self.drift_monitor.params.max_speed_deg_s)
        q_nh = angles = smoothed = None
        if self.calibration is not None and len(q_ws):
            q_nh = self.calibration.neutral_head(q_ws)
            angles = kinematics.head_angles_deg(q_nh)
            stacked = np.column_stack([angles["axial"], angles["flexion"], angles["lateral"]])
            sm = self.smoother.update(t, stacked)
            smoothed = {"axial": sm[:, 0], "flexion": sm[:, 1], "lateral": sm[:, 2]}
        return PoseBatch(samples, q_ws, speed, st["smoothed_deg_s"], st["still"],
                         st["still_since_t_s"], q_nh, tuple(gaps), angles, smoothed)


class NonFiniteResult(ValueError):
    """The processing gave a non-finite number (a finite but extreme input, such as a gyro
    reading of 1e300 rad/s, overflows): never returned as NaN output.

    Attributes:
        index: the first input sample (row, from 0) whose result is not finite.
    """

    def __init__(self, index: int, what: str) -> None:
        self.index = index
        super().__init__(f"the {what} is not finite from this sample on (an input value too "
                         "large to process?)")


def _first_non_finite(x: np.ndarray) -> int | None:
    bad = ~np.isfinite(np.asarray(x, dtype=np.float64).reshape(len(x), -1)).all(axis=1)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


@dataclass(frozen=True)
class RecordingResult:
    """The offline chain's output for a whole recording (see :func:`process_recording`).

    Attributes:
        q_world_sensor: (N, 4) sensor→world orientation, scalar first.
        speed_deg_s: (N,) angular speed, deg/s; ``still`` (N,) bool below the stillness
            threshold (causal detector, as live).
        gyr_bias_rad_s: (3,) the bias used, or None (VQF's own estimation then).
        q_neutral_head: (N, 4) head pose relative to the captured neutral, or None without a
            calibration; ``neutral``: the :class:`~cervitrack.calibration.neutral.Neutral`.
        angles_deg: dict of (N,) ``axial``, ``flexion``, ``lateral``, ``global``, or None.
        smoothed_angles_deg: the three components zero-phase low-passed (``cutoff_hz``), or None.
    """

    q_world_sensor: np.ndarray
    speed_deg_s: np.ndarray
    still: np.ndarray
    gyr_bias_rad_s: np.ndarray | None
    q_neutral_head: np.ndarray | None = None
    neutral: object = None
    angles_deg: dict | None = None
    smoothed_angles_deg: dict | None = None


#: Zero-phase low-pass cutoff for offline head angles, Hz: head movements in the tests are
#: below 2-3 Hz (minimum-jerk turns of 0.5-2 s); 8-12 Hz tremor and sensor noise are removed.
OFFLINE_SMOOTHING_HZ = 5.0


def process_recording(t_s, gyr_rad_s, acc_m_s2, mag_uT=None, calibration: HeadCalibration | None = None,
                      causal: bool = False, stillness: StillnessParams = StillnessParams(),
                      smoothing_hz: float = OFFLINE_SMOOTHING_HZ) -> RecordingResult:
    """The offline chain over a whole raw recording, every step on whole arrays.

    Gyro bias: the calibration's, else from the recording's rest windows
    (:func:`~cervitrack.calibration.rest.rest_bias_from_raw`), with the head profile; neither
    → VQF's defaults with its own bias estimation. Orientation: :func:`fuse_offline`
    (``offlineVQF``, or causal ``VQF.updateBatch`` with ``causal``), gyro scaled by the true
    per-sample period. Angular speed over 50 ms and the stillness detector as live. With a
    calibration: the neutral is captured from the first settled window
    (:func:`~cervitrack.calibration.neutral.capture_neutral`; ValueError when there is none),
    then head angles and their zero-phase smoothed version.
    """
    from cervitrack.calibration.neutral import capture_neutral
    from cervitrack.calibration.rest import rest_bias_from_raw
    from cervitrack.signal.orientation import HEAD_VQF_PARAMS, fuse_offline
    from cervitrack.signal.smoothing import zero_phase_lowpass

    t = np.asarray(t_s, dtype=np.float64)
    gyr = np.asarray(gyr_rad_s, dtype=np.float64)
    acc = np.asarray(acc_m_s2, dtype=np.float64)
    rate_hz = 1.0 / float(np.median(np.diff(t)))
    bias = None if calibration is None else calibration.gyr_bias_rad_s
    with np.errstate(all="ignore"):  # extreme inputs are caught below, by their results
        if bias is None:
            bias, _ = rest_bias_from_raw(t, gyr, acc)
        if bias is not None and not np.all(np.isfinite(bias)):
            bias = None
        params = HEAD_VQF_PARAMS if bias is not None else {}
        q = fuse_offline(t, gyr, acc, mag_uT, rate_hz=rate_hz, params=params, gyr_bias_rad_s=bias,
                         causal=causal)
    bad = _first_non_finite(q)
    if bad is not None:
        raise NonFiniteResult(bad, "orientation")
    lag = max(1, round(Pipeline.SPEED_BASELINE_S * rate_hz))
    speed = kinematics.angular_speed_deg_s(t, q, lag)
    st = StillnessDetector(stillness).update(t, speed)
    if calibration is None:
        return RecordingResult(q, speed, st["still"], bias)
    settled = np.flatnonzero(st["settled"])
    if settled.size == 0:
        raise ValueError(f"no settled still window ({stillness.settle_s:g} s below "
                         f"{stillness.speed_threshold_deg_s:g} deg/s) to capture the neutral posture")
    end = int(settled[0])
    start = int(np.searchsorted(t, st["still_since_t_s"][end]))
    neutral = capture_neutral(q[start:end + 1], calibration.q_sensor_head)
    cal = HeadCalibration(calibration.q_sensor_head, neutral.q_world_neutral)
    q_nh = cal.neutral_head(q)
    angles = kinematics.head_angles_deg(q_nh)
    bad = _first_non_finite(np.column_stack([angles[k] for k in ("axial", "flexion", "lateral")]))
    if bad is not None:
        raise NonFiniteResult(bad, "head angle")
    smoothed = None
    if smoothing_hz and len(t) > 12:
        stacked = np.column_stack([angles["axial"], angles["flexion"], angles["lateral"]])
        sm = zero_phase_lowpass(stacked, rate_hz, min(smoothing_hz, 0.45 * rate_hz))
        smoothed = {"axial": sm[:, 0], "flexion": sm[:, 1], "lateral": sm[:, 2]}
    return RecordingResult(q, speed, st["still"], bias, q_nh, neutral, angles, smoothed)
