"""Unit and rotation conversions shared by the decoders.

Euler angles become quaternions by composing the three elementary rotations as Hamilton
products in numpy, scalar first. This is exactly scipy's
``Rotation.from_euler(seq, angles, degrees=True)`` (with scalar-last ``[x, y, z, w]`` converted
to ``quat_wxyz``); the tests check the equality for every sequence the decoders use. scipy is not
called here because its ``from_euler`` costs about 3 µs per row (scipy 1.17), more than the rest
of a decoder's work per frame.
"""

from __future__ import annotations

import numpy as np

#: Standard gravity, m/s² per g.
G_M_S2 = 9.80665
DEG_TO_RAD = np.pi / 180.0


def euler_deg_to_quat_wxyz(seq: str, angles_deg: np.ndarray) -> np.ndarray:
    """Quaternions (N, 4) scalar first from Euler angles (N, 3) in degrees.

    Args:
        seq: scipy sequence string; upper case is intrinsic (e.g. ``"ZYX"``: rotate about z by
            the first angle, then about the new y by the second, then about the newest x by the
            third); lower case is extrinsic, as in scipy.
        angles_deg: (N, 3) angles in the order of ``seq``, degrees. Rows with a non-finite
            angle give a NaN quaternion.

    Returns:
        float64 (N, 4) ``[w, x, y, z]``, w >= 0, sensor→world for a device whose Euler angles
        describe the sensor frame in its world frame.
    """
    angles = np.asarray(angles_deg, dtype=np.float64).reshape(-1, 3)
    # cos and sin of the three half angles in one cos call: sin(x) = cos(x - pi/2).
    cs = np.cos(angles[:, _SIX] * (np.pi / 360.0) - _PHASE)
    terms = np.multiply.reduce(cs[:, _TERMS].reshape(-1, 3, 8), axis=1)
    q = np.dot(terms, _euler_basis(seq))
    q *= np.copysign(1.0, q[:, :1])
    return q


_SIX = np.array([0, 1, 2, 0, 1, 2])
_PHASE = np.array([0.0, 0.0, 0.0, np.pi / 2, np.pi / 2, np.pi / 2])
#: Column k of (3, 8): for product term ``combo``, cos (k) or sin (3 + k) of half angle k.
_TERMS = np.array([[k + 3 * ((combo >> (2 - k)) & 1) for combo in range(8)]
                   for k in range(3)]).reshape(-1)


_BASES: dict[str, np.ndarray] = {}


def _euler_basis(seq: str) -> np.ndarray:
    """(8, 4) matrix M with ``q = T @ M`` for the 8 products T of cos/sin of the half angles.

    ``q = e0(a0) ⊗ e1(a1) ⊗ e2(a2)`` with ``e_k(a) = cos(a/2) + sin(a/2)·axis_k`` is
    multilinear in the (cos, sin) pairs, so each product of one factor per angle contributes a fixed
    quaternion: the Hamilton product of 1 (for cos) or the unit axis (for sin). Extrinsic
    (lower case) sequences compose in the opposite order.
    """
    if seq in _BASES:
        return _BASES[seq]
    if len(seq) != 3 or not (seq.isupper() or seq.islower()) or set(seq.upper()) - set("XYZ"):
        raise ValueError(f"Euler sequence must be three of x, y, z, got {seq!r}")
    basis = np.zeros((8, 4))
    for combo in range(8):
        bits = ((combo >> 2) & 1, (combo >> 1) & 1, combo & 1)  # sin chosen for angle k
        factors = []
        for k in range(3):
            e = np.zeros((1, 4))
            if bits[k]:
                e[0, 1 + "XYZ".index(seq[k].upper())] = 1.0
            else:
                e[0, 0] = 1.0
            factors.append(e)
        if seq.islower():
            factors.reverse()
        basis[combo] = quat_multiply(quat_multiply(factors[0], factors[1]), factors[2])[0]
    _BASES[seq] = basis
    return basis


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product ``p ⊗ q`` of (N, 4) scalar-first quaternions."""
    pw, px, py, pz = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    qw, qx, qy, qz = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([
        pw * qw - px * qx - py * qy - pz * qz,
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
    ], axis=1)


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


def quat_wxyz_to_euler_deg(seq: str, quat_wxyz) -> np.ndarray:
    """Euler angles (N, 3) in degrees, in the order of ``seq``: the inverse of
    :func:`euler_deg_to_quat_wxyz` (the encoders of the emulated devices use it).

    The middle angle lies in [-90°, 90°] for a sequence like ``"ZYX"`` (scipy's convention), which
    is the range every device here sends. scipy is used (through the scalar-first boundary of
    :mod:`cervitrack.signal.quaternion`): encoding is not on the decoding hot path.
    """
    from typing import Any, cast

    from cervitrack.signal.quaternion import to_rotation

    q = np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4)
    # scipy's stubs want a literal sequence; ``seq`` is one of them at every call site.
    return to_rotation(q).as_euler(cast(Any, seq), degrees=True)
