"""Head kinematics relative to neutral: anatomical angles, global angle, laser point, speed.

Frames (docs/architecture.md): the head frame is x anterior, y left, z superior ("ALS").
``q_neutral_head`` (N, 4) is the head's rotation relative to its neutral posture, in head axes.

Decomposition: intrinsic Z-X-Y on head axes: axial rotation about z first, then lateral
flexion about the rotated x, then flexion/extension about the twice-rotated y. This is the ISB
spine sequence with axial rotation first (Y-X-Z on ISB axes: Y superior, X anterior, Z right;
Xu et al. 2015, see Wu et al. 2002, J Biomech 35:543–548 (ISB); Xu et al. 2015). Signs:

- ``axial_deg`` > 0: rotation to the left.
- ``lateral_deg`` > 0: lateral flexion to the right (right ear towards the right shoulder).
- ``flexion_deg`` > 0: flexion (chin down); < 0: extension.

The global angle is the sequence-free geodesic angle 2·atan2(|v|, |w|).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.signal import quaternion as quat

#: scipy's intrinsic sequence for (axial about z, lateral about x, flexion about y).
SEQUENCE = "ZXY"
COMPONENTS = ("axial", "flexion", "lateral")


def head_angles_deg(q_neutral_head) -> dict[str, np.ndarray]:
    """Anatomical angles of head pose(s) relative to neutral.

    Args:
        q_neutral_head: (4,) or (N, 4) head rotation relative to neutral, scalar first.

    Returns:
        dict with ``axial``, ``flexion``, ``lateral`` and ``global`` angles in degrees, each a
        scalar or (N,) array. Signs as in the module docstring.
    """
    q = np.asarray(q_neutral_head, dtype=np.float64)
    if q.ndim == 2 and len(q) <= _SCALAR_MAX:
        return _head_angles_scalar(q)
    else:
        # Contiguous components (strided column views are several times slower on long arrays).
        w, x, y, z = np.ascontiguousarray(np.moveaxis(q, -1, 0))
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    norm2 = ww + xx + yy + zz
    # Closed form of scipy's as_euler("ZXY") (R = Rz(a)·Rx(b)·Ry(c)) in terms homogeneous in q
    # (no normalisation needed), without the per-call overhead of building a Rotation:
    # R21 = sin b, tan a = −R01/R11, tan c = −R20/R22. Equal to scipy away from gimbal lock
    # (lateral ±90°, far outside any neck's range).
    x_lateral = np.degrees(np.arcsin(np.clip(2.0 * (y * z + w * x) / norm2, -1.0, 1.0)))
    z_axial = np.degrees(np.arctan2(2.0 * (w * z - x * y), ww - xx + yy - zz))
    y_flexion = np.degrees(np.arctan2(2.0 * (w * y - x * z), ww - xx - yy + zz))
    # Right-hand rotation about +x (anterior) lowers the right ear: positive = right.
    return {
        "axial": z_axial,
        "flexion": y_flexion,
        "lateral": x_lateral,
        "global": np.degrees(2.0 * np.arctan2(np.sqrt(xx + yy + zz), np.abs(w))),
    }


#: Batches up to this many poses (a live chunk) take the plain-float path.
_SCALAR_MAX = 16


def _head_angles_scalar(q: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`head_angles_deg` for a few poses with plain floats (same formulas)."""
    deg = 180.0 / math.pi
    out: dict[str, list[float]] = {"axial": [], "flexion": [], "lateral": [], "global": []}
    for w, x, y, z in q.tolist():
        ww, xx, yy, zz = w * w, x * x, y * y, z * z
        s = 2.0 * (y * z + w * x) / (ww + xx + yy + zz)
        out["lateral"].append(deg * math.asin(min(1.0, max(-1.0, s))))
        out["axial"].append(deg * math.atan2(2.0 * (w * z - x * y), ww - xx + yy - zz))
        out["flexion"].append(deg * math.atan2(2.0 * (w * y - x * z), ww - xx - yy + zz))
        out["global"].append(deg * 2.0 * math.atan2(math.sqrt(xx + yy + zz), abs(w)))
    return {k: np.array(v) for k, v in out.items()}


def _angular_speed_scalar(t: list, q: list, lag: int) -> np.ndarray:
    """:func:`angular_speed_deg_s` for a few samples with plain floats (same formulas)."""
    speed = []
    for i in range(lag, len(t)):
        a, b = q[i - lag], q[i]
        dot = abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
        step = math.degrees(2.0 * math.atan2(math.sqrt(max(1.0 - dot * dot, 0.0)), dot))
        dt = t[i] - t[i - lag]
        speed.append(step / dt if dt > 0 else math.nan)
    return np.array([speed[0]] * lag + speed)


