"""Do a sensor's orientation, accelerometer and gyro agree? Pure numpy, no I/O.

Two checks (the ones tests/test_real_captures.py runs on real devices):

- **At rest**, the specific force the orientation predicts in the sensor frame,
  ``R_world_sensorᵀ · [0, 0, 1]`` (world z up), against the accelerometer: the **gravity angle**
  in degrees. Real devices with the right conventions agree within 0.35° (WitMotion WTGAHRS2
  0.083°, WT901BLE 0.28°, BNO08x RVC 0.057°, Movella DOT median 0.081°); a wrong Euler order,
  a reversed heading sign or a mirrored axis is tens of degrees off (the BNO08x datasheet frame
  read Z-Y-X: 30.7°).
- **In motion**, the body-frame increments of the orientation, ``rotvec(R_kᵀ · R_k+1) / dt``,
  against the mean gyro of the two samples: the **direction error** in degrees and the **ratio
  of the norms**. Real devices: median 1.2° (Movella DOT) to 4.7° (WitMotion WT901SD), ratio
  1.0005; a gyro in °/s read as rad/s gives a ratio of 0.017, a reversed yaw 123°.

:func:`diagnose` tries the usual faults (a mirrored axis, the Euler order, the heading sign,
gyro units) and names the one that makes the three agree.

Frames: ``quat_wxyz`` is sensor→world (scalar first); ``acc_m_s2`` and ``gyr_rad_s`` are in the
sensor frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cervitrack.signal import quaternion as quat

#: Gravity angle at rest above which orientation and accelerometer disagree, deg. A Cervitrack
#: design bound: 14x the worst real device above (0.35°), a sixth of the smallest wrong
#: convention seen (30.7°).
MAX_GRAVITY_ANGLE_DEG = 5.0
#: Median direction error between orientation increments and gyro above which they disagree,
#: deg (design bound: 3x the worst real device, 4.7°; wrong conventions are 31° or more).
MAX_GYRO_DIRECTION_DEG = 15.0
#: Median norm ratio (orientation increment / gyro) outside this range: the gyro's scale or
#: units are wrong (deg/s read as rad/s gives 0.017; rad/s read as deg/s 57).
GYRO_RATIO_RANGE = (0.8, 1.25)
#: Gyro samples slower than this are left out of the motion check, deg/s (noise dominates).
MIN_MOTION_RATE_DEG_S = 30.0


def gravity_angle_deg(quat_wxyz, acc_m_s2) -> np.ndarray:
    """(N,) angle between the accelerometer and the specific force the orientation predicts,
    deg (``quat_wxyz`` sensor→world, ``acc_m_s2`` sensor frame)."""
    up_sensor = quat.to_rotation(np.atleast_2d(quat_wxyz)).inv().apply([0.0, 0.0, 1.0])
    a = np.atleast_2d(np.asarray(acc_m_s2, dtype=np.float64))
    cos = np.sum(up_sensor * a, axis=1) / np.linalg.norm(a, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def gyro_agreement(quat_wxyz, gyr_rad_s, t_s,
                   min_rate_deg_s: float = MIN_MOTION_RATE_DEG_S) -> tuple[np.ndarray, np.ndarray]:
    """Direction error (deg) and norm ratio of the orientation's body-frame increments per
    second against the mean gyro of each pair of consecutive samples, for the pairs whose gyro
    exceeds ``min_rate_deg_s``. ``t_s`` (N,) sample times, s."""
    q = np.atleast_2d(np.asarray(quat_wxyz, dtype=np.float64))
    g = np.atleast_2d(np.asarray(gyr_rad_s, dtype=np.float64))
    dt_s = np.diff(np.asarray(t_s, dtype=np.float64))
    rot = quat.to_rotation(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = (rot[:-1].inv() * rot[1:]).as_rotvec() / np.where(dt_s > 0, dt_s, np.nan)[:, None]
    mean_g = 0.5 * (g[:-1] + g[1:])
    sel = (np.linalg.norm(mean_g, axis=1) > np.radians(min_rate_deg_s)) & (dt_s > 0)
    sel &= np.all(np.isfinite(inc), axis=1) & np.all(np.isfinite(mean_g), axis=1)
    inc, mean_g = inc[sel], mean_g[sel]
    norm_inc = np.linalg.norm(inc, axis=1)
    norm_g = np.linalg.norm(mean_g, axis=1)
    cos = np.sum(inc * mean_g, axis=1) / np.maximum(norm_inc * norm_g, 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), norm_inc / norm_g


def same_rotation_deg(quat1_wxyz, quat2_wxyz) -> np.ndarray:
    """(N,) angle between two orientations, deg (q and −q are the same rotation)."""
    dot = np.abs(np.sum(np.atleast_2d(quat1_wxyz) * np.atleast_2d(quat2_wxyz), axis=1))
    return np.degrees(2 * np.arccos(np.clip(dot, 0.0, 1.0)))


@dataclass(frozen=True)
class Agreement:
    """How far orientation, accelerometer and gyro are apart (NaN: not measured)."""

    gravity_angle_deg: float = float("nan")
    gyro_direction_deg: float = float("nan")
    gyro_ratio: float = float("nan")

    @property
    def ok(self) -> bool:
        bad_rest = self.gravity_angle_deg > MAX_GRAVITY_ANGLE_DEG
        bad_dir = self.gyro_direction_deg > MAX_GYRO_DIRECTION_DEG
        lo, hi = GYRO_RATIO_RANGE
        bad_ratio = np.isfinite(self.gyro_ratio) and not lo <= self.gyro_ratio <= hi
        return not (bad_rest or bad_dir or bad_ratio)

    @property
    def score(self) -> float:
        """One figure to rank candidate fixes: the worst excess over the bounds (lower is
        better, <= 0 when they agree)."""
        parts = [0.0 if not np.isfinite(self.gravity_angle_deg)
                 else self.gravity_angle_deg / MAX_GRAVITY_ANGLE_DEG - 1,
                 0.0 if not np.isfinite(self.gyro_direction_deg)
                 else self.gyro_direction_deg / MAX_GYRO_DIRECTION_DEG - 1]
        if np.isfinite(self.gyro_ratio):
            parts.append(abs(np.log(self.gyro_ratio)) / np.log(GYRO_RATIO_RANGE[1]) - 1)
        return float(max(parts))


def agreement(rest_quat_wxyz=None, rest_acc_m_s2=None, motion_quat_wxyz=None,
              motion_gyr_rad_s=None, motion_t_s=None) -> Agreement:
    """Median gravity angle at rest and median gyro direction error and ratio in motion."""
    grav = np.nan
    if rest_quat_wxyz is not None and rest_acc_m_s2 is not None and len(rest_quat_wxyz):
        ok = np.all(np.isfinite(rest_acc_m_s2), axis=1) & np.all(np.isfinite(rest_quat_wxyz), axis=1)
        if ok.any():
            grav = float(np.median(gravity_angle_deg(np.asarray(rest_quat_wxyz)[ok],
                                                     np.asarray(rest_acc_m_s2)[ok])))
    direction = ratio = np.nan
    if motion_quat_wxyz is not None and motion_gyr_rad_s is not None and len(motion_quat_wxyz) > 2:
        err, r = gyro_agreement(motion_quat_wxyz, motion_gyr_rad_s, motion_t_s)
        if err.size >= 3:
            direction, ratio = float(np.median(err)), float(np.median(r))
    return Agreement(grav, direction, ratio)


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` found: the agreement as received, and the fix that makes the
    sensor agree with itself (None when it already does, or when no known fix does)."""

    as_received: Agreement
    fix: str | None = None
    fixed: Agreement | None = None
    tried: dict = field(default_factory=dict)

    def message(self) -> str:
        """Plain words for the person setting the sensor up."""
        a = self.as_received
        if a.ok:
            return "orientation, accelerometer and gyro agree"
        parts = []
        if a.gravity_angle_deg > MAX_GRAVITY_ANGLE_DEG:
            parts.append(f"this sensor's orientation and its accelerometer disagree by "
                         f"{a.gravity_angle_deg:.0f}°")
        if a.gyro_direction_deg > MAX_GYRO_DIRECTION_DEG:
            parts.append(f"its orientation turns {a.gyro_direction_deg:.0f}° away from what "
                         "its gyro says")
        lo, hi = GYRO_RATIO_RANGE
        if np.isfinite(a.gyro_ratio) and not lo <= a.gyro_ratio <= hi:
            parts.append(f"its orientation turns {a.gyro_ratio:.3g} times as fast as its gyro says")
        head = "; ".join(parts)
        if self.fix is None:
            return f"{head}: wrong protocol or firmware setting?"
        return f"{head}: {FIXES[self.fix]}"


