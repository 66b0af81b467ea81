"""Neutral posture capture: the mean head orientation over a still window.

The neutral is the quaternion average (Markley's eigenvector method,
:func:`cervitrack.signal.quaternion.mean`) of ``q_world_head`` over a window in which the head
was settled (:mod:`cervitrack.signal.stillness`). The spread of the window around its mean is
reported: a window that was not still (spread above :data:`MAX_SPREAD_DEG`) is rejected so the
person can be asked to keep still and try again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.signal import quaternion as quat

#: RMS angle of a neutral window around its mean above which it was not still, deg. A settled
#: head sways by a few tenths of a degree; 1.5 deg is a Cervitrack design limit (about a third
#: of the 4.5 deg JPE threshold, Revel et al. 1994, Arch Phys Med Rehabil 75:895–899).
MAX_SPREAD_DEG = 1.5


@dataclass(frozen=True)
class Neutral:
    """Attributes:
        q_world_neutral: (4,) mean head orientation, world frame, scalar first.
        spread_deg: RMS angle of the window's samples around the mean, deg.
        n: samples averaged.
        ok: spread within :data:`MAX_SPREAD_DEG`.
    """

    q_world_neutral: np.ndarray
    spread_deg: float
    n: int
    ok: bool


def capture_neutral(q_world_sensor, q_sensor_head) -> Neutral:
    """Neutral from a still window.

    Args:
        q_world_sensor: (N, 4) sensor orientation over the window.
        q_sensor_head: (4,) head frame in sensor coordinates (the alignment; identity if none).
    """
    q_wh = quat.multiply(np.asarray(q_world_sensor, dtype=np.float64).reshape(-1, 4), q_sensor_head)
    q_wh = q_wh[np.all(np.isfinite(q_wh), axis=1)]
    if len(q_wh) == 0:
        raise ValueError("no valid orientation samples in the neutral window")
    mean = quat.mean(q_wh)
    spread = float(np.sqrt(np.mean(quat.angle_deg(quat.relative(mean, q_wh)) ** 2)))
    return Neutral(mean, spread, len(q_wh), spread <= MAX_SPREAD_DEG)
