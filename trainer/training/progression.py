"""Progression and regression between levels, from accuracy and symptoms.

A pure function of the session history (most recent last). Rules, a **[DESIGN PROPOSAL]**
(published progression criteria are not available, Treleaven 2008, Man Ther 13:2–11; Kristjansson & Treleaven 2009, JOSPT 39:364–377; Jull et al. 2007, J Orthop Res 25:404–412), checked in this order after every session:

1. **Symptom regression.** The last session was stopped for pain, dizziness, nausea or a red
   flag: go down one level (not below 1). Training in pain blunts the plasticity training is
   meant to produce (Boudreau et al. 2007, Pain 132:169–178), so the next session is easier.
2. Days without data (no training: severe pain) and **gentle days** (moderate pain, capped
   amplitudes) do not count towards progression: hold.
3. **Progression.** Over the last ``window`` (2) counted sessions at the current level, with
   at least ``min_trials`` (8) relocation trials in total (the mean of 8 trials is reliable,
   Pinsault et al. 2008, Pinsault et al. 2008; Lee et al. 2006, Man Ther 11:61–68): pooled AE ≤ the level's ``target_ae_deg`` and pain rose by at
   most 1 point in each session → up one level.
4. **Accuracy regression.** The same pooled AE > ``target_ae_deg`` + 2.0° (about the smallest
   real change, MDC95 ≈ 1.9° for RMSE, Lee et al. 2006, Pinsault et al. 2008; Lee et al. 2006, Man Ther 11:61–68) → down one level.
5. Otherwise hold.

Only sessions since the last level change count, so every level is earned afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cervitrack.trainer.training.levels import MAX_LEVEL, level

WINDOW_SESSIONS = 2
MIN_TRIALS = 8
REGRESS_MARGIN_DEG = 2.0
MAX_PAIN_RISE_TO_PROGRESS_NRS = 1
SYMPTOM_STOPS = ("pain", "dizziness", "nausea", "red_flag")


@dataclass(frozen=True)
class SessionOutcome:
    """What progression needs from one session.

    Attributes:
        level: the level trained.
        mode: "normal", "gentle" or "none" (no training).
        stop_reason: "" when completed, else the stop reason (see symptoms.StopDecision).
        abs_errors_deg: absolute relocation errors of the session's valid trials, deg.
        max_pain_rise_nrs: the largest pain rise over the session (after − before), NRS.
    """

    level: int
    mode: str = "normal"
    stop_reason: str = ""
    abs_errors_deg: tuple = field(default_factory=tuple)
    max_pain_rise_nrs: int = 0


@dataclass(frozen=True)
class LevelDecision:
    level: int
    change: int
    reason: str


def next_level(current: int, history: list[SessionOutcome], window: int = WINDOW_SESSIONS,
               min_trials: int = MIN_TRIALS, regress_margin_deg: float = REGRESS_MARGIN_DEG,
               max_level: int = MAX_LEVEL) -> LevelDecision:
    """The level for the next session, given the sessions so far (oldest first)."""
    lvl = level(current)
    if history and history[-1].stop_reason in SYMPTOM_STOPS:
        new = max(1, current - 1)
        return LevelDecision(new, new - current, f"stopped for {history[-1].stop_reason}: easier next time")
    # Sessions at the current level since the last change (history after the last session
    # trained at another level).
    recent: list[SessionOutcome] = []
    for s in reversed(history):
        if s.level != current:
            break
        recent.append(s)
    counted = [s for s in recent if s.mode == "normal" and not s.stop_reason][:window]
    if len(counted) < window:
        return LevelDecision(current, 0, f"{len(counted)} of {window} sessions at this level so far")
    errors = np.concatenate([np.asarray(s.abs_errors_deg, dtype=np.float64) for s in counted])
    if errors.size < min_trials:
        return LevelDecision(current, 0, f"{errors.size} of {min_trials} trials needed to judge")
    ae = float(errors.mean())
    calm = all(s.max_pain_rise_nrs <= MAX_PAIN_RISE_TO_PROGRESS_NRS for s in counted)
    if ae <= lvl.target_ae_deg and calm:
        new = min(max_level, current + 1)
        if new == current:
            return LevelDecision(current, 0, f"AE {ae:.1f}° ≤ {lvl.target_ae_deg:.1f}° at the top level")
        return LevelDecision(new, 1, f"AE {ae:.1f}° ≤ {lvl.target_ae_deg:.1f}°: next level")
    if ae > lvl.target_ae_deg + regress_margin_deg and current > 1:
        return LevelDecision(current - 1, -1,
                             f"AE {ae:.1f}° > {lvl.target_ae_deg + regress_margin_deg:.1f}°: easier level")
    return LevelDecision(current, 0, f"AE {ae:.1f}° (goal {lvl.target_ae_deg:.1f}°): keep practising")
