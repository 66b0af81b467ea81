"""Magnetometer hard- and soft-iron calibration by ellipsoid fit.

Model: a reading is ``m = A · h + b`` where ``h`` is the local field in sensor axes (constant
magnitude ‖h‖ = F while the sensor is turned around), ``b`` the hard-iron offset (magnets and
magnetised parts moving with the sensor: headphone drivers, clips) and ``A`` the soft-iron and
scale distortion. Readings from many orientations lie on the ellipsoid
(m − b)ᵀ M (m − b) = 1 with M = (A Aᵀ)⁻¹ / F².

The fit is the linear least-squares fit of a general quadric
a·x² + b·y² + c·z² + 2d·xy + 2e·xz + 2f·yz + 2g·x + 2h·y + 2i·z = 1 (e.g. Li & Griffiths 2004,
"Least squares ellipsoid specific fitting"; without their constraint, which is not needed for
a well-spread data set): the centre is the hard-iron offset and the symmetric square root of
the shape matrix, scaled to the field strength, is the soft-iron correction ``W``:
``h_est = W · (m − b)`` with ‖h_est‖ = F. ``W`` is symmetric, so it fixes distortion and scale
but not a rotation of the magnetometer axes (unobservable from magnitudes alone).

Needs readings over a wide range of orientations (turn the headset slowly through all
directions); :attr:`MagCalibration.coverage` says how well the sphere was covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg


@dataclass(frozen=True)
class MagCalibration:
    """Attributes:
        hard_iron_uT: (3,) offset b, µT, sensor frame.
        soft_iron: (3, 3) symmetric correction W (h = W (m − b)).
        field_uT: fitted field strength F, µT.
        residual_rms: RMS of (‖h_est‖ − F) / F over the fitted readings (0 for a perfect fit).
        coverage: share of 26 evenly spread directions that had a reading within 30°, 0-1.
    """

    hard_iron_uT: np.ndarray
    soft_iron: np.ndarray
    field_uT: float
    residual_rms: float
    coverage: float

    def apply(self, mag_uT) -> np.ndarray:
        """Corrected readings (…, 3), µT."""
        m = np.asarray(mag_uT, dtype=np.float64)
        return (m - self.hard_iron_uT) @ self.soft_iron.T

    def to_dict(self) -> dict:
        return {"hard_iron_uT": self.hard_iron_uT.tolist(), "soft_iron": self.soft_iron.tolist(),
                "field_uT": self.field_uT, "residual_rms": self.residual_rms, "coverage": self.coverage}

    @classmethod
    def from_dict(cls, data: dict) -> MagCalibration:
        return cls(np.asarray(data["hard_iron_uT"], float), np.asarray(data["soft_iron"], float),
                   float(data["field_uT"]), float(data["residual_rms"]), float(data["coverage"]))


def _coverage(directions: np.ndarray) -> float:
    grid = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                     if (i, j, k) != (0, 0, 0)], dtype=np.float64)
    grid /= np.linalg.norm(grid, axis=1, keepdims=True)
    hit = (directions @ grid.T).max(axis=0) >= np.cos(np.radians(30.0))
    return float(hit.mean())


def fit_ellipsoid(mag_uT, field_uT: float | None = None) -> MagCalibration:
    """Hard- and soft-iron calibration from readings (N, 3), µT, at many orientations.

    Args:
        mag_uT: (N, 3) raw readings, sensor frame; N ≥ 9 (in practice hundreds).
        field_uT: the local field strength, µT, if known; default: the geometric mean radius
            of the fitted ellipsoid (preserves the readings' average scale).

    Raises:
        ValueError: too few readings, or readings that do not determine an ellipsoid (the
            sensor was not turned through enough orientations).
    """
    m = np.asarray(mag_uT, dtype=np.float64).reshape(-1, 3)
    m = m[np.all(np.isfinite(m), axis=1)]
    if len(m) < 9:
        raise ValueError(f"an ellipsoid fit needs at least 9 readings, got {len(m)}")
    # Centre the data for conditioning.
    mu = m.mean(axis=0)
    scale = float(np.sqrt(np.mean(np.sum((m - mu) ** 2, axis=1)))) or 1.0
    x, y, z = ((m - mu) / scale).T
    design = np.column_stack([x * x, y * y, z * z, 2 * x * y, 2 * x * z, 2 * y * z, 2 * x, 2 * y, 2 * z])
    coef, *_ = np.linalg.lstsq(design, np.ones(len(m)), rcond=None)
    a, b, c, d, e, f, g, h, i = coef
    q = np.array([[a, d, e], [d, b, f], [e, f, c]])
    lin = np.array([g, h, i])
    eig = np.linalg.eigvalsh(q)
    if not eig.min() > 1e-6 * abs(eig).max():
        raise ValueError("the readings do not lie on an ellipsoid: turn the sensor through more orientations")
    centre = -np.linalg.solve(q, lin)
    k = 1.0 + centre @ q @ centre  # (u − c)ᵀ Q (u − c) = k
    if k <= 0:
        raise ValueError("the readings do not lie on an ellipsoid: turn the sensor through more orientations")
    shape = q / k / scale**2  # in µT: (m − b)ᵀ shape (m − b) = 1
    hard = mu + scale * centre
    radius = float(np.prod(np.linalg.eigvalsh(shape)) ** (-1.0 / 6.0))
    field = radius if field_uT is None else float(field_uT)
    soft = np.real(linalg.sqrtm(shape)) * field
    soft = 0.5 * (soft + soft.T)
    corrected = (m - hard) @ soft.T
    norms = np.linalg.norm(corrected, axis=1)
    residual = float(np.sqrt(np.mean((norms / field - 1.0) ** 2)))
    return MagCalibration(hard, soft, field, residual, _coverage(corrected / norms[:, None]))
