"""Butterfly-style movement-sense tracking test: follow a slowly, unpredictably moving target
with the head-driven dot.

Protocol (Kristjansson et al. 2004, Arch Phys Med Rehabil 85:490–495; Majcen Rosker et al. 2024, Arch Phys Med Rehabil; a Cervitrack definition after Kristjansson & Gíslason 2023, Austin J Musculoskelet Disord 10(1):1063): seated facing the virtual
wall, eyes on the target; per level (easy, medium, hard; :mod:`cervitrack.trainer.clinical.trajectories`)
``repetitions`` runs of ``duration_s``. Each run starts from the re-centred neutral (the
reference, which is the wall's centre); the target starts moving ``countdown_s`` after the
"track" prompt. The dot is the laser point of the head relative to the reference
(:func:`cervitrack.signal.kinematics.laser_point`) in deg of visual angle.

Scores per run (:func:`cervitrack.trainer.clinical.tracking.tracking_scores`): AA, time on target,
undershoot and overshoot over the samples with ``ramp_s`` ≤ τ ≤ ``duration_s`` − ``ramp_s``
(the target at full amplitude; τ is the time since the target started), plus normalised jerk and
path-length ratio for research. Per level: the mean of each score over the valid runs. A run is
invalid (and redone, up to the limit) when a data gap fell inside it or samples were lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cervitrack.trainer.clinical import tracking
from cervitrack.trainer.clinical.recentered import Item, RecenteredSettings, RecenteredTest
from cervitrack.trainer.clinical.trajectories import LEVELS, TrackingTrajectory

SCORE_KEYS = ("aa_deg", "time_on_target_pct", "undershoot_pct", "overshoot_pct",
              "normalised_jerk", "path_length_ratio")
#: Decimation of the stored traces (for reports and exports), Hz.
TRACE_RATE_HZ = 20.0


@dataclass(frozen=True)
class ButterflySettings(RecenteredSettings):
    """Tracking settings: levels run in order, each ``repetitions`` times; ``radius_deg`` is the
    on-target radius (deg of visual angle, a design default); the wall is ``distance_cm`` away."""

    directions: tuple = ()
    levels: tuple = ("easy", "medium", "hard")
    repetitions: int = 3
    duration_s: float = 20.0
    ramp_s: float = 2.0
    countdown_s: float = 3.0
    radius_deg: float = 2.0
    amplitude_scale: float = 1.0
    speed_scale: float = 1.0
    distance_cm: float = 90.0


class ButterflyTest(RecenteredTest):
    """Tracking test engine (see the module docstring)."""

    settings: ButterflySettings
    name = "butterfly"

    def __init__(self, settings: ButterflySettings = ButterflySettings(), rate_hz: float = 100.0,
                 calibration=None) -> None:
        for level in settings.levels:
            if level not in LEVELS:
                raise ValueError(f"unknown tracking level {level!r} (levels: {', '.join(LEVELS)})")
        items = [f"{lv}/{r}" for lv in settings.levels for r in range(settings.repetitions)]
        super().__init__(settings, items, rate_hz, calibration)

    def _trajectory(self, key: str) -> TrackingTrajectory:
        s = self.settings
        level, rep = key.split("/")
        return TrackingTrajectory(level, int(rep), s.duration_s, s.ramp_s, s.amplitude_scale,
                                  s.speed_scale)

    def _begin(self, item: Item, t_s: float):
        traj = self._trajectory(item.key)
        item.t_start_s = t_s + self.settings.countdown_s
        item.data.update(traj=traj, t=[], cursor=[])
        return self._say("track", t_s, "track", target={**traj.spec(), "t_start_s": item.t_start_s})

    def _phase_track(self, pose, i0):
        item, s = self._current, self.settings
        t = pose.t_s[i0:]
        item.data["t"].append(t)
        item.data["cursor"].append(self._cursor_deg(pose, i0, item.q_ref_head, s.distance_cm))
        t_end = item.t_start_s + s.duration_s
        if t[-1] < t_end:
            return None, None
        j = i0 + int(np.searchsorted(t, t_end))
        j = min(j, len(pose) - 1)
        return j, self._finish_run(float(pose.t_s[j]))

    def _lost_record(self, item: Item) -> dict:
        level, rep = item.key.split("/")
        return {"level": level, "repetition": int(rep)}

    def _finish_run(self, t_s: float):
        item, s = self._current, self.settings
        traj = item.data.pop("traj")
        t = np.concatenate(item.data.pop("t"))
        cursor = np.concatenate(item.data.pop("cursor"))
        tau = t - item.t_start_s
        keep = (tau >= s.ramp_s) & (tau <= s.duration_s - s.ramp_s)
        target, velocity = traj.state(tau[keep])
        scores = tracking.tracking_scores(cursor[keep], target, velocity, s.radius_deg)
        scores.update(tracking.research_scores(t[keep], cursor[keep], target))
        level, rep = item.key.split("/")
        invalid = None
        expected = (s.duration_s - 2 * s.ramp_s) * self.rate_hz
        if self._gap_between(item.t_start_s, item.t_start_s + s.duration_s):
            invalid = "a data gap occurred during the run"
        elif scores["n"] < s.min_window_fill * expected:
            invalid = "samples were lost during the run"
        step = max(1, int(round(self.rate_hz / TRACE_RATE_HZ)))
        run = (tau >= 0) & (tau <= s.duration_s)
        trace = {"t_s": np.round(tau[run][::step], 3).tolist(),
                 "cursor_deg": np.round(cursor[run][::step], 3).tolist(),
                 "target_deg": np.round(traj.position_deg(tau[run][::step]), 3).tolist()}
        record = {"level": level, "repetition": int(rep), **scores, "trace": trace,
                  "trajectory": traj.spec()}
        return self._record(t_s, record, invalid)

    # ------------------------------------------------------------------ results
    def scores(self) -> dict:
        return butterfly_scores(self.trials, self.settings.levels)


def butterfly_scores(trials: list[dict], levels) -> dict:
    """Per level: the mean of each score over valid runs (``n`` runs) and the per-run scores."""
    out = {}
    for level in levels:
        runs = [tr for tr in trials if tr.get("level") == level and tr["valid"]]
        level_scores: dict[str, Any] = {"n": len(runs)}
        for k in SCORE_KEYS:
            vals = [tr[k] for tr in runs if tr.get(k) is not None and np.isfinite(tr[k])]
            level_scores[k] = float(np.mean(vals)) if vals else None
        level_scores["repetitions"] = [{"repetition": tr["repetition"],
                                        **{k: tr[k] for k in SCORE_KEYS}} for tr in runs]
        out[level] = level_scores
    return out
