"""Feedback fading and the self-estimate prompt.

Design (Winstein 1991, Phys Ther 71:140–149; Aoyagi et al. 2019, J Phys Ther Sci 31:687): frequent concurrent feedback helps
practice but creates dependence; faded knowledge of results (KR) improves retention (guidance
hypothesis, Schmidt 1991; Winstein 1991, Phys Ther 71:140; Aoyagi et al. 2019). Alternating
feedback with no-feedback trials and **asking for an error estimate before showing KR**
improve learning. The **[DESIGN PROPOSAL]** of Winstein 1991, Phys Ther 71:140–149: eyes closed; on settling ask "where do
you think you are?", then reveal the dot; fade 100 % → 50 % → a summary every 5 trials.

Modes:
    ``concurrent``: the laser dot is always visible (eyes open); no estimate.
    ``kr100``: estimate, then the dot, after every trial.
    ``kr50``: estimate and dot after trials 1, 3, 5, ... of a block; no KR on the others.
    ``summary``: no KR per trial; a summary (mean error, number on target) after every 5th
    trial and at the end of the block.

Estimates are one of :data:`ESTIMATES`: where the person thinks the dot is relative to the
goal. The actual place is classified the same way (:func:`classify_error`): "on target" within
``on_target_deg`` (2°, design choice: inside the 4.5° screening circle, a clearly good
relocation), otherwise the larger of the horizontal and vertical components.
"""

from __future__ import annotations

import numpy as np

MODES = ("concurrent", "kr100", "kr50", "summary")
ESTIMATES = ("on_target", "left", "right", "up", "down")
ESTIMATE_TEXT = {"on_target": "on target", "left": "to the left", "right": "to the right",
                 "up": "too high", "down": "too low"}
ON_TARGET_DEG = 2.0
SUMMARY_EVERY = 5


def kr_after_trial(mode: str, trial_index: int) -> bool:
    """Whether the dot (KR) is revealed after trial ``trial_index`` (0-based, in the block)."""
    if mode not in MODES:
        raise ValueError(f"unknown feedback mode {mode!r} (known: {', '.join(MODES)})")
    if mode == "kr100":
        return True
    if mode == "kr50":
        return trial_index % 2 == 0
    return False


def estimate_before_kr(mode: str, trial_index: int) -> bool:
    """Whether to ask "where do you think you are?" (always before a KR reveal)."""
    return kr_after_trial(mode, trial_index)


def summary_after_trial(mode: str, trial_index: int, n_trials: int) -> bool:
    """Whether a summary follows trial ``trial_index`` of a block of ``n_trials``."""
    return mode == "summary" and ((trial_index + 1) % SUMMARY_EVERY == 0 or trial_index + 1 == n_trials)


def classify_error(horizontal_deg: float, vertical_deg: float, on_target_deg: float = ON_TARGET_DEG) -> str:
    """Where the dot is relative to the goal, as the person sees it.

    Args:
        horizontal_deg: error along the horizontal, positive to the person's **left** (the
            axial rotation sign, head z up).
        vertical_deg: error along the vertical, positive **up** (extension, i.e. −flexion).
    """
    if np.hypot(horizontal_deg, vertical_deg) <= on_target_deg:
        return "on_target"
    if abs(horizontal_deg) >= abs(vertical_deg):
        return "left" if horizontal_deg > 0 else "right"
    return "up" if vertical_deg > 0 else "down"


def kr_message(actual: str, global_deg: float, estimate: str | None) -> str:
    """The plain-language reveal: where the dot was, and how the estimate compared."""
    where = ("You were on target" if actual == "on_target"
             else f"You were {global_deg:.1f}° off, {ESTIMATE_TEXT[actual]}")
    if estimate is None:
        return where + "."
    if estimate == actual:
        return f"{where}. You judged it right. Well done."
    return f"{where}. You thought you were {ESTIMATE_TEXT[estimate]}: good try, keep noticing."


def summary_message(global_errors_deg) -> str:
    """Summary KR over the trials since the last summary: mean error and count on target."""
    e = np.asarray(global_errors_deg, dtype=np.float64)
    on = int(np.sum(e <= ON_TARGET_DEG))
    return (f"Your last {e.size} tries: average {float(np.mean(e)):.1f}° from the goal, "
            f"{on} of {e.size} on target.")
