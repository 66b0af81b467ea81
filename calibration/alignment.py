"""Functional sensor-to-head alignment from a guided nod and turn.

The head frame is x anterior, y left, z up (docs/architecture.md). With the sensor strapped on
at an unknown orientation, three observations fix the head axes in sensor coordinates:

1. **Up (head z)** from the still neutral window: world up expressed in sensor coordinates.
   At the neutral posture, head z is vertical by definition.
2. **Nod axis (head y)** from the nod: every orientation during a pure flexion/extension is the
   start orientation rotated about one sensor-fixed axis. The principal direction of the
   rotation vectors ``rotvec(q_start⁻¹ ⊗ q(t))`` (sensor coordinates) is that axis; its sign is
   set so that the first excursion (chin down, flexion) is a positive rotation about +y.
3. **Turn axis** from the turn, the same way (first excursion to the left = positive about +z):
   used as a check of the up direction, since axial rotation is about the vertical.

Head y is the nod axis made orthogonal to up; head x = y × z. Quality:

- ``nod_planarity_deg`` / ``turn_planarity_deg``: RMS angle of the movement off its principal
  axis (a pure single-axis movement gives ~0),
- ``orthogonality_deg``: |90° − angle(nod axis, up)|,
- ``turn_tilt_deg``: angle between the turn axis and up,
- ``nod_range_deg`` / ``turn_range_deg``: movement amplitude (too small cannot fix an axis).

:data:`QUALITY_LIMITS` are Cervitrack design limits (no published standard exists): beyond
them the calibration is reported poor and the person is asked to redo it. The score is
100 · (1 − worst ratio), floored at 0, over the ratios of each quality figure to its limit and,
for the ranges, 2 − range / minimum range (0 from twice the minimum on: an axis fitted from a
larger movement is no longer limited by its amplitude; 1 at the minimum).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cervitrack.signal import quaternion as quat

QUALITY_LIMITS = {
    "nod_planarity_deg": 4.0,
    "turn_planarity_deg": 4.0,
    "orthogonality_deg": 12.0,
    "turn_tilt_deg": 15.0,
}
MIN_RANGE_DEG = {"nod_range_deg": 10.0, "turn_range_deg": 15.0}


@dataclass(frozen=True)
class Alignment:
    """Result of a functional calibration.

    Attributes:
        q_sensor_head: (4,) head frame in sensor coordinates (maps head to sensor coordinates),
            so ``q_world_head = q_world_sensor ⊗ q_sensor_head``.
        quality: figures in degrees (see module docstring).
        score: 0-100.
        ok: whether every figure is within its limit.
        problems: plain-language reasons when not ok.
    """

    q_sensor_head: np.ndarray
    quality: dict = field(default_factory=dict)
    score: float = 0.0
    ok: bool = False
    problems: tuple = ()


def movement_axis(q_world_sensor) -> tuple[np.ndarray, float, float]:
    """Principal rotation axis of a single-axis movement, in sensor coordinates.

    Args:
        q_world_sensor: (N, 4) orientations during the movement.

    Returns:
        (unit axis (3,) signed so that the first large excursion is positive, range in deg,
        planarity: RMS off-axis angle in deg).
    """
    q = np.asarray(q_world_sensor, dtype=np.float64)
    rv = quat.to_rotvec(quat.relative(q[0], q))  # sensor coordinates, rad
    _, s, vt = np.linalg.svd(rv, full_matrices=False)
    axis = vt[0]
    along = rv @ axis
    # The first excursion beyond half the maximum decides the sign.
    big = np.flatnonzero(np.abs(along) >= 0.5 * np.abs(along).max())
    if big.size and along[big[0]] < 0:
        axis = -axis
        along = -along
    off = np.linalg.norm(rv - along[:, None] * axis, axis=1)
    planarity = float(np.degrees(np.sqrt(np.mean(off**2))))
    range_deg = float(np.degrees(along.max() - along.min())) if along.size else 0.0
    return axis, range_deg, planarity


def functional_alignment(up_sensor, q_world_sensor_nod, q_world_sensor_turn) -> Alignment:
    """Head axes in sensor coordinates from up, a nod and a turn.

    Args:
        up_sensor: (3,) world up in sensor coordinates at neutral.
        q_world_sensor_nod: (N, 4) orientations during the nod (starting at neutral).
        q_world_sensor_turn: (M, 4) orientations during the turn (starting at neutral).
    """
    z = np.asarray(up_sensor, dtype=np.float64)
    z = z / np.linalg.norm(z)
    nod_axis, nod_range, nod_planarity = movement_axis(q_world_sensor_nod)
    turn_axis, turn_range, turn_planarity = movement_axis(q_world_sensor_turn)
    y = nod_axis - (nod_axis @ z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    matrix = np.column_stack([x, y, z])  # columns: head axes in sensor coordinates
    from scipy.spatial.transform import Rotation

    q_sensor_head = quat.from_rotation(Rotation.from_matrix(matrix))
    quality = {
        "nod_planarity_deg": nod_planarity,
        "turn_planarity_deg": turn_planarity,
        "orthogonality_deg": abs(90.0 - float(np.degrees(np.arccos(np.clip(nod_axis @ z, -1, 1))))),
        "turn_tilt_deg": float(np.degrees(np.arccos(np.clip(turn_axis @ z, -1, 1)))),
        "nod_range_deg": nod_range,
        "turn_range_deg": turn_range,
    }
    problems = []
    ratios = [quality[k] / limit for k, limit in QUALITY_LIMITS.items()]
    for key, limit in MIN_RANGE_DEG.items():
        ratios.append(max(0.0, 2.0 - quality[key] / limit))
    if quality["nod_range_deg"] < MIN_RANGE_DEG["nod_range_deg"]:
        problems.append("The nod was too small: nod further, slowly.")
    if quality["turn_range_deg"] < MIN_RANGE_DEG["turn_range_deg"]:
        problems.append("The turn was too small: turn further, slowly.")
    if quality["nod_planarity_deg"] > QUALITY_LIMITS["nod_planarity_deg"]:
        problems.append("The nod was not a pure nod: keep the head level, move only up and down.")
    if quality["turn_planarity_deg"] > QUALITY_LIMITS["turn_planarity_deg"]:
        problems.append("The turn was not a pure turn: keep the chin level while turning.")
    if quality["orthogonality_deg"] > QUALITY_LIMITS["orthogonality_deg"]:
        problems.append("The nod axis was tilted: sit upright and look straight ahead first.")
    if quality["turn_tilt_deg"] > QUALITY_LIMITS["turn_tilt_deg"]:
        problems.append("The turn axis was tilted: sit upright and turn about the vertical.")
    score = float(max(0.0, 100.0 * (1.0 - max(ratios))))
    return Alignment(q_sensor_head, quality, score, not problems, tuple(problems))