def _mirror(axis: int):
    def f(q, acc, gyr):
        s = np.ones(3)
        s[axis] = -1.0
        return q, None if acc is None else acc * s, None if gyr is None else gyr * s
    return f


def _euler_xyz(q, acc, gyr):
    """The orientation's Z-Y-X Euler angles recomposed X-Y-Z (the other common order)."""
    rot = quat.to_rotation(q)
    yaw, pitch, roll = rot.as_euler("ZYX").T
    from scipy.spatial.transform import Rotation

    return quat.from_rotation(Rotation.from_euler("XYZ", np.column_stack([roll, pitch, yaw]))), acc, gyr


def _euler_zyx(q, acc, gyr):
    """The orientation's X-Y-Z Euler angles recomposed Z-Y-X (the reverse mistake)."""
    rot = quat.to_rotation(q)
    roll, pitch, yaw = rot.as_euler("XYZ").T
    from scipy.spatial.transform import Rotation

    return quat.from_rotation(Rotation.from_euler("ZYX", np.column_stack([yaw, pitch, roll]))), acc, gyr


def _yaw_negated(q, acc, gyr):
    rot = quat.to_rotation(q)
    yaw, pitch, roll = rot.as_euler("ZYX").T
    from scipy.spatial.transform import Rotation

    return quat.from_rotation(Rotation.from_euler("ZYX", np.column_stack([-yaw, pitch, roll]))), acc, gyr


