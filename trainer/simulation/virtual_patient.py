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

For the other tests (docs/clinical-tests.md):

- **range of motion** (``move_max``): moves to ``rom_deg[direction]`` + N(0, ``rom_sd_deg``);
- **target relocation** (``learn_target``, ``adjust``, ``back_to_start``, ``relocate``): first
  moves to the shown target with an error N(0, ``learn_sd_deg``), corrects by the offset an
  ``adjust`` prompt reports (with a 15 % error), goes back to the start, then relocates the
  target with the same per-direction ``bias_deg`` + N(0, ``sd_deg``) as the neutral test,
  positive = past the target in the direction of the movement towards it;
- **tracking** (``track``): the cursor follows the target ``tracking_lag_s`` late (negative:
  early, anticipating) plus a smooth random error of ``tracking_noise_deg`` RMS per axis;
- **tracing** (``trace_start``, ``trace``): moves to the pattern's start, then along it at
  ``trace_speed_deg_s`` (minimum-jerk in arc length) with a smooth random deviation of
  ``trace_error_deg`` RMS per axis.

Tracking and tracing movements are *overlays* added to the planned posture; an overlay holds
its final value after it ends, and later movements are planned net of it.

The head orientation is ``q_world_head`` (head frame x anterior, y left, z up; world z up).
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.sim.config import PatientConfig
from cervitrack.firmware_bridge.sim.motion import SegmentPlan, SumOfSines, min_jerk
from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.clinical.prompts import Prompt

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


def _direction_of(prompt: Prompt) -> str:
    """The direction a movement prompt names (every movement prompt names one)."""
    if prompt.direction is None:
        raise ValueError(f"a {prompt.kind!r} prompt without a direction")
    return prompt.direction


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
        self._thp: tuple[str, np.ndarray, float] | None = None
        self.overlays: list[Overlay] = []
        #: Range-of-motion maxima drawn per ``move_max`` prompt (deg).
        self.reaches: list[dict] = []

    # ------------------------------------------------------------------ trajectory
    def angles_deg(self, t_s) -> np.ndarray:
        """(N, 3) true head angles (axial, flexion, lateral) relative to the world's neutral."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        return self.plan.angles_deg(t) + self._overlay_deg(t) + self.tremor(t) + self.sway(t)

    def _overlay_deg(self, t) -> np.ndarray:
        out = np.zeros((len(t), 3))
        for ov in self.overlays:
            out += ov(t)
        return out

    def _held_deg(self, t0_s: float) -> np.ndarray:
        """Freeze every overlay at t0_s and return their sum there (3,)."""
        for ov in self.overlays:
            ov.truncate(t0_s)
        return self._overlay_deg(np.array([t0_s]))[0]

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
        if kind in _OTHER_TEST_PROMPTS:
            self._on_other_prompt(prompt, t0)
            return
        now = self.plan.angles_deg([t0])[0]
        if kind in ("sit_still", "recenter"):
            self.posture_deg = self.rng.normal(0.0, self.cfg.posture_sd_deg, size=3)
            dist = float(np.abs(self.posture_deg - now).max())
            self.plan.move_to(t0, self.posture_deg, self._duration_s(dist))
        elif kind in ("nod", "turn"):
            channel, amplitude = (1, 18.0) if kind == "nod" else (0, 30.0)
            t = t0
            for swing_deg in (+amplitude, -0.8 * amplitude, +amplitude, -0.8 * amplitude, 0.0):
                end = self.posture_deg.copy()
                end[channel] += swing_deg
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

    # ------------------------------------------------------------------ other tests
    def _plan_to(self, t0: float, end_abs_deg, held_deg, extra_s: float = 0.0) -> float:
        """Move (min-jerk) so that the plan plus held overlays reaches end_abs_deg; returns the
        movement's duration."""
        now = self.plan.angles_deg([t0])[0] + held_deg
        dist = float(np.abs(np.asarray(end_abs_deg) - now).max())
        duration = self._duration_s(dist) + extra_s
        self.plan.move_to(t0, np.asarray(end_abs_deg) - held_deg, duration)
        return duration

    def _on_other_prompt(self, prompt: Prompt, t0: float) -> None:
        cfg = self.cfg
        held = self._held_deg(t0)
        now = self.plan.angles_deg([t0])[0] + held
        kind = prompt.kind
        target = prompt.target or {}
        if kind == "move_max":
            direction = _direction_of(prompt)
            channel, sign = DIRECTION_AXIS[direction]
            reach = cfg.rom_deg[direction] + float(self.rng.normal(0.0, cfg.rom_sd_deg))
            self.reaches.append({"direction": direction, "reach_deg": reach})
            end = now + self.rng.normal(0.0, 1.0, size=3)
            end[channel] = self.posture_deg[channel] + sign * reach
            self._plan_to(t0, end, held)
        elif kind == "learn_target":
            direction = _direction_of(prompt)
            channel, sign = DIRECTION_AXIS[direction]
            angle = float(target["angle_deg"])
            self._thp = (direction, self.posture_deg.copy(), angle)
            end = now + self.rng.normal(0.0, 0.5, size=3)
            end[channel] = self.posture_deg[channel] + sign * (
                angle + float(self.rng.normal(0.0, cfg.learn_sd_deg)))
            self._plan_to(t0, end, held)
        elif kind == "adjust" and self._thp is not None:
            channel, sign = DIRECTION_AXIS[self._thp[0]]
            offset = float(target["offset_deg"])
            end = now.copy()
            end[channel] -= sign * offset * (1.0 + float(self.rng.normal(0.0, 0.15)))
            self._plan_to(t0, end, held, extra_s=0.3)
        elif kind == "back_to_start" and self._thp is not None:
            start = self._thp[1] + self.rng.normal(0.0, 0.5, size=3)
            self._plan_to(t0, start, held)
        elif kind == "relocate" and self._thp is not None:
            direction, start_posture, angle = self._thp
            channel, sign = DIRECTION_AXIS[direction]
            error_deg = float(self.rng.normal(cfg.bias_deg[direction], cfg.sd_for(direction)))
            end = start_posture + self.rng.normal(0.0, cfg.offaxis_sd_deg, size=3)
            end[channel] = start_posture[channel] + sign * (angle + error_deg)
            self.relocations.append({"direction": direction, "error_deg": error_deg,
                                     "target_deg": end.tolist(), "test": "thp"})
            self._plan_to(t0, end, held)
        elif kind == "track":
            self.overlays.append(_tracking_overlay(target, cfg, self.rng))
        elif kind == "trace_start":
            start = np.asarray(target["start_deg"], dtype=np.float64)
            end = self.posture_deg + wall_to_angles_deg(start + self.rng.normal(0.0, 0.2, size=2))
            self._plan_to(t0, end, held)
        elif kind == "trace":
            self.overlays.append(_trace_overlay(target, t0, cfg, self.rng))


