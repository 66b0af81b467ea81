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


def estimate_rest(t_s, q_world_sensor, gyr_rad_s=None) -> RestEstimate:
    """Summarise a still window.

    Args:
        t_s: (N,) sample times, s.
        q_world_sensor: (N, 4) sensor orientation, scalar first, world z up.
        gyr_rad_s: (N, 3) raw gyro in the sensor frame, rad/s, or None.
    """
    q_mean = quat.mean(q_world_sensor)
    up = quat.rotate(quat.conjugate(q_mean), np.array([0.0, 0.0, 1.0]))
    bias = sd = None
    if gyr_rad_s is not None and len(gyr_rad_s):
        gyr = np.asarray(gyr_rad_s, dtype=np.float64)
        bias = gyr.mean(axis=0)
        sd = np.degrees(gyr.std(axis=0))
    t = np.asarray(t_s, dtype=np.float64)
    return RestEstimate(bias, sd, up / np.linalg.norm(up), q_mean, float(t[-1] - t[0]) if len(t) else 0.0)


class GyroBiasAverager:
    """Running gyro bias from several rest windows, weighted by their duration.

    A head is never perfectly still: its slow postural sway adds a random angular rate of a
    few hundredths of a deg/s to the mean of any one window. Windows are independent, so the
    duration-weighted mean over N windows shrinks that error by about √N.
    """

    def __init__(self) -> None:
        self._sum = np.zeros(3)
        self._weight_s = 0.0

    #: Windows whose smoothed angular speed exceeds this somewhere are not used: the tail of a
    #: movement would bias the mean (tremor and sway stay well below it).
    MAX_SPEED_DEG_S = 1.5

    def add(self, gyr_rad_s, duration_s: float, speed_deg_s=None) -> bool:
        """Add a window's gyro samples (N, 3), rad/s, sensor frame; NaN rows are ignored.

        ``speed_deg_s`` (N,): the smoothed angular speed over the window, if known. Returns
        whether the window was used.
        """
        if speed_deg_s is not None and len(speed_deg_s) and np.nanmax(speed_deg_s) > self.MAX_SPEED_DEG_S:
            return False
        gyr = np.asarray(gyr_rad_s, dtype=np.float64)
        gyr = gyr[np.all(np.isfinite(gyr), axis=1)]
        if len(gyr) == 0 or duration_s <= 0:
            return False
        if np.degrees(gyr.std(axis=0)).max() >= MAX_REST_GYRO_SD_DEG_S:
            return False
        self._sum += gyr.mean(axis=0) * duration_s
        self._weight_s += duration_s
        return True

    @property
    def total_s(self) -> float:
        return self._weight_s

    @property
    def bias_rad_s(self) -> np.ndarray | None:
        """The current estimate (3,), rad/s, or None before any window."""
        return None if self._weight_s == 0 else self._sum / self._weight_s
