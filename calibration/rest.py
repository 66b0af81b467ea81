"""What a still window tells: gyro bias, gravity direction in the sensor frame, neutral.

Inputs are samples from a window during which the head was settled (see
:mod:`cervitrack.signal.stillness`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.signal import quaternion as quat

#: A rest window whose gyro standard deviation exceeds this was not still enough for a bias.
#: Physiological tremor alone gives about 1 deg/s at 8-12 Hz, which averages out over the window.
MAX_REST_GYRO_SD_DEG_S = 3.0


@dataclass(frozen=True)
class RestEstimate:
    """Attributes:
        gyr_bias_rad_s: (3,) mean gyro reading at rest, sensor frame, rad/s (None without gyro).
        gyr_sd_deg_s: (3,) standard deviation of the gyro at rest, deg/s (None without gyro).
        up_sensor: (3,) unit vector of world up (z) in sensor coordinates.
        q_world_sensor: (4,) mean sensor orientation over the window.
        duration_s: window length, s.
    """

    gyr_bias_rad_s: np.ndarray | None
    gyr_sd_deg_s: np.ndarray | None
    up_sensor: np.ndarray
    q_world_sensor: np.ndarray
    duration_s: float

    @property
    def bias_usable(self) -> bool:
        return self.gyr_sd_deg_s is not None and bool(np.all(self.gyr_sd_deg_s < MAX_REST_GYRO_SD_DEG_S))


def estimate_rest(t_s, q_world_sensor, gyr_rad_s=None, acc_m_s2=None) -> RestEstimate:
    """Summarise a still window.

    Args:
        t_s: (N,) sample times, s.
        q_world_sensor: (N, 4) sensor orientation, scalar first, world z up.
        gyr_rad_s: (N, 3) raw gyro in the sensor frame, rad/s, or None.
        acc_m_s2: (N, 3) raw accelerometer, sensor frame, or None. When given, up is the mean
            specific force's direction (exact at rest up to the accelerometer's bias, and
            independent of the fusion's state); otherwise the fusion's up.
    """
    q_mean = quat.mean(q_world_sensor)
    up = quat.rotate(quat.conjugate(q_mean), np.array([0.0, 0.0, 1.0]))
    if acc_m_s2 is not None and len(acc_m_s2):
        acc = np.asarray(acc_m_s2, dtype=np.float64)
        acc = acc[np.all(np.isfinite(acc), axis=1)]
        if len(acc):
            up = acc.mean(axis=0)
    bias = sd = None
    if gyr_rad_s is not None and len(gyr_rad_s):
        gyr = np.asarray(gyr_rad_s, dtype=np.float64)
        bias = gyr.mean(axis=0)
        sd = np.degrees(gyr.std(axis=0))
    t = np.asarray(t_s, dtype=np.float64)
    return RestEstimate(bias, sd, up / np.linalg.norm(up), q_mean, float(t[-1] - t[0]) if len(t) else 0.0)


class GyroBiasAverager:
    """Running gyro bias from several rest windows.

    A head is never perfectly still: its slow postural sway adds a random angular rate to the
    mean gyro reading of any window, an error that scales as 1/duration (the sway's angle
    change over the window divided by its length). Each window's estimate therefore counts
    with weight duration², and windows are averaged.

    With accelerometer samples the horizontal part of the bias is measured rather than
    averaged: the tilt change over the window seen by the accelerometer (gravity direction in
    the first and last quarter of the window; an accelerometer bias cancels) is subtracted from
    the gyro's integrated rotation over the same interval, so sway about horizontal axes no
    longer enters the bias; what is left is accelerometer noise, which falls as duration^-1.5
    (weight duration³). The vertical part (unobservable by the accelerometer) remains the mean
    gyro reading along gravity. Windows are assumed to be taken near the same posture (the
    split into vertical and horizontal parts is each window's own).
    """

    def __init__(self) -> None:
        self._sum_v = np.zeros(3)
        self._w_v = 0.0
        self._sum_h = np.zeros(3)
        self._w_h = 0.0
        self._weight_s = 0.0

    #: Windows whose smoothed angular speed exceeds this somewhere are not used: the tail of a
    #: movement would bias the mean (tremor and sway stay well below it).
    MAX_SPEED_DEG_S = 1.5

    def add(self, gyr_rad_s, duration_s: float, speed_deg_s=None, acc_m_s2=None) -> bool:
        """Add a window's gyro samples (N, 3), rad/s, sensor frame; NaN rows are ignored.

        ``speed_deg_s`` (N,): the smoothed angular speed over the window, if known.
        ``acc_m_s2`` (N, 3): the accelerometer over the same samples, if known (refines the
        horizontal part, see the class docstring). Returns whether the window was used.
        """
        if speed_deg_s is not None and len(speed_deg_s) and np.nanmax(speed_deg_s) > self.MAX_SPEED_DEG_S:
            return False
        gyr = np.asarray(gyr_rad_s, dtype=np.float64)
        ok = np.all(np.isfinite(gyr), axis=1)
        acc = None
        if acc_m_s2 is not None:
            acc = np.asarray(acc_m_s2, dtype=np.float64)
            ok &= np.all(np.isfinite(acc), axis=1)
            acc = acc[ok]
        gyr = gyr[ok]
        if len(gyr) < 8 or duration_s <= 0:
            return False
        if np.degrees(gyr.std(axis=0)).max() >= MAX_REST_GYRO_SD_DEG_S:
            return False
        mean = gyr.mean(axis=0)
        w2 = duration_s**2
        if acc is None:
            self._sum_v += w2 * mean
            self._w_v += w2
        else:
            n = len(gyr)
            dt = duration_s / (n - 1)
            quarter = max(n // 4, 1)
            up0 = acc[:quarter].mean(axis=0)
            up1 = acc[-quarter:].mean(axis=0)
            up0 /= np.linalg.norm(up0)
            up1 /= np.linalg.norm(up1)
            c0, c1 = quarter // 2, n - 1 - quarter // 2
            span_s = (c1 - c0) * dt
            # Sensor rotation θ over the span: the gravity direction moves by u1 − u0 = u0 × θ,
            # so the horizontal part of θ is (u1 − u0) × u0.
            tilt_rad = np.cross(up1 - up0, up0)
            rate_h = gyr[c0:c1].sum(axis=0) * dt / span_s
            rate_h -= (rate_h @ up0) * up0
            self._sum_h += duration_s**3 * (rate_h - tilt_rad / span_s)
            self._w_h += duration_s**3
            self._sum_v += w2 * (mean @ up0) * up0
            self._w_v += w2
        self._weight_s += duration_s
        return True

    @property
    def total_s(self) -> float:
        return self._weight_s

    @property
    def bias_rad_s(self) -> np.ndarray | None:
        """The current estimate (3,), rad/s, or None before any window."""
        if self._w_v == 0:
            return None
        bias = self._sum_v / self._w_v
        if self._w_h > 0:
            bias = bias + self._sum_h / self._w_h
        return bias

#: Rest detection in raw data, after VQF's own rest detector (restMinT 1.5 s, restThGyr 2 deg/s,
#: restThAcc 0.5 m/s²; Laidig & Seel 2023, Information Fusion 91:187–204), applied to non-overlapping windows: the RMS
#: deviation of the gyro (deg/s) and accelerometer (m/s²) from their window means must stay
#: below these, and the window's mean rate below MAX_BIAS_DEG_S (no trimmed MEMS gyro has a
#: larger zero-rate offset; a slow steady turn is not a rest).
REST_WINDOW_S = 1.5
REST_GYR_DEV_DEG_S = 2.0
REST_ACC_DEV_M_S2 = 0.5
MAX_BIAS_DEG_S = 5.0


def rest_bias_from_raw(t_s, gyr_rad_s, acc_m_s2) -> tuple[np.ndarray | None, float]:
    """Gyro bias from the rest periods of a raw recording (no orientation needed).

    The recording is cut into non-overlapping ``REST_WINDOW_S`` windows; windows that pass the
    rest test above give their mean gyro reading, and the bias is the per-axis median of those
    means (robust to a window that caught a slow drift of the head).

    Args:
        t_s: (N,) sample times, s, increasing.
        gyr_rad_s, acc_m_s2: (N, 3), sensor frame.

    Returns:
        (bias (3,) rad/s or None when no rest window was found, total rest time in s).
    """
    t = np.asarray(t_s, dtype=np.float64)
    gyr = np.asarray(gyr_rad_s, dtype=np.float64)
    acc = np.asarray(acc_m_s2, dtype=np.float64)
    if len(t) < 3:
        return None, 0.0
    n_win = int((t[-1] - t[0]) // REST_WINDOW_S) + 1
    starts = np.searchsorted(t, t[0] + REST_WINDOW_S * np.arange(n_win))
    counts = np.diff(np.append(starts, len(t))).astype(np.float64)
    keep = counts > 0
    starts, counts = starts[keep], counts[keep]

    def mean_and_dev(x):
        # Window sums with one reduceat each (windows are contiguous runs of samples).
        sums = np.add.reduceat(x, starts, axis=0)
        sq = np.add.reduceat(np.einsum("ij,ij->i", x, x), starts)
        mean = sums / counts[:, None]
        dev = np.sqrt(np.maximum(sq / counts - (mean**2).sum(axis=1), 0.0))
        return mean, dev

    g_mean, g_dev = mean_and_dev(gyr)
    _, a_dev = mean_and_dev(acc)
    period = float(np.median(np.diff(t)))
    full = counts >= 0.8 * REST_WINDOW_S / period
    rest = (full & (np.degrees(g_dev) < REST_GYR_DEV_DEG_S) & (a_dev < REST_ACC_DEV_M_S2)
            & (np.degrees(np.linalg.norm(g_mean, axis=1)) < MAX_BIAS_DEG_S))
    if not rest.any():
        return None, 0.0
    return np.median(g_mean[rest], axis=0), float(rest.sum() * REST_WINDOW_S)
