"""Quaternion helpers, scalar first ``[w, x, y, z]``, Hamilton product.

This module is the only boundary between Cervitrack's scalar-first quaternions and
:class:`scipy.spatial.transform.Rotation`, which is scalar last. Arrays have shape (4,) or
(N, 4). Frame names follow ``q_a_b``: the rotation that maps b-frame coordinates to a-frame
coordinates, so ``q_a_c = multiply(q_a_b, q_b_c)``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

IDENTITY_WXYZ = np.array([1.0, 0.0, 0.0, 0.0])


def to_rotation(quat_wxyz) -> Rotation:
    """scipy Rotation from scalar-first quaternion(s) of shape (4,) or (N, 4)."""
    q = np.asarray(quat_wxyz, dtype=np.float64)
    return Rotation.from_quat(q[..., [1, 2, 3, 0]])


def from_rotation(rotation: Rotation) -> np.ndarray:
    """Scalar-first quaternion(s) from a scipy Rotation, with w >= 0."""
    q = rotation.as_quat()[..., [3, 0, 1, 2]]
    return positive_w(q)


def positive_w(quat_wxyz) -> np.ndarray:
    """The same rotations with w >= 0 (q and -q are the same rotation)."""
    q = np.array(quat_wxyz, dtype=np.float64)
    sign = np.where(q[..., :1] < 0, -1.0, 1.0)
    return q * sign


def normalize(quat_wxyz) -> np.ndarray:
    q = np.asarray(quat_wxyz, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def conjugate(quat_wxyz) -> np.ndarray:
    """Inverse of unit quaternion(s): q_b_a from q_a_b."""
    q = np.array(quat_wxyz, dtype=np.float64)
    q[..., 1:] *= -1.0
    return q


def _product_matrix() -> np.ndarray:
    """(4, 16) T with (q1 ⊗ q2)_i = Σ_jk T[i, 4j + k] q1_j q2_k (Hamilton, scalar first)."""
    t = np.zeros((4, 4, 4))
    for i, j, k, sign in [
        (0, 0, 0, 1), (0, 1, 1, -1), (0, 2, 2, -1), (0, 3, 3, -1),
        (1, 0, 1, 1), (1, 1, 0, 1), (1, 2, 3, 1), (1, 3, 2, -1),
        (2, 0, 2, 1), (2, 1, 3, -1), (2, 2, 0, 1), (2, 3, 1, 1),
        (3, 0, 3, 1), (3, 1, 2, 1), (3, 2, 1, -1), (3, 3, 0, 1),
    ]:
        t[i, j, k] = sign
    return t.reshape(4, 16)


_PRODUCT_T = np.ascontiguousarray(_product_matrix().T)  # (16, 4)
#: Rows per matrix product: BLAS multithreads larger skinny products, which on a busy machine
#: made a (500 000, 4) @ (4, 4) product 20 times slower than single-threaded blocks.
_BLOCK_ROWS = 4096
#: Batches up to this many quaternions take the matrix form of the product.
_SMALL_BATCH = 64


def _rows_matmul(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """a (…, K) @ m (K, J), in blocks of rows for large batches."""
    if a.ndim != 2 or len(a) <= _BLOCK_ROWS:
        return a @ m
    out = np.empty((len(a), m.shape[1]))
    for i in range(0, len(a), _BLOCK_ROWS):
        np.matmul(a[i:i + _BLOCK_ROWS], m, out=out[i:i + _BLOCK_ROWS])
    return out


def multiply(q1_wxyz, q2_wxyz) -> np.ndarray:
    """Hamilton product q1 ⊗ q2, broadcasting over leading axes.

    Small batches (a live chunk of a few samples, dominated by per-call overhead) use the
    outer product of the two quaternions times a fixed (16, 4) matrix: two array operations.
    Large batches use the component formula, which streams through memory once.
    """
    a = np.asarray(q1_wxyz, dtype=np.float64)
    b = np.asarray(q2_wxyz, dtype=np.float64)
    shape = np.broadcast_shapes(a.shape, b.shape)
    if len(shape) <= 1 or shape[0] <= _SMALL_BATCH:
        outer = a[..., :, None] * b[..., None, :]
        return outer.reshape(outer.shape[:-2] + (16,)) @ _PRODUCT_T
    w1, x1, y1, z1 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    w2, x2, y2, z2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(shape)
    out[..., 0] = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
    out[..., 1] = w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2
    out[..., 2] = w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2
    out[..., 3] = w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2
    return out


def _left(q):
    w, x, y, z = q
    return np.array([[w, -x, -y, -z], [x, w, -z, y], [y, z, w, -x], [z, -y, x, w]])


def _right(q):
    w, x, y, z = q
    return np.array([[w, -x, -y, -z], [x, w, z, -y], [y, -z, w, x], [z, y, -x, w]])


def apply_sandwich(quat_wxyz, matrix) -> np.ndarray:
    """p @ M for quaternions p (…, 4) and a :func:`sandwich_matrix` M."""
    return _rows_matmul(np.asarray(quat_wxyz, dtype=np.float64), matrix)


def sandwich_matrix(q_left_wxyz, q_right_wxyz) -> np.ndarray:
    """(4, 4) M with q_left ⊗ p ⊗ q_right = p @ M for p of shape (…, 4): a fixed pair of
    frame changes applied to a whole batch with one matrix product."""
    return (_left(np.asarray(q_left_wxyz, dtype=np.float64))
            @ _right(np.asarray(q_right_wxyz, dtype=np.float64))).T


def relative(q_ref_wxyz, q_wxyz) -> np.ndarray:
    """q_ref⁻¹ ⊗ q: the rotation from the reference to q, in the reference's own axes."""
    return multiply(conjugate(q_ref_wxyz), q_wxyz)