def _gyro_scale(factor: float):
    def f(q, acc, gyr):
        return q, acc, None if gyr is None else gyr * factor
    return f


#: Candidate fault → what to tell the person. Each candidate is applied to the data as a
#: correction; the one that makes the sensor agree with itself names the fault.
FIXES = {
    "mirror_x": "its x axis is mirrored (accelerometer and gyro against the orientation): "
                "check the axis or mounting setting, or read its frames with the right protocol",
    "mirror_y": "its y axis is mirrored (accelerometer and gyro against the orientation): "
                "check the axis or mounting setting, or read its frames with the right protocol",
    "mirror_z": "its z axis is mirrored (accelerometer and gyro against the orientation): "
                "check the axis or mounting setting, or read its frames with the right protocol",
    "euler_xyz": "its Euler angles are composed in the wrong order (X-Y-Z fits, Z-Y-X was used): "
                 "wrong protocol or Euler setting?",
    "euler_zyx": "its Euler angles are composed in the wrong order (Z-Y-X fits, X-Y-Z was used): "
                 "wrong protocol or Euler setting?",
    "gyro_reversed": "its gyro turns the opposite way to its orientation on every axis: a "
                     "mirrored (left-handed) axis setting, or the wrong protocol?",
    "yaw_negated": "its heading turns the wrong way (the yaw sign is reversed): wrong protocol "
                   "or firmware setting?",
    "gyro_deg_s": "its gyro reads in degrees per second where radians were expected: wrong "
                  "protocol or gyro units setting?",
    "gyro_rad_s": "its gyro reads in radians per second where degrees were expected: wrong "
                  "protocol or gyro units setting?",
}
_CANDIDATES = {
    "mirror_x": _mirror(0), "mirror_y": _mirror(1), "mirror_z": _mirror(2),
    "euler_xyz": _euler_xyz, "euler_zyx": _euler_zyx,
    "gyro_reversed": _gyro_scale(-1.0), "yaw_negated": _yaw_negated,
    "gyro_deg_s": _gyro_scale(np.pi / 180.0), "gyro_rad_s": _gyro_scale(180.0 / np.pi),
}


def diagnose(rest_quat_wxyz, rest_acc_m_s2, motion_quat_wxyz, motion_gyr_rad_s,
             motion_t_s) -> Diagnosis:
    """Agreement as received and, when it fails, the known fault whose correction makes the
    orientation, accelerometer and gyro agree (the best-scoring one that passes)."""
    def acc_of(x):
        return None if x is None else np.asarray(x, dtype=np.float64)

    base = agreement(rest_quat_wxyz, rest_acc_m_s2, motion_quat_wxyz, motion_gyr_rad_s, motion_t_s)
    if base.ok:
        return Diagnosis(base)
    tried = {}
    for name, fix in _CANDIDATES.items():
        rq, ra, _ = (fix(np.asarray(rest_quat_wxyz), acc_of(rest_acc_m_s2), None)
                     if rest_quat_wxyz is not None else (None, None, None))
        mq, _, mg = (fix(np.asarray(motion_quat_wxyz), None, acc_of(motion_gyr_rad_s))
                     if motion_quat_wxyz is not None else (None, None, None))
        tried[name] = agreement(rq, ra, mq, mg, motion_t_s)
    def measured(a: Agreement) -> tuple[bool, bool]:
        return bool(np.isfinite(a.gravity_angle_deg)), bool(np.isfinite(a.gyro_direction_deg))

    # A correction counts only if it is judged on the same checks (scaling a gyro down below
    # the motion threshold must not pass by leaving nothing to compare).
    passing = {k: v for k, v in tried.items() if v.ok and measured(v) == measured(base)}
    if not passing:
        return Diagnosis(base, tried=tried)
    # Near-equal fits (a pure turn is fixed by reversing the heading or the whole gyro alike)
    # go to the candidate listed first: the more general fault.
    order = list(_CANDIDATES)
    best = min(passing, key=lambda k: (round(passing[k].score, 1), order.index(k)))
    return Diagnosis(base, best, passing[best], tried)
