"""Target head position (THP) joint position error test: relocate the head to a learned target.

Protocol (Revel et al. 1991, Arch Phys Med Rehabil 72:288–291; AlDahas et al. 2023, PLoS One 18(10):e0292798, "target-head relocation"): from the
re-centred neutral (the reference), eyes open, the person moves to a target ``target_deg`` away
in one direction (e.g. 20° or 40°, or ``target_rom_share`` of the person's own range of motion)
with the dot visible; while not within ``tolerance_deg`` of the target after settling, the
person is told to adjust ("a little further" / "a little less far"); within it, "hold here" and
the position is held ``memorise_s``. Then back to the start, and, eyes closed, the person
relocates the target and keeps still; the relocation is the mean orientation over the settled
window (Pinsault et al. 2008; Lee et al. 2006, Man Ther 11:61–68).

Errors are relative to the target: the error rotation is q_target⁻¹ ⊗ q_relocated with
q_target = q_ref ⊗ (the target angle about the direction's axis), decomposed like the neutral
test (:mod:`cervitrack.signal.kinematics`). The signed error of a trial is its component along
the direction's plane, positive when the head went **past** the target in the direction of the
return movement towards it (outwards), negative when it stopped short. Scores as the neutral
test (:mod:`cervitrack.trainer.clinical.scoring`).

A trial is invalid (and redone, up to the limit) when the target could not be learned within
``max_adjustments`` corrections, when the relocation did not reach half the target, or when a
data gap or sample loss fell inside the trial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT
from cervitrack.trainer.clinical.recentered import DirectionalTest, Item, RecenteredSettings


@dataclass(frozen=True)
class ThpSettings(RecenteredSettings):
    """THP settings (angles in deg, times in s).

    ``target_deg``: the target's distance from neutral in every direction; replaced by
    ``target_rom_share`` × the person's range of motion in that direction when the share is set
    (``rom_deg`` must then hold the person's ROM per direction).
    """

    trials_per_direction: int = 6
    target_deg: float = 20.0
    target_rom_share: float | None = None
    rom_deg: dict | None = None
    tolerance_deg: float = 1.5
    memorise_s: float = 2.0
    max_adjustments: int = 6
    #: After "adjust", stillness counts only from this long after the prompt (reaction time).
    adjust_wait_s: float = 1.0

    def target_for(self, direction: str) -> float:
        """The target angle of a direction, deg."""
        if self.target_rom_share is None:
            return float(self.target_deg)
        if not self.rom_deg or direction not in self.rom_deg:
            raise ValueError(f"target_rom_share needs the range of motion for {direction}")
        return float(self.target_rom_share * self.rom_deg[direction])


def target_pose(direction: str, target_deg: float) -> np.ndarray:
    """q_ref_target (4,): the target's rotation from the reference, in head axes."""
    name, sign = DIRECTION_COMPONENT[direction]
    angles = {"axial": 0.0, "flexion": 0.0, "lateral": 0.0}
    angles[name] = sign * target_deg
    return kinematics.pose_from_angles_deg(angles["axial"], angles["flexion"], angles["lateral"])


def target_errors(direction: str, target_deg: float, q_ref_head, q_reloc_head) -> dict:
    """Errors of a relocation relative to the target.

    Args:
        direction: the direction of the target (a key of DIRECTION_COMPONENT).
        target_deg: its distance from the reference, deg.
        q_ref_head, q_reloc_head: (4,) world→head orientations of the reference and the
            relocation (any common world frame).

    Returns:
        ``error_deg`` (axial, flexion, lateral, global components of q_target⁻¹ ⊗ q_relocated)
        and ``signed_error_deg`` (positive = past the target).
    """
    q_target = quat.multiply(q_ref_head, target_pose(direction, target_deg))
    angles = kinematics.head_angles_deg(quat.relative(q_target, q_reloc_head))
    name, sign = DIRECTION_COMPONENT[direction]
    return {"error_deg": {k: float(angles[k]) for k in ("axial", "flexion", "lateral", "global")},
            "signed_error_deg": float(sign * angles[name])}


class ThpTest(DirectionalTest):
    """Target head position test engine (see the module docstring)."""

    settings: ThpSettings
    name = "jpe-target"

    def __init__(self, settings: ThpSettings = ThpSettings(), rate_hz: float = 100.0,
                 calibration=None) -> None:
        for d in settings.directions:
            settings.target_for(d)
        super().__init__(settings, rate_hz, calibration)

    def _begin(self, item: Item, t_s: float):
        item.data.update(target_deg=self.settings.target_for(item.key), adjustments=0,
                         moved_t_s=np.nan)
        return self._say("learn", t_s, "learn_target", item.key,
                         target={"angle_deg": item.data["target_deg"]})

    def _wait_settled_after(self, pose, i0, item, reach_deg: float, outward: bool, hold_s: float):
        """Index where the head, having crossed reach_deg (outwards or back inwards), has been
        still for hold_s; None while waiting."""
        if np.isnan(item.data["moved_t_s"]):
            a = self._along(pose, i0, item)
            hit = np.flatnonzero(a >= reach_deg if outward else a <= reach_deg)
            if hit.size == 0:
                return None
            item.data["moved_t_s"] = float(pose.t_s[i0 + hit[0]])
        return self._settled_index(pose, i0, hold_s, item.data["moved_t_s"])

    def _timed_out(self, pose) -> bool:
        return float(pose.t_s[-1]) - self._phase_t_s > self.settings.move_timeout_s

    def _phase_learn(self, pose, i0):
        item, s = self._current, self.settings
        target = item.data["target_deg"]
        j = self._wait_settled_after(pose, i0, item, 0.5 * target, True, s.hold_s)
        if j is None:
            if self._timed_out(pose):
                return len(pose) - 1, self._record(pose.t_s[-1], self._base_record(),
                                                   "the target was not reached")
            return None, None
        t = float(pose.t_s[j])
        offset = float(self._along(pose, j, item)[0]) - target
        item.data["moved_t_s"] = t
        if abs(offset) <= s.tolerance_deg:
            item.data["learned_offset_deg"] = offset
            return j, self._say("memorise", t, "hold_here", item.key)
        item.data["adjustments"] += 1
        # Give the correction time to start before looking for stillness again.
        item.data["moved_t_s"] = t + s.adjust_wait_s
        if item.data["adjustments"] > s.max_adjustments:
            return j, self._record(t, self._base_record(), "the target could not be learned")
        return j, self._say("learn", t, "adjust", item.key, target={"offset_deg": offset})

    def _phase_memorise(self, pose, i0):
        t = pose.t_s[i0:]
        hit = np.flatnonzero(t - self._phase_t_s >= self.settings.memorise_s)
        if hit.size == 0:
            return None, None
        j = i0 + int(hit[0])
        self._current.data["moved_t_s"] = np.nan
        return j, self._say("back", pose.t_s[j], "back_to_start", self._current.key)

    def _phase_back(self, pose, i0):
        item = self._current
        j = self._wait_settled_after(pose, i0, item, 0.5 * item.data["target_deg"], False,
                                     self.settings.stillness.settle_s)
        if j is None:
            if self._timed_out(pose):
                return len(pose) - 1, self._record(pose.t_s[-1], self._base_record(),
                                                   "the head did not come back to the start")
            return None, None
        item.data["moved_t_s"] = np.nan
        return j, self._say("relocate", pose.t_s[j], "relocate", item.key,
                            target={"angle_deg": item.data["target_deg"]})

    def _phase_relocate(self, pose, i0):
        item, s = self._current, self.settings
        settle = s.stillness.settle_s
        j = self._wait_settled_after(pose, i0, item, 0.5 * item.data["target_deg"], True, settle)
        if j is None:
            if float(pose.t_s[-1]) - self._phase_t_s > s.return_timeout_s:
                return len(pose) - 1, self._record(pose.t_s[-1], self._base_record(),
                                                   "no stable relocation was found")
            return None, None
        t = float(pose.t_s[j])
        window = self._window(t, settle)
        record = self._base_record()
        record.update(target_errors(item.key, item.data["target_deg"], item.q_ref_head,
                                    self._mean_head(window)))
        record["ret_window"] = {k: v for k, v in window.items() if k != "slice"}
        invalid = None
        if self._gap_between(item.ref["t0_s"], window["t1_s"]):
            invalid = "a data gap occurred during the trial"
        elif min(item.ref["n"], window["n"]) < s.min_window_fill * settle * self.rate_hz:
            invalid = "samples were lost during the trial"
        return j, self._record(t, record, invalid)

    def _lost_record(self, item: Item) -> dict:
        return self._base_record()

    def _base_record(self) -> dict:
        item = self._current
        return {"direction": item.key, "target_deg": item.data["target_deg"],
                "adjustments": item.data["adjustments"],
                "learned_offset_deg": item.data.get("learned_offset_deg")}

    # ------------------------------------------------------------------ results
    def scores(self) -> dict:
        """Per-direction scores over valid trials, as the neutral test, each with its
        direction's ``target_deg``."""
        out = super().scores()
        for d, sc in out.items():
            sc["target_deg"] = self.settings.target_for(d)
        return out
