"""Target paths on the virtual wall: Butterfly-style tracking trajectories and tracing patterns.

All positions are in degrees of visual angle on the wall (x positive to the person's left,
y up; :func:`cervitrack.signal.kinematics.laser_point`), times in s from the start of the path.

**Tracking trajectories** (Cervitrack's own design; the published Butterfly trajectories are
unpublished, Kristjansson & Gíslason 2023, Austin J Musculoskelet Disord 10(1):1063). For a level with amplitude A, base frequency f0,
component weights w_k, frequency ratios ρ_xk, ρ_yk, phases ψ_xk, ψ_yk, and velocity modulation
depths m_j, rates g_j and phases χ_j:

    φ(t)  = t' + Σ_j m_j / (2π g_j) · sin(2π g_j t' + χ_j),   t' = t + r · REPETITION_SHIFT_S
    s_x(φ) = A · Σ_k (w_k / Σw) · sin(2π f0 ρ_xk φ + ψ_xk)        (same for y)
    p(t)  = e(t) · (s(φ(t)) − s(φ(0)))

so the speed along the path is modulated by φ'(t) = 1 + Σ_j m_j cos(2π g_j t' + χ_j), which
stays within [1 − Σm, 1 + Σm] (Σm < 1: the target never stops or reverses along its path);
the frequency ratios are irrational (√2, √3, √5, golden ratio), so the path never repeats.
Repetition r starts ``REPETITION_SHIFT_S`` · r further along the same endless path, so each
repetition is different but reproducible. The envelope e(t) rises from 0 to 1 over ``ramp_s``
at the start and falls back to 0 over ``ramp_s`` at the end (minimum-jerk profile), and the
path is shifted by s(φ(0)), so the target starts and ends at rest at the centre.
The level table :data:`LEVELS` holds every constant; ``amplitude_scale`` and ``speed_scale``
(A and f0, g_j multipliers) let a preset make a level gentler or harder without code.

**Tracing patterns**: a figure-eight (lemniscate x = W/2 · sin θ, y = H/2 · sin 2θ, θ: 0 → 2π,
starting and ending at the centre, first towards the person's left and up) and a zigzag (from
x = +W/2 to −W/2 through 2·teeth straight strokes alternating between y = +H/2 and −H/2,
starting and ending on y = 0). Both are sampled densely (``step_deg``) with cumulative arc
length, so distances to the path and progress along it are table look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: How far along the endless path each repetition starts, s (irrational multiple of the rates).
REPETITION_SHIFT_S = 41.3

#: Level constants (angles in deg, frequencies in Hz).
LEVELS: dict[str, dict] = {
    "easy": {
        "amplitude_deg": 3.0, "f0_hz": 0.06,
        "weights": [1.0, 0.5],
        "ratio_x": [1.0, 2.2360680], "ratio_y": [1.4142136, 2.6180340],
        "phase_x": [0.0, 1.9], "phase_y": [0.0, 4.1],
        "mod_depth": [0.30], "mod_hz": [0.047], "mod_phase": [0.7],
    },
    "medium": {
        "amplitude_deg": 6.0, "f0_hz": 0.07,
        "weights": [1.0, 0.6, 0.35],
        "ratio_x": [1.0, 1.7320508, 2.6180340], "ratio_y": [1.4142136, 2.2360680, 3.1415927],
        "phase_x": [0.0, 2.3, 5.1], "phase_y": [0.0, 3.7, 1.2],
        "mod_depth": [0.30, 0.20], "mod_hz": [0.043, 0.071], "mod_phase": [0.4, 2.9],
    },
    "hard": {
        "amplitude_deg": 11.0, "f0_hz": 0.08,
        "weights": [1.0, 0.7, 0.5],
        "ratio_x": [1.0, 1.6180340, 2.6457513], "ratio_y": [1.2247449, 2.2360680, 3.3166248],
        "phase_x": [0.0, 2.8, 4.4], "phase_y": [0.0, 1.5, 3.3],
        "mod_depth": [0.40, 0.25], "mod_hz": [0.053, 0.089], "mod_phase": [1.1, 5.3],
    },
}


def _min_jerk(s):
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10.0 + s * (-15.0 + 6.0 * s))


def _min_jerk_rate(s):
    """d/ds of the minimum-jerk profile (zero outside [0, 1])."""
    inside = (s > 0) & (s < 1)
    return np.where(inside, 30.0 * s**2 * (1.0 - s) ** 2, 0.0)


@dataclass(frozen=True)
class TrackingTrajectory:
    """One repetition of a tracking level.

    Attributes:
        level: "easy", "medium" or "hard" (a key of :data:`LEVELS`).
        repetition: 0-based repetition index (selects the stretch of the endless path).
        duration_s: length of the repetition, s (including both ramps).
        ramp_s: envelope rise and fall time, s.
        amplitude_scale: multiplies the level's amplitude.
        speed_scale: multiplies the level's frequencies (and so its speeds).
    """

    level: str
    repetition: int = 0
    duration_s: float = 20.0
    ramp_s: float = 2.0
    amplitude_scale: float = 1.0
    speed_scale: float = 1.0

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"unknown tracking level {self.level!r} (levels: {', '.join(LEVELS)})")
        if not self.duration_s > 2 * self.ramp_s:
            raise ValueError("duration_s must be longer than twice ramp_s")

    @classmethod
    def from_spec(cls, spec: dict) -> TrackingTrajectory:
        keys = ("level", "repetition", "duration_s", "ramp_s", "amplitude_scale", "speed_scale")
        return cls(**{k: spec[k] for k in keys if k in spec})

    def spec(self) -> dict:
        return {"kind": "tracking", "level": self.level, "repetition": self.repetition,
                "duration_s": self.duration_s, "ramp_s": self.ramp_s,
                "amplitude_scale": self.amplitude_scale, "speed_scale": self.speed_scale}

    # ---------------------------------------------------------------- the endless path
    def _phase(self, t_s):
        """φ(t') and φ'(t') for path time t' (s)."""
        c = LEVELS[self.level]
        tp = np.asarray(t_s, dtype=np.float64) + self.repetition * REPETITION_SHIFT_S
        phi = tp.copy()
        rate = np.ones_like(tp)
        for m, g, chi in zip(c["mod_depth"], c["mod_hz"], c["mod_phase"]):
            g = g * self.speed_scale
            phi = phi + m / (2 * np.pi * g) * np.sin(2 * np.pi * g * tp + chi)
            rate = rate + m * np.cos(2 * np.pi * g * tp + chi)
        return phi, rate

    def _shape(self, phi):
        """s(φ) (N, 2) and ds/dφ (N, 2)."""
        c = LEVELS[self.level]
        amp = c["amplitude_deg"] * self.amplitude_scale
        w = np.asarray(c["weights"]) / np.sum(c["weights"])
        f0 = c["f0_hz"] * self.speed_scale
        out, deriv = [], []
        for ratios, phases in ((c["ratio_x"], c["phase_x"]), (c["ratio_y"], c["phase_y"])):
            arg = 2 * np.pi * f0 * np.asarray(ratios)[None] * phi[:, None] + np.asarray(phases)[None]
            out.append(amp * (w[None] * np.sin(arg)).sum(axis=1))
            deriv.append(amp * (w[None] * 2 * np.pi * f0 * np.asarray(ratios)[None] * np.cos(arg)).sum(axis=1))
        return np.stack(out, axis=1), np.stack(deriv, axis=1)

    def _envelope(self, t):
        r = self.ramp_s
        up = _min_jerk(t / r)
        down = _min_jerk((self.duration_s - t) / r)
        env = np.minimum(up, down)
        rate = np.where(up <= down, _min_jerk_rate(t / r) / r, -_min_jerk_rate((self.duration_s - t) / r) / r)
        return env, rate

    def position_deg(self, t_s) -> np.ndarray:
        """(N, 2) target position at times t_s (s from the start); (0, 0) outside the run."""
        return self.state(t_s)[0]

    def velocity_deg_s(self, t_s) -> np.ndarray:
        """(N, 2) target velocity at times t_s, deg/s (exact derivative)."""
        return self.state(t_s)[1]

    def state(self, t_s) -> tuple[np.ndarray, np.ndarray]:
        """(position (N, 2) deg, velocity (N, 2) deg/s) at times t_s."""
        t = np.clip(np.atleast_1d(np.asarray(t_s, dtype=np.float64)), 0.0, self.duration_s)
        phi, rate = self._phase(t)
        s, ds = self._shape(phi)
        s0, _ = self._shape(self._phase(np.zeros(1))[0])
        env, env_rate = self._envelope(t)
        pos = env[:, None] * (s - s0)
        vel = env_rate[:, None] * (s - s0) + env[:, None] * ds * rate[:, None]
        outside = (np.asarray(t_s, dtype=np.float64).reshape(-1) <= 0) | (
            np.asarray(t_s, dtype=np.float64).reshape(-1) >= self.duration_s)
        vel[outside] = 0.0
        return pos, vel


# ------------------------------------------------------------------------- tracing patterns
@dataclass(frozen=True)
class TracePattern:
    """A densely sampled tracing path.

    Attributes:
        name: "figure8" or "zigzag".
        points_deg: (M, 2) points along the path, deg (x left, y up).
        arc_deg: (M,) cumulative arc length, deg.
    """

    name: str
    points_deg: np.ndarray
    arc_deg: np.ndarray

    @property
    def length_deg(self) -> float:
        return float(self.arc_deg[-1])

    @property
    def start_deg(self) -> np.ndarray:
        return self.points_deg[0]

    def at_arc(self, s_deg) -> np.ndarray:
        """(N, 2) points at arc lengths s_deg (clipped to the path)."""
        s = np.clip(np.atleast_1d(np.asarray(s_deg, dtype=np.float64)), 0.0, self.length_deg)
        return np.stack([np.interp(s, self.arc_deg, self.points_deg[:, 0]),
                         np.interp(s, self.arc_deg, self.points_deg[:, 1])], axis=1)

    def tangent_at_arc(self, s_deg) -> np.ndarray:
        """(N, 2) unit tangents at arc lengths s_deg."""
        s = np.atleast_1d(np.asarray(s_deg, dtype=np.float64))
        h = 0.05
        d = self.at_arc(np.minimum(s + h, self.length_deg)) - self.at_arc(np.maximum(s - h, 0.0))
        return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)

    def nearest(self, points_deg, arc_lo_deg: float = 0.0, arc_hi_deg: float = np.inf):
        """Distance to the path and arc length of the nearest path point, searching only the
        stretch arc_lo_deg ≤ s ≤ arc_hi_deg (so a crossing of the path is not mistaken for
        progress).

        Args:
            points_deg: (N, 2) positions, deg.

        Returns:
            (distance_deg (N,), arc_deg (N,)).
        """
        p = np.asarray(points_deg, dtype=np.float64).reshape(-1, 2)
        lo, hi = np.searchsorted(self.arc_deg, [arc_lo_deg, arc_hi_deg], side="left")
        hi = max(hi, lo + 1)
        seg = self.points_deg[lo:hi]
        d2 = ((p[:, None, :] - seg[None, :, :]) ** 2).sum(axis=2)
        k = np.argmin(d2, axis=1)
        return np.sqrt(d2[np.arange(len(p)), k]), self.arc_deg[lo + k]

    def spec(self) -> dict:
        return {"kind": "trace", "pattern": self.name}


def _resample(vertices: np.ndarray, step_deg: float) -> tuple[np.ndarray, np.ndarray]:
    seg = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0.0, arc[-1], max(2, int(np.ceil(arc[-1] / step_deg)) + 1))
    pts = np.stack([np.interp(s, arc, vertices[:, 0]), np.interp(s, arc, vertices[:, 1])], axis=1)
    return pts, s


def figure_eight(width_deg: float = 30.0, height_deg: float = 12.0, step_deg: float = 0.05) -> TracePattern:
    """The figure-eight x = W/2 sin θ, y = H/2 sin 2θ, θ from 0 to 2π."""
    theta = np.linspace(0.0, 2 * np.pi, 4001)
    vertices = np.stack([width_deg / 2 * np.sin(theta), height_deg / 2 * np.sin(2 * theta)], axis=1)
    pts, arc = _resample(vertices, step_deg)
    return TracePattern("figure8", pts, arc)


def zigzag(width_deg: float = 30.0, height_deg: float = 10.0, teeth: int = 3,
           step_deg: float = 0.05) -> TracePattern:
    """A zigzag from x = +W/2 to −W/2: 2·teeth strokes between y = +H/2 and −H/2."""
    n = 2 * teeth
    x = width_deg / 2 - np.arange(n + 1) * width_deg / n
    y = np.where(np.arange(n + 1) % 2 == 1, height_deg / 2, -height_deg / 2)
    y[0] = y[-1] = 0.0
    pts, arc = _resample(np.stack([x, y], axis=1), step_deg)
    return TracePattern("zigzag", pts, arc)


PATTERNS: dict[str, Callable[..., TracePattern]] = {"figure8": figure_eight, "zigzag": zigzag}


def make_pattern(spec: dict) -> TracePattern:
    """A pattern from a spec {"pattern": name, "width_deg", "height_deg", ("teeth")}."""
    name = spec.get("pattern")
    if name not in PATTERNS:
        raise ValueError(f"unknown tracing pattern {name!r} (patterns: {', '.join(PATTERNS)})")
    kwargs = {k: spec[k] for k in ("width_deg", "height_deg", "teeth") if k in spec}
    if name == "figure8":
        kwargs.pop("teeth", None)
    return PATTERNS[name](**kwargs)
