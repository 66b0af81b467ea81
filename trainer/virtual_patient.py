"""The virtual patient: reacts to a test's prompts the way a person would.

After a reaction time it turns (minimum-jerk, at a natural speed), holds, returns and settles
with a small corrective movement, while physiological tremor (8-12 Hz) and postural sway
(0.1-0.6 Hz) keep the head from ever being perfectly still. It also performs the calibration
movements (keeping still, nodding, turning).

Relocation errors are drawn per trial: along the movement's plane, ``bias_deg[direction]`` +
N(0, ``sd_deg``), signed so that positive is an overshoot (past the start, in the direction of
the return movement); in the two other components N(0, ``offaxis_sd_deg``). The drawn values
are kept in :attr:`VirtualPatient.relocations`. The true error of a trial, which also contains
tremor and sway, is measured from the trajectory itself (see
:class:`cervitrack.firmware_bridge.sim.device.Truth`).

The head orientation is ``q_world_head`` (head frame x anterior, y left, z up; world z up).
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.sim.config import PatientConfig
from cervitrack.firmware_bridge.sim.motion import SegmentPlan, SumOfSines
from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.prompts import Prompt

#: Direction → (angle channel index in (axial, flexion, lateral), sign of the excursion).
DIRECTION_AXIS = {
    "rotation_left": (0, +1.0),
    "rotation_right": (0, -1.0),
    "flexion": (1, +1.0),
    "extension": (1, -1.0),
    "lateral_left": (2, -1.0),
    "lateral_right": (2, +1.0),
}
#: Share of the postural sway amplitude in axial rotation (a modelling choice, see __init__).
SWAY_AXIAL_SHARE = 0.3
#: Minimum-jerk peak speed is 1.875 × the mean speed.
_MIN_JERK_PEAK = 1.875


class VirtualPatient:
    """A head that follows prompts.

    Args:
        cfg: patient settings.
        rng: numpy Generator (the only source of randomness).
    """

    def __init__(self, cfg: PatientConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng
        self.plan = SegmentPlan()
        self.tremor = SumOfSines(rng, (8.0, 12.0), cfg.tremor_deg)
        self.sway = SumOfSines(rng, (0.1, 0.6), cfg.sway_deg)
        # Seated postural sway moves the head mostly in pitch and roll (the trunk sways
        # forward-back and side to side); sway about the vertical is smaller.
        self.sway.amp *= np.array([[SWAY_AXIAL_SHARE], [1.0], [1.0]])
        self.q_world_start = quat.from_axis_angle([0, 0, 1], np.radians(rng.uniform(-180, 180)))
        self.posture_deg = np.zeros(3)
        self.relocations: list[dict] = []
        self._move: tuple[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ trajectory
    def angles_deg(self, t_s) -> np.ndarray:
        """(N, 3) true head angles (axial, flexion, lateral) relative to the world's neutral."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        return self.plan.angles_deg(t) + self.tremor(t) + self.sway(t)

    def __call__(self, t_s) -> np.ndarray:
        """q_world_head (N, 4) at true times t_s (N,)."""
        a = self.angles_deg(t_s)
        q_neutral_head = kinematics.pose_from_angles_deg(a[:, 0], a[:, 1], a[:, 2])
        return quat.multiply(self.q_world_start, q_neutral_head)

    # ------------------------------------------------------------------ reactions
    def _duration_s(self, distance_deg: float) -> float:
        return 0.35 + _MIN_JERK_PEAK * abs(distance_deg) / self.cfg.speed_deg_s

    def _start_s(self, t_s: float) -> float:
        return t_s + self.cfg.reaction_s * float(self.rng.uniform(0.8, 1.25))

    def on_prompt(self, prompt: Prompt, t_s: float) -> None:
        """React to ``prompt`` heard at true time ``t_s``."""
        kind = prompt.kind
        t0 = self._start_s(t_s)
        now = self.plan.angles_deg([t0])[0]
        if kind in ("sit_still", "recenter"):
            self.posture_deg = self.rng.normal(0.0, self.cfg.posture_sd_deg, size=3)
            dist = float(np.abs(self.posture_deg - now).max())
            self.plan.move_to(t0, self.posture_deg, self._duration_s(dist))
        elif kind in ("nod", "turn"):
            channel, amplitude = (1, 18.0) if kind == "nod" else (0, 30.0)
            t = t0
            for target in (+amplitude, -0.8 * amplitude, +amplitude, -0.8 * amplitude, 0.0):
                end = self.posture_deg.copy()
                end[channel] += target
                start = self.plan.angles_deg([t])[0]
                duration = self._duration_s(float(end[channel] - start[channel]))
                self.plan.move_to(t, end, duration)
                t += duration + 0.15
        elif kind == "move" and prompt.direction in DIRECTION_AXIS:
            channel, sign = DIRECTION_AXIS[prompt.direction]
            amplitude = self.cfg.amplitude_deg[prompt.direction] * float(self.rng.uniform(0.85, 1.1))
            end = now + self.rng.normal(0.0, 1.0, size=3)
            end[channel] = self.posture_deg[channel] + sign * amplitude
            self.plan.move_to(t0, end, self._duration_s(amplitude))
            self._move = (prompt.direction, self.posture_deg.copy())
        elif kind == "return" and self._move is not None:
            direction, start_posture = self._move
            self._move = None
            channel, sign = DIRECTION_AXIS[direction]
            error_deg = float(self.rng.normal(self.cfg.bias_deg[direction], self.cfg.sd_for(direction)))
            target = start_posture + self.rng.normal(0.0, self.cfg.offaxis_sd_deg, size=3)
            # Return movement direction is -sign; an overshoot lands past the start that way.
            target[channel] = start_posture[channel] - sign * error_deg
            self.relocations.append({"direction": direction, "error_deg": error_deg,
                                     "target_deg": target.tolist()})
            beyond = target.copy()
            beyond[channel] -= sign * 0.6
            main = self._duration_s(float(now[channel] - beyond[channel]))
            self.plan.move_to(t0, beyond, main)
            self.plan.move_to(t0 + main + 0.25, target, 0.5)