def rotate(quat_wxyz, vectors) -> np.ndarray:
    """Rotate vectors (3,) or (N, 3) by q: v' = q ⊗ v ⊗ q*."""
    return to_rotation(quat_wxyz).apply(vectors)


def angle_deg(quat_wxyz) -> np.ndarray:
    """Rotation angle in degrees, 2·atan2(|v|, |w|), in [0, 180]."""
    q = np.asarray(quat_wxyz, dtype=np.float64)
    return np.degrees(2.0 * np.arctan2(np.linalg.norm(q[..., 1:], axis=-1), np.abs(q[..., 0])))


def from_rotvec(rotvec_rad) -> np.ndarray:
    """Quaternion(s) from rotation vector(s) θ·n in rad."""
    return from_rotation(Rotation.from_rotvec(np.asarray(rotvec_rad, dtype=np.float64)))


def to_rotvec(quat_wxyz) -> np.ndarray:
    """Rotation vector(s) θ·n in rad, θ in [0, π]."""
    return to_rotation(quat_wxyz).as_rotvec()


def from_axis_angle(axis, angle_rad) -> np.ndarray:
    """Quaternion(s) for rotations by angle_rad (scalar or (N,)) about a unit axis (3,)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)
    return np.concatenate([np.cos(half)[..., None], np.sin(half)[..., None] * axis], axis=-1)


def sign_align(quat_wxyz, reference_wxyz=None) -> np.ndarray:
    """Flip the sign of each quaternion so it lies in the hemisphere of the reference.

    The reference defaults to the first quaternion. Needed before averaging.
    """
    q = np.array(quat_wxyz, dtype=np.float64).reshape(-1, 4)
    ref = q[0] if reference_wxyz is None else np.asarray(reference_wxyz, dtype=np.float64)
    return np.where((q @ ref)[:, None] < 0, -q, q)


def mean(quat_wxyz, weights=None) -> np.ndarray:
    """Mean rotation of (N, 4) quaternions (Markley's eigenvector method, via scipy).

    Uses :meth:`scipy.spatial.transform.Rotation.mean`, the chordal L2 mean; for the small
    spread of a held posture it equals the sign-aligned normalised arithmetic mean.
    """
    q = np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4)
    if q.shape[0] == 0:
        raise ValueError("cannot average an empty set of quaternions")
    return from_rotation(to_rotation(q).mean(weights=weights))


def slerp(t_s, quat_wxyz, t_new_s) -> np.ndarray:
    """Spherical linear interpolation of (N, 4) quaternions at times t_s onto t_new_s."""
    from scipy.spatial.transform import Slerp

    t_s = np.asarray(t_s, dtype=np.float64)
    t_new = np.clip(np.asarray(t_new_s, dtype=np.float64), t_s[0], t_s[-1])
    return from_rotation(Slerp(t_s, to_rotation(quat_wxyz))(t_new))
