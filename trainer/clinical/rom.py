"""Active range of motion (ROM) test: maximal rotation, flexion/extension and lateral flexion.

Protocol: from the re-centred neutral (the reference), eyes open, the person moves in one
direction as far as possible without pain, holds, and comes back; ``trials_per_direction``
repetitions per direction. A repetition's ROM is the peak angle of the direction's anatomical
component (:mod:`cervitrack.signal.kinematics`, relative to the reference) over the movement;
the held angle (mean over the last ``hold_s`` before the return) is kept too. Per direction the
test reports the maximum, mean and SD over valid repetitions; per plane the total range
(left + right rotation, flexion + extension, left + right lateral flexion). A repetition is
invalid when it did not reach ``min_amplitude_deg`` or had a data gap.

Reference values (Swinkels & Swinkels-Meewisse 2014, Spine 39:362–367; Niederer et al. 2015, Eur Spine J 24:493): Swinkels &
Swinkels-Meewisse 2014, Spine 39:362-367 (400 asymptomatic adults, 20-60 y: ROM falls after
50 y, no sex effect) and Niederer et al. 2015, Eur Spine J 24:493 (flexion/extension falls
10.2° per decade). Our reference holds no numeric norm table from either, so Cervitrack shows
no norm band: it reports the measured range only. Vendor "sufficient" flags (e.g. rotation
≥ 45°) are not clinical norms and are not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT
from cervitrack.trainer.clinical.recentered import DirectionalTest, Item, RecenteredSettings

ROM_DIRECTIONS = ("rotation_left", "rotation_right", "flexion", "extension",
                  "lateral_left", "lateral_right")
PLANES = {"rotation": ("rotation_left", "rotation_right"),
          "flexion_extension": ("flexion", "extension"),
          "lateral_flexion": ("lateral_left", "lateral_right")}
REFERENCES = (
    "Swinkels RA, Swinkels-Meewisse IE. Normal values for cervical range of motion. "
    "Spine 2014;39(5):362-367 (400 asymptomatic adults 20-60 y; ROM falls after 50 y, "
    "no sex effect)",
    "Niederer D et al. Eur Spine J 2015;24:493 (flexion/extension falls 10.2 deg per decade)",
)
NORMS_NOTE = ("No numeric norm table is held in Cervitrack's reference for these studies, so no "
              "norm band is shown; vendor 'sufficient' flags are not clinical norms.")


@dataclass(frozen=True)
class RomSettings(RecenteredSettings):
    """ROM settings: ``hold_s`` at the end position, deg/s and s as in the JPE settings."""

    directions: tuple = ROM_DIRECTIONS
    trials_per_direction: int = 3
    hold_s: float = 1.0


class RomTest(DirectionalTest):
    """Range-of-motion test engine (see the module docstring)."""

    settings: RomSettings
    name = "rom"

    def __init__(self, settings: RomSettings = RomSettings(), rate_hz: float = 100.0,
                 calibration=None) -> None:
        super().__init__(settings, rate_hz, calibration)

    def _begin(self, item: Item, t_s: float):
        item.t_start_s = t_s
        item.data.update(peak_deg=0.0, reached_t_s=np.nan)
        return self._say("move_max", t_s, "move_max", item.key)

    def _phase_move_max(self, pose, i0):
        item, s = self._current, self.settings
        a = self._along(pose, i0, item)
        t = pose.t_s[i0:]
        if np.isnan(item.data["reached_t_s"]):
            hit = np.flatnonzero(a >= s.min_amplitude_deg[item.key])
            if hit.size:
                item.data["reached_t_s"] = float(t[hit[0]])
        if not np.isnan(item.data["reached_t_s"]):
            j = self._settled_index(pose, i0, s.hold_s, item.data["reached_t_s"])
            if j is not None:
                item.data["peak_deg"] = max(item.data["peak_deg"], float(a[: j - i0 + 1].max()))
                window = self._window(float(pose.t_s[j]), s.hold_s)
                held = self._along_window(window, item)
                record = {"direction": item.key, "rom_deg": item.data["peak_deg"],
                          "held_deg": held,
                          "hold_window": {k: v for k, v in window.items() if k != "slice"}}
                invalid = ("a data gap occurred during the movement"
                           if self._gap_between(item.t_start_s, window["t1_s"]) else None)
                return j, self._record(pose.t_s[j], record, invalid)
        item.data["peak_deg"] = max(item.data["peak_deg"], float(a.max()))
        if t[-1] - item.t_start_s > s.move_timeout_s:
            return len(pose) - 1, self._record(t[-1], {"direction": item.key,
                                                       "rom_deg": item.data["peak_deg"]},
                                               "the movement was not large enough")
        return None, None

    def _lost_record(self, item: Item) -> dict:
        return {"direction": item.key, "rom_deg": None}

    def _along_window(self, window: dict, item: Item) -> float:
        name, sign = DIRECTION_COMPONENT[item.key]
        q = quat.relative(item.q_ref_head, self._mean_head(window))
        return float(sign * kinematics.head_angles_deg(q)[name])

    # ------------------------------------------------------------------ results
    def scores(self) -> dict:
        return rom_scores(self.trials, self.settings.directions)


def rom_scores(trials: list[dict], directions) -> dict:
    """Per-direction maximum, mean and SD (n denominator; None below two repetitions) of the
    valid repetitions' ROM, and
    per-plane totals (sum of the two directions' maxima), deg."""
    per: dict[str, dict[str, Any]] = {}
    for d in directions:
        vals = np.array([tr["rom_deg"] for tr in trials if tr["direction"] == d and tr["valid"]])
        per[d] = {"n": int(vals.size),
                  "max_deg": float(vals.max()) if vals.size else None,
                  "mean_deg": float(vals.mean()) if vals.size else None,
                  # One repetition has no spread: "n/a", not 0.
                  "sd_deg": float(vals.std()) if vals.size >= 2 else None}
    planes = {}
    for plane, (a, b) in PLANES.items():
        if a in per and b in per and per[a]["max_deg"] is not None and per[b]["max_deg"] is not None:
            planes[plane] = {"total_deg": per[a]["max_deg"] + per[b]["max_deg"]}
    return {"directions": per, "planes": planes, "references": list(REFERENCES),
            "norms_note": NORMS_NOTE}
