"""Movement-sense tracking scores (Butterfly-style): AA, time on target, undershoot, overshoot.

Definitions (a Cervitrack definition after Kristjansson & Gíslason 2023, Austin J Musculoskelet Disord 10(1):1063, a Cervitrack design proposal for
the published wording of Kristjansson & Gíslason 2023, Austin J Musculoskelet Disord 10(1):1063; docs/clinical-tests.md gives them with examples). Positions are
2D points in **degrees of visual angle** on the virtual wall (x positive to the person's left,
y up, as :func:`cervitrack.signal.kinematics.laser_point`); for samples i = 1..N:

- e_i = cursor_i − target_i (deg, 2D);
- AA = (1/N) Σ ‖e_i‖ (deg), the amplitude accuracy ("deviation");
- on target when ‖e_i‖ ≤ r (the target radius, deg); ToT = 100 · #on / N (%);
- an off-target sample is **behind** the target (undershoot) when e_i · û_i ≤ 0 and **ahead**
  of it (overshoot) when e_i · û_i > 0, with û_i the unit target velocity; US and OS are their
  shares of all samples in %, so ToT + US + OS = 100 exactly. (A sample exactly level with the
  target, e·û = 0, or with a still target, ‖v‖ = 0, counts as behind: both are measure-zero
  events for a moving target.)

Research extras: the normalised jerk of the cursor path (dimensionless,
sqrt(½ ∫‖d³p/dt³‖² dt · T⁵ / L²), Teulings et al. 1997), and the path-length ratio (cursor path
length / target path length, the cursor path smoothed over 0.25 s; 1 for a perfect follower,
> 1 for a wobbly one).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter


def tracking_scores(cursor_deg, target_deg, target_velocity_deg_s, radius_deg: float) -> dict:
    """AA, ToT, US and OS of one tracking repetition.

    Args:
        cursor_deg: (N, 2) cursor positions, deg of visual angle.
        target_deg: (N, 2) target positions at the same sample times, deg.
        target_velocity_deg_s: (N, 2) target velocity at those times, deg/s.
        radius_deg: on-target radius r, deg (> 0).

    Returns:
        dict with ``n``, ``aa_deg``, ``time_on_target_pct``, ``undershoot_pct``,
        ``overshoot_pct`` (NaN when N = 0).
    """
    c = np.asarray(cursor_deg, dtype=np.float64).reshape(-1, 2)
    p = np.asarray(target_deg, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(target_velocity_deg_s, dtype=np.float64).reshape(-1, 2)
    if not radius_deg > 0:
        raise ValueError(f"radius_deg must be positive, got {radius_deg!r}")
    n = len(c)
    if n == 0:
        return {"n": 0, "aa_deg": np.nan, "time_on_target_pct": np.nan,
                "undershoot_pct": np.nan, "overshoot_pct": np.nan}
    e = c - p
    dist = np.linalg.norm(e, axis=1)
    on = dist <= radius_deg
    speed = np.linalg.norm(v, axis=1)
    along = np.einsum("ij,ij->i", e, v)  # e·v has the sign of e·û where ‖v‖ > 0
    ahead = ~on & (speed > 0) & (along > 0)
    behind = ~on & ~ahead
    return {
        "n": int(n),
        "aa_deg": float(dist.mean()),
        "time_on_target_pct": 100.0 * float(on.sum()) / n,
        "undershoot_pct": 100.0 * float(behind.sum()) / n,
        "overshoot_pct": 100.0 * float(ahead.sum()) / n,
    }


def path_length_deg(points_deg) -> float:
    """Length of a sampled 2D path (N, 2), deg."""
    p = np.asarray(points_deg, dtype=np.float64).reshape(-1, 2)
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) if len(p) > 1 else 0.0


def path_length_ratio(cursor_deg, target_deg) -> float:
    """Cursor path length / target path length (NaN if the target did not move)."""
    lt = path_length_deg(target_deg)
    return path_length_deg(cursor_deg) / lt if lt > 0 else np.nan


def normalised_jerk(t_s, points_deg, window_s: float = 0.25) -> float:
    """Dimensionless jerk sqrt(½ ∫‖d³p/dt³‖² dt · T⁵ / L²) of a 2D path.

    The third derivative and the path length L come from a cubic Savitzky-Golay filter over
    ``window_s`` (at least 5 samples), which suppresses sensor noise; the samples should be
    uniformly spaced.

    Args:
        t_s: (N,) sample times, s.
        points_deg: (N, 2) positions, deg.

    Returns:
        The normalised jerk (NaN for fewer than 7 samples or a path of zero length).
    """
    t = np.asarray(t_s, dtype=np.float64)
    p = np.asarray(points_deg, dtype=np.float64).reshape(-1, 2)
    if len(t) < 7:
        return np.nan
    dt = float(np.median(np.diff(t)))
    window = max(5, int(round(window_s / dt)) | 1)
    window = min(window, len(t) - (1 - len(t) % 2))
    if window < 5:
        return np.nan
    jerk = savgol_filter(p, window, 3, deriv=3, delta=dt, axis=0)
    duration = float(t[-1] - t[0])
    length = path_length_deg(savgol_filter(p, window, 3, axis=0))
    if length <= 0 or duration <= 0:
        return np.nan
    integral = float(np.sum(np.sum(jerk**2, axis=1)) * dt)
    return float(np.sqrt(0.5 * integral * duration**5 / length**2))


def smoothed_path(t_s, points_deg, window_s: float = 0.25) -> np.ndarray:
    """The path (N, 2) through a cubic Savitzky-Golay filter over ``window_s`` (sensor noise
    and tremor would otherwise dominate a sampled path's length); unchanged below 5 samples."""
    t = np.asarray(t_s, dtype=np.float64)
    p = np.asarray(points_deg, dtype=np.float64).reshape(-1, 2)
    if len(t) < 5:
        return p
    dt = float(np.median(np.diff(t)))
    window = min(max(5, int(round(window_s / dt)) | 1), len(t) - (1 - len(t) % 2))
    return savgol_filter(p, window, 3, axis=0) if window >= 5 else p


def research_scores(t_s, cursor_deg, target_deg) -> dict:
    """Extras for research exports: ``normalised_jerk`` and ``path_length_ratio`` (the cursor
    path smoothed as :func:`smoothed_path`, the target path exact)."""
    return {"normalised_jerk": normalised_jerk(t_s, cursor_deg),
            "path_length_ratio": path_length_ratio(smoothed_path(t_s, cursor_deg), target_deg)}