#: Prompt kinds of the range-of-motion, target relocation, tracking and tracing tests.
_OTHER_TEST_PROMPTS = ("move_max", "learn_target", "adjust", "hold_here", "back_to_start",
                       "relocate", "track", "trace_start", "trace")


def wall_to_angles_deg(point_deg) -> np.ndarray:
    """Head angles (axial, flexion, lateral) (…, 3) that put the laser at wall points (…, 2)
    given in deg of visual angle (x left, y up): axial = x; flexion = −atan(tan y · cos x)
    (the inverse of :func:`cervitrack.signal.kinematics.laser_point` without lateral flexion)."""
    p = np.asarray(point_deg, dtype=np.float64)
    axial = p[..., 0]
    flexion = -np.degrees(np.arctan(np.tan(np.radians(p[..., 1])) * np.cos(np.radians(axial))))
    return np.stack([axial, flexion, np.zeros_like(axial)], axis=-1)


class Overlay:
    """A movement added to the planned posture between t0_s and t1_s; after t1_s it holds the
    value it had at t1_s (angles (N, 3) in deg)."""

    def __init__(self, t0_s: float, t1_s: float, func) -> None:
        self.t0_s, self.t1_s, self.func = float(t0_s), float(t1_s), func
        self._final = func(np.array([self.t1_s]))[0]

    def truncate(self, t_s: float) -> None:
        if self.t0_s <= t_s < self.t1_s:
            self.t1_s = float(t_s)
            self._final = self.func(np.array([self.t1_s]))[0]

    def __call__(self, t) -> np.ndarray:
        out = np.zeros((len(t), 3))
        active = (t >= self.t0_s) & (t <= self.t1_s)
        if active.any():
            out[active] = self.func(t[active])
        out[t > self.t1_s] = self._final
        return out


def _tracking_overlay(spec: dict, cfg: PatientConfig, rng: np.random.Generator) -> Overlay:
    """The cursor follows the target at τ_eff = τ − lag·h(τ) (h: minimum-jerk ramp over the
    trajectory's ramp, so a leading patient does not jump at the start) plus smooth noise."""
    from cervitrack.trainer.clinical.trajectories import TrackingTrajectory

    traj = TrackingTrajectory.from_spec(spec)
    t_start = float(spec["t_start_s"])
    noise = SumOfSines(rng, (0.1, 0.5), cfg.tracking_noise_deg, channels=2)
    lag = cfg.tracking_lag_s

    def func(t):
        tau = t - t_start
        tau_eff = tau - lag * min_jerk(tau / traj.ramp_s)
        envelope = np.minimum(min_jerk(tau / traj.ramp_s), min_jerk((traj.duration_s - tau) / traj.ramp_s))
        point = traj.position_deg(tau_eff) + envelope[:, None] * noise(t)
        return wall_to_angles_deg(point)

    return Overlay(t_start, t_start + traj.duration_s + max(lag, 0.0) + 0.5, func)


def _trace_overlay(spec: dict, t0: float, cfg: PatientConfig, rng: np.random.Generator) -> Overlay:
    """Along the pattern in arc length s(τ) = L · min_jerk(τ / D), D = L / speed, from the
    current head position, plus smooth noise that vanishes at both ends."""
    from cervitrack.trainer.clinical.trajectories import make_pattern

    pattern = make_pattern(spec)
    duration = pattern.length_deg / cfg.trace_speed_deg_s
    noise = SumOfSines(rng, (0.15, 0.6), cfg.trace_error_deg, channels=2)
    start_angles = wall_to_angles_deg(pattern.start_deg)

    def func(t):
        u = (t - t0) / duration
        point = pattern.at_arc(pattern.length_deg * min_jerk(u))
        point = point + np.sin(np.pi * np.clip(u, 0, 1))[:, None] * noise(t)
        return wall_to_angles_deg(point) - start_angles

    return Overlay(t0, t0 + duration, func)
