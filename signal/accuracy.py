"""Orientation accuracy metrics, exactly as the BROAD benchmark defines them.

Source: the README of tests/data/broad ("Error metrics"), after Laidig et al. 2021,
"BROAD—A Benchmark for Robust Inertial Orientation Estimation", Data 6(7):72,
doi:10.3390/data6070072. All quaternions are (N, 4) scalar first, sensor→world; angles in
degrees. ``q_est`` is the filter output, ``q_ref`` the optical truth (NaN rows where it is
missing), ``movement`` (N,) bool the samples to score.

- Earth-frame error e = q_est ⊗ q_ref⁻¹; total 2·acos|e_w|, heading 2·atan|e_z / e_w|,
  inclination 2·acos √(e_w² + e_z²); RMSE over valid movement samples.
- 6D: one constant heading offset δ (circular mean of the signed heading error
  d = 2·atan2(e_z·sign(e_w), |e_w|) over valid movement samples) is removed first:
  q_z(−δ) ⊗ q_est.
- Relative orientation over Δt: pairs (i, i + lag), i on a step = round(0.5·fs) grid,
  lag = round(Δt·fs), both samples in movement with finite truth; error
  2·acos(|⟨r_est, r_ref⟩| / (‖r_est‖·‖r_ref‖)) with r = q(i)⁻¹ ⊗ q(i + lag).
"""

from __future__ import annotations

import numpy as np

from cervitrack.signal import quaternion as quat


def _unit(q):
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _acos_deg(x):
    return np.degrees(2.0 * np.arccos(np.clip(x, -1.0, 1.0)))


def _valid(q_ref, movement):
    return np.asarray(movement, dtype=bool) & np.all(np.isfinite(q_ref), axis=1)


def remove_heading_offset(q_est, q_ref, movement) -> tuple[np.ndarray, float]:
    """The 6D correction: (q_z(−δ) ⊗ q_est, δ in deg)."""
    q_est, q_ref = _unit(q_est), _unit(q_ref)
    ok = _valid(q_ref, movement)
    e = quat.multiply(q_est[ok], quat.conjugate(q_ref[ok]))
    d = 2.0 * np.arctan2(e[:, 3] * np.sign(e[:, 0]), np.abs(e[:, 0]))
    delta = float(np.arctan2(np.sin(d).mean(), np.cos(d).mean()))
    q_fix = quat.from_axis_angle([0.0, 0.0, 1.0], -delta)
    return quat.multiply(q_fix, q_est), float(np.degrees(delta))


def absolute_rmse_deg(q_est, q_ref, movement, remove_heading: bool) -> dict:
    """RMSE (deg) of the total, heading and inclination error over valid movement samples.

    ``remove_heading``: True for 6D (the constant heading offset is removed first).
    Returns ``total``, ``heading``, ``inclination`` and ``heading_offset_deg`` (0 for 9D).
    """
    q_est, q_ref = _unit(q_est), _unit(q_ref)
    delta = 0.0
    if remove_heading:
        q_est, delta = remove_heading_offset(q_est, q_ref, movement)
    ok = _valid(q_ref, movement)
    e = quat.multiply(q_est[ok], quat.conjugate(q_ref[ok]))
    w, z = e[:, 0], e[:, 3]
    total = _acos_deg(np.abs(w))
    heading = np.degrees(2.0 * np.arctan(np.abs(z / w)))
    incl = _acos_deg(np.sqrt(w**2 + z**2))

    def rms(x):
        return float(np.sqrt(np.mean(x**2)))

    return {"total": rms(total), "heading": rms(heading), "inclination": rms(incl),
            "heading_offset_deg": delta}


def relative_error_deg(q_est, q_ref, movement, rate_hz: float, window_s: float) -> dict:
    """Relative-orientation error over ``window_s``: ``rms``, ``median``, ``p95`` (deg), ``n``."""
    q_est, q_ref = _unit(q_est), _unit(q_ref)
    n = len(q_est)
    step = int(round(0.5 * rate_hz))
    lag = int(round(window_s * rate_hz))
    i = np.arange(0, n - lag, step)
    ok = _valid(q_ref, movement)
    i = i[ok[i] & ok[i + lag]]
    r_est = quat.multiply(quat.conjugate(q_est[i]), q_est[i + lag])
    r_ref = quat.multiply(quat.conjugate(q_ref[i]), q_ref[i + lag])
    dot = np.abs(np.sum(r_est * r_ref, axis=1))
    dot /= np.linalg.norm(r_est, axis=1) * np.linalg.norm(r_ref, axis=1)
    err = _acos_deg(dot)
    return {"rms": float(np.sqrt(np.mean(err**2))), "median": float(np.median(err)),
            "p95": float(np.percentile(err, 95)), "n": int(len(err))}
