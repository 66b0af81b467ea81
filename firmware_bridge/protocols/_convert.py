"""Unit and rotation conversions shared by the decoders.

Euler angles become quaternions through scipy's :class:`~scipy.spatial.transform.Rotation`,
which is scalar last ``[x, y, z, w]``; the result is converted to Cervitrack's scalar-first
``quat_wxyz`` here, at the boundary, and nowhere else in the protocol package.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

#: Standard gravity, m/s² per g.
G_M_S2 = 9.80665
DEG_TO_RAD = np.pi / 180.0


def euler_deg_to_quat_wxyz(seq: str, angles_deg: np.ndarray) -> np.ndarray:
    """Quaternions (N, 4) scalar first from Euler angles (N, 3) in degrees.

    Args:
        seq: scipy sequence string; upper case is intrinsic (e.g. ``"ZYX"``: rotate about z by
            the first angle, then about the new y by the second, then about the newest x by the
            third).
        angles_deg: (N, 3) angles in the order of ``seq``, degrees. Rows with a non-finite
            angle give a NaN quaternion.

    Returns:
        float64 (N, 4) ``[w, x, y, z]``, w >= 0, sensor→world for a device whose Euler angles
        describe the sensor frame in its world frame.
    """
    angles = np.asarray(angles_deg, dtype=np.float64).reshape(-1, 3)
    out = np.full((angles.shape[0], 4), np.nan)
    ok = np.all(np.isfinite(angles), axis=1)
    if np.any(ok):
        xyzw = Rotation.from_euler(seq, angles[ok], degrees=True).as_quat()
        wxyz = xyzw[:, [3, 0, 1, 2]]
        wxyz *= np.where(wxyz[:, :1] < 0, -1.0, 1.0)
        out[ok] = wxyz
    return out


def quat_norm_ok(quat: np.ndarray, tolerance: float) -> np.ndarray:
    """Bool (N,): |q| within ``tolerance`` of 1 and all components finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        norm = np.sqrt(np.sum(np.asarray(quat, dtype=np.float64) ** 2, axis=1))
        return np.isfinite(norm) & (np.abs(norm - 1.0) <= tolerance)


def plausible_float(values: np.ndarray, limit: float, tiny: float = 1e-6) -> np.ndarray:
    """Bool mask, same shape: finite, |v| <= ``limit``, and either 0 or |v| >= ``tiny``.

    Random bytes read as IEEE floats are mostly huge or denormal-tiny; rejecting both keeps
    header-less protocols from locking onto garbage.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.abs(np.asarray(values, dtype=np.float64))
        return np.isfinite(a) & (a <= limit) & ((a == 0) | (a >= tiny))