def pose_from_angles_deg(axial_deg, flexion_deg, lateral_deg) -> np.ndarray:
    """Inverse of :func:`head_angles_deg`: q_neutral_head (…, 4) from anatomical angles (deg)."""
    angles = np.stack(np.broadcast_arrays(
        np.asarray(axial_deg, float), np.asarray(lateral_deg, float),
        np.asarray(flexion_deg, float)), axis=-1)
    return quat.from_rotation(Rotation.from_euler(SEQUENCE, angles, degrees=True))


def rotvec_deg(q_neutral_head) -> np.ndarray:
    """Rotation vector θ·n in degrees on head axes (x anterior, y left, z superior), (…, 3)."""
    return np.degrees(quat.to_rotvec(q_neutral_head))


def anterior_axis(q_neutral_head) -> np.ndarray:
    """The head's anterior (x) axis in neutral axes: R(q)·[1, 0, 0], the first column of the
    rotation matrix, as a (3, N) array (components fx, fy, fz).

    Closed form, homogeneous in q (no normalisation needed):
    [w² + x² − y² − z², 2(xy + wz), 2(xz − wy)] / |q|². It replaces
    ``quat.rotate(q, [1, 0, 0])`` on the live path, where building a scipy Rotation for a
    chunk of 4-8 samples cost ~70 µs of the ~110 µs of this function (cProfile of the
    400 Hz live chain); tests check it against scipy.

    Args:
        q_neutral_head: (4,) or (N, 4) head rotation relative to neutral, scalar first.
    """
    q = np.atleast_2d(np.asarray(q_neutral_head, dtype=np.float64))
    w, x, y, z = q.T
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    return np.stack([ww + xx - yy - zz, 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)]) / (ww + xx + yy + zz)


def laser_point(q_neutral_head, distance_cm: float = 90.0) -> dict[str, np.ndarray]:
    """Where a head-fixed laser along the anterior axis hits a wall facing the neutral head.

    The wall is perpendicular to the neutral anterior axis at ``distance_cm``. Wall axes as the
    patient sees them: ``x_cm`` positive to the patient's left, ``y_cm`` positive up.
    Degrees are the visual angles atan(x/D) and atan(y/D). Points where the laser does not hit
    the wall (pointing 90° or more away) are NaN.

    Returns:
        dict with ``x_cm``, ``y_cm``, ``x_deg``, ``y_deg`` and ``pointing_deg`` (angle between the
        neutral and current anterior axes, blind to roll about that axis).
    """
    fx, fy, fz = anterior_axis(q_neutral_head)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(fx > 1e-9, distance_cm / fx, np.nan)
    x_cm, y_cm = fy * scale, fz * scale
    out = {
        "x_cm": x_cm,
        "y_cm": y_cm,
        "x_deg": np.degrees(np.arctan2(x_cm, distance_cm)),
        "y_deg": np.degrees(np.arctan2(y_cm, distance_cm)),
        "pointing_deg": np.degrees(np.arccos(np.clip(fx, -1.0, 1.0))),
    }
    if np.ndim(q_neutral_head) == 1:
        out = {k: v[0] for k, v in out.items()}
    return out


def cm_to_deg(distance_on_wall_cm, wall_distance_cm: float = 90.0):
    """Visual angle θ = atan(d / D) in degrees (laser geometry, d = D·tan θ)."""
    return np.degrees(np.arctan2(distance_on_wall_cm, wall_distance_cm))


def deg_to_cm(angle_deg, wall_distance_cm: float = 90.0):
    """Wall displacement d = D·tan θ in cm (laser geometry, d = D·tan θ)."""
    return wall_distance_cm * np.tan(np.radians(angle_deg))


def angular_speed_deg_s(t_s, quat_wxyz, lag: int = 1) -> np.ndarray:
    """Angular speed (N,) in deg/s from an orientation series (any fixed frame pair).

    Quaternions must be unit length (as fusion outputs are). The speed at sample i is the
    angle between samples i-lag and i divided by their time difference; the first ``lag`` samples repeat the first computed value. A lag spanning
    ~50 ms keeps sensor noise (which grows as 1/baseline) well below head-movement speeds.
    NaN where the time difference is not positive.
    """
    t = np.asarray(t_s, dtype=np.float64)
    q = np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4)
    lag = max(1, int(lag))
    if len(t) <= lag:
        return np.zeros(len(t))
    # Angle between unit quaternions a and b: |w| of a⁻¹ ⊗ b is |a · b| and the vector part's
    # norm is sqrt(1 − (a · b)²), so no product is needed (one dot product per sample).
    if len(t) - lag <= _SCALAR_MAX:
        return _angular_speed_scalar(t.tolist(), q.tolist(), lag)
    dot = np.abs((q[:-lag] * q[lag:]).sum(axis=1))
    step_deg = np.degrees(2.0 * np.arctan2(np.sqrt(np.maximum(1.0 - dot * dot, 0.0)), dot))
    dt = t[lag:] - t[:-lag]
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, step_deg / dt, np.nan)
    return np.concatenate([np.full(lag, speed[0]), speed])
