"""A simulated trainee: a virtual patient who does the drills, learns, and reports symptoms.

- :class:`TrainingPatient` extends :class:`~cervitrack.trainer.simulation.virtual_patient.VirtualPatient`
  with the drill prompts (:class:`~cervitrack.trainer.training.drills.DrillPrompt`): it moves to
  the asked amplitude at the asked speed, returns or relocates with an error drawn from its
  current skill, and perceives its own error with some noise (for the self-estimate).
- :func:`skill_for_practice`: relocation bias and SD shrink exponentially with the number of
  relocation trials practised so far, towards a floor (a modelling choice: practice improves
  repositioning, Revel 1994, Jull 2007, Revel et al. 1994, Arch Phys Med Rehabil 75:895–899; Jull et al. 2007, J Orthop Res 25:404–412; the
  time course is invented for the simulation).
- :class:`SymptomModel`: deterministic daily pain, dizziness and headache, with an optional
  flare-up day on which pain rises by 3 points during the first block.
- :class:`SimResponder`: answers a session's questions (ratings, estimates) for the patient.

Errors with the laser visible are small (``vision_sd_deg``, visually guided); target
relocation errors are ``target_factor`` × the neutral ones (targets are harder, Treleaven, Jull & Sterling 2003, J Rehabil Med 35:36–43 HTT).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cervitrack.firmware_bridge.sim.config import PatientConfig
from cervitrack.trainer.simulation.virtual_patient import DIRECTION_AXIS, VirtualPatient
from cervitrack.trainer.training import feedback
from cervitrack.trainer.training.symptoms import SymptomRating

#: Relocation constant error per direction at the start of training, deg (overshoot > 0).
START_BIAS_DEG = {"rotation_left": 3.5, "rotation_right": -3.0, "flexion": 2.5, "extension": -4.5,
                  "lateral_left": 1.0, "lateral_right": 1.0}
START_SD_DEG = 2.5
#: Skill floor (share of the starting error left after long practice) and time constant
#: (relocation trials).
SKILL_FLOOR = 0.35
SKILL_TAU_TRIALS = 30.0


def skill_for_practice(practice_trials: int, base: PatientConfig | None = None) -> PatientConfig:
    """Patient settings after ``practice_trials`` relocation trials: bias and SD scaled by
    floor + (1 − floor)·exp(−trials / tau)."""
    base = base or PatientConfig()
    k = SKILL_FLOOR + (1.0 - SKILL_FLOOR) * np.exp(-practice_trials / SKILL_TAU_TRIALS)
    return replace(base, bias_deg={d: float(k * v) for d, v in START_BIAS_DEG.items()},
                   sd_deg=float(k * START_SD_DEG))


class TrainingPatient(VirtualPatient):
    """A virtual patient that also follows drill prompts.

    Args:
        cfg, rng: as VirtualPatient.
        vision_sd_deg: relocation SD with the laser visible, deg.
        target_factor: target-relocation errors relative to neutral ones.
        perception_sd_deg: noise of the patient's own sense of its error, deg.
    """

    def __init__(self, cfg: PatientConfig, rng: np.random.Generator, vision_sd_deg: float = 0.4,
                 target_factor: float = 1.15, perception_sd_deg: float = 1.5) -> None:
        super().__init__(cfg, rng)
        self.vision_sd_deg = vision_sd_deg
        self.target_factor = target_factor
        self.perception_sd_deg = perception_sd_deg
        self._drill: tuple[str, np.ndarray, np.ndarray] | None = None
        #: (horizontal left+, vertical up+) error of the last relocation, deg, as perceived.
        self.perceived_error_deg = (0.0, 0.0)
        #: Drawn drill relocation errors: {"direction", "kind", "error_deg"} (overshoot > 0).
        self.drill_relocations: list[dict] = []

    def _go(self, t0, end, speed_deg_s):
        now = self.plan.angles_deg([t0])[0]
        dist = float(np.abs(end - now).max())
        self.plan.move_to(t0, end, 0.35 + 1.875 * dist / speed_deg_s)

    def _error(self, direction: str, vision: str, factor: float = 1.0) -> float:
        if vision == "laser":
            return float(self.rng.normal(0.0, self.vision_sd_deg))
        return float(factor * self.rng.normal(self.cfg.bias_deg[direction], self.cfg.sd_for(direction)))

    def _land(self, t0, goal, channel, error_sign_deg, speed):
        end = goal + self.rng.normal(0.0, self.cfg.offaxis_sd_deg, size=3)
        end[channel] += error_sign_deg
        self._go(t0, end, speed)
        delta = end - goal  # (axial left+, flexion down+, lateral)
        noise = self.rng.normal(0.0, self.perception_sd_deg, size=2)
        self.perceived_error_deg = (float(delta[0] + noise[0]), float(-delta[1] + noise[1]))

    def on_prompt(self, prompt, t_s: float) -> None:
        kind = prompt.kind
        if kind not in ("drill_move", "drill_return", "drill_back", "drill_relocate",
                        "warmup_move", "warmup_return"):
            super().on_prompt(prompt, t_s)
            return
        t0 = self._start_s(t_s)
        channel, sign = DIRECTION_AXIS[prompt.direction]
        speed = getattr(prompt, "speed_deg_s", self.cfg.speed_deg_s)
        if kind in ("drill_move", "warmup_move"):
            start = self.posture_deg.copy()
            goal = start.copy()
            goal[channel] += sign * prompt.amplitude_deg
            self._drill = (prompt.direction, start, goal)
            end = goal + self.rng.normal(0.0, 0.3, size=3)
            self._go(t0, end, speed)
        elif self._drill is None:
            return
        elif kind in ("drill_back", "warmup_return"):
            direction, start, goal = self._drill
            self._go(t0, start + self.rng.normal(0.0, 0.3, size=3), speed)
        elif kind == "drill_return":
            direction, start, goal = self._drill
            error = self._error(direction, prompt.vision)
            self.drill_relocations.append({"direction": direction, "kind": kind, "error_deg": error})
            # Overshoot (> 0) lands past the start in the return direction (−sign).
            self._land(t0, start, channel, -sign * error, speed)
        elif kind == "drill_relocate":
            direction, start, goal = self._drill
            error = self._error(direction, prompt.vision, self.target_factor)
            self.drill_relocations.append({"direction": direction, "kind": kind, "error_deg": error})
            # Overshoot (> 0) lands beyond the target, outward (+sign).
            self._land(t0, goal, channel, sign * error, speed)

    def estimate(self) -> str:
        """Where the patient thinks the dot is (one of feedback.ESTIMATES)."""
        return feedback.classify_error(*self.perceived_error_deg)


@dataclass(frozen=True)
class SymptomModel:
    """Deterministic simulated symptoms.

    Pain before a session starts at ``pain_start_nrs`` and eases by ``pain_drop_nrs`` over
    ``days`` (with ±1 day-to-day noise); after each block the pain is the day's starting pain
    plus a transient point with probability ``block_rise_p`` (rises do not accumulate). On
    ``flare_day`` the pain before the session is 2 points higher and the first block raises it
    by 3. Headaches occur on a share of days that falls from
    ``headache_p_start`` to half of it, intensity 2-5 (6 on the flare day).
    """

    seed: int = 1
    days: int = 21
    pain_start_nrs: float = 2.6
    pain_drop_nrs: float = 1.0
    block_rise_p: float = 0.1
    flare_day: int | None = None
    headache_p_start: float = 0.4

    def _rng(self, day: int, what: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, day, what])

    def pain_before(self, day: int) -> int:
        base = self.pain_start_nrs - self.pain_drop_nrs * (day - 1) / max(1, self.days - 1)
        pain = base + self._rng(day, 1).uniform(-1.0, 1.0)
        if day == self.flare_day:
            pain += 2.0
        return int(np.clip(round(pain), 0, 10))

    def block_rise(self, day: int, block: int) -> int:
        if day == self.flare_day and block == 0:
            return 3
        return int(self._rng(day, 10 + block).uniform() < self.block_rise_p)

    def headache(self, day: int) -> int:
        """Headache intensity today, 0-10 (0: no headache)."""
        if day == self.flare_day:
            return 6
        p = self.headache_p_start * (1.0 - 0.5 * (day - 1) / max(1, self.days - 1))
        rng = self._rng(day, 2)
        return int(rng.integers(2, 6)) if rng.uniform() < p else 0


class SimResponder:
    """Answers a session's questions for the simulated patient on one day."""

    def __init__(self, model: SymptomModel, day: int, patient: TrainingPatient | None = None) -> None:
        self.model = model
        self.day = day
        self.patient = patient
        self._pain = model.pain_before(day)
        self._blocks = 0

    def before(self) -> SymptomRating:
        return SymptomRating(self._pain)

    def answer(self, kind: str):
        if kind == "estimate":
            if self.patient is None:
                raise ValueError("an estimate question needs the simulated patient")
            return self.patient.estimate()
        if kind == "rate_symptoms":
            pain = min(10, self._pain + self.model.block_rise(self.day, self._blocks))
            self._blocks += 1
            return SymptomRating(pain)
        raise ValueError(f"the simulated patient cannot answer {kind!r}")
