"""Joint position error scores (Lee et al. 2006, Man Ther 11:61–68; Schmidt & Lee, Motor Control and Learning).

For trials i = 1..n with signed errors e_i (deg):

- CE = (1/n) Σ e_i                       constant error (bias)
- AE = (1/n) Σ |e_i|                     absolute error (accuracy)
- VE = sqrt((1/n) Σ (e_i − CE)²)         variable error, **n denominator**
- RMSE = sqrt((1/n) Σ e_i²)              total error; RMSE² = CE² + VE² exactly

Sign: e_i is the error along the movement's plane projected on the direction of the return
movement: positive = overshoot (past the target), negative = undershoot (stopped short).
The global error is the sequence-free 3D angle of the error rotation; ``global_ae_deg`` is its
mean.

Flags are screening aids, not diagnoses: a direction is flagged when its AE exceeds the
threshold, 4.5° by default (Revel et al. 1994, Arch Phys Med Rehabil 75:895–899; confirmed by
Eur Spine J 2015;24, doi:10.1007/s00586-015-4263-9) or 3.5° in sensitive mode (adolescent
concussion cut-point, Clin J Sport Med 2024, PMID 38953712).
"""

from __future__ import annotations

from typing import Any

import numpy as np

THRESHOLD_DEFAULT_DEG = 4.5
THRESHOLD_SENSITIVE_DEG = 3.5
THRESHOLD_SOURCES = {
    THRESHOLD_DEFAULT_DEG: "Revel et al. 1994, Arch Phys Med Rehabil 75(8):895-899",
    THRESHOLD_SENSITIVE_DEG: "Smulligan et al. 2025, Clin J Sport Med 35(1):23-28, PMID 38953712",
}
VE_DENOMINATOR = "n"


def error_scores(signed_error_deg) -> dict[str, float]:
    """AE, CE, VE (n denominator) and RMSE of signed errors (n,), deg.

    Returns a dict with ``n``, ``ae_deg``, ``ce_deg``, ``ve_deg``, ``rmse_deg`` (NaN when n = 0).
    """
    e = np.asarray(signed_error_deg, dtype=np.float64)
    n = int(e.size)
    if n == 0:
        return {"n": 0, "ae_deg": np.nan, "ce_deg": np.nan, "ve_deg": np.nan, "rmse_deg": np.nan}
    ce = float(e.mean())
    return {
        "n": n,
        "ae_deg": float(np.abs(e).mean()),
        "ce_deg": ce,
        "ve_deg": float(np.sqrt(np.mean((e - ce) ** 2))),
        "rmse_deg": float(np.sqrt(np.mean(e**2))),
    }


def direction_scores(signed_error_deg, global_error_deg) -> dict[str, float]:
    """Scores of one direction: :func:`error_scores` plus ``global_ae_deg``."""
    scores = error_scores(signed_error_deg)
    g = np.asarray(global_error_deg, dtype=np.float64)
    scores["global_ae_deg"] = float(g.mean()) if g.size else np.nan
    return scores


def flag(ae_deg: float, threshold_deg: float = THRESHOLD_DEFAULT_DEG) -> bool:
    """Whether an AE is above the screening threshold."""
    return bool(np.isfinite(ae_deg) and ae_deg > threshold_deg)


def threshold_source(threshold_deg: float) -> str:
    """The published source of a flag threshold, or "user setting" for any other value."""
    return THRESHOLD_SOURCES.get(float(threshold_deg), "user setting")


def threshold_for(mode: str) -> float:
    """The flag threshold of a mode: "default" (4.5°) or "sensitive" (3.5°), deg."""
    modes = {"default": THRESHOLD_DEFAULT_DEG, "sensitive": THRESHOLD_SENSITIVE_DEG}
    if mode not in modes:
        raise ValueError(f"threshold mode must be one of {', '.join(modes)}, got {mode!r}")
    return modes[mode]


def overall_scores(signed_error_deg, global_error_deg) -> dict[str, float]:
    """Scores over every valid trial of a test, all directions pooled.

    The signed errors are already signed per direction (positive = past the target in the
    direction of the return movement), so the pooled CE is the overall overshoot tendency;
    ``mean_direction_ae_deg`` is not set here (see :func:`summary_scores`).
    """
    return direction_scores(signed_error_deg, global_error_deg)


def summary_scores(per_direction: dict[str, dict], signed_by_direction: dict[str, list],
                   global_by_direction: dict[str, list],
                   threshold_deg: float = THRESHOLD_DEFAULT_DEG) -> dict:
    """The overall line of a JPE or THP table.

    Args:
        per_direction: direction → :func:`direction_scores` result.
        signed_by_direction: direction → signed errors (deg) of the valid trials.
        global_by_direction: direction → global 3D errors (deg) of the valid trials.
        threshold_deg: flag threshold.

    Returns:
        :func:`overall_scores` of the pooled trials plus ``mean_direction_ae_deg`` (the mean of
        the per-direction AEs, each direction weighted equally, as the clinical "overall mean"),
        ``flag`` (any direction's AE above the threshold: "positive if > 4.5° in any direction",
        Revel et al. 1991; AlDahas et al. 2023, PLoS One 18(10):e0292798) and ``flagged_directions``.
    """
    signed = [e for d in per_direction for e in signed_by_direction.get(d, [])]
    glob = [e for d in per_direction for e in global_by_direction.get(d, [])]
    out: dict[str, Any] = overall_scores(signed, glob)
    aes = [s["ae_deg"] for s in per_direction.values() if np.isfinite(s["ae_deg"])]
    out["mean_direction_ae_deg"] = float(np.mean(aes)) if aes else np.nan
    flagged = [d for d, s in per_direction.items() if flag(s["ae_deg"], threshold_deg)]
    out["flag"] = bool(flagged)
    out["flagged_directions"] = flagged
    return out
