"""Head-motion primitives: minimum-jerk movements, physiological tremor and postural sway.

Everything is a deterministic function of time, so a trajectory can be evaluated at any
sample times (and at neighbouring times for derivatives) without stepping.

Angles are the anatomical components of :mod:`cervitrack.signal.kinematics` (axial, flexion,
lateral), in degrees, stacked as (N, 3) in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANGLE_ORDER = ("axial", "flexion", "lateral")


def min_jerk(s) -> np.ndarray:
    """Minimum-jerk position profile 10s³ − 15s⁴ + 6s⁵ for normalised time s in [0, 1]
    (Flash & Hogan 1985); clipped outside."""
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    return s**3 * (10.0 + s * (-15.0 + 6.0 * s))


@dataclass(frozen=True)
class Segment:
    """A minimum-jerk movement of the three angles from ``start_deg`` to ``end_deg`` (3,)
    between times ``t0_s`` and ``t1_s``."""

    t0_s: float
    t1_s: float
    start_deg: tuple
    end_deg: tuple


class SegmentPlan:
    """A growing list of movement segments; the head holds still between segments."""

    def __init__(self, rest_deg=(0.0, 0.0, 0.0)) -> None:
        self._segments: list[Segment] = []
        self._rest = np.asarray(rest_deg, dtype=np.float64)
        self._t0 = np.zeros(0)

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    @property
    def end_time_s(self) -> float:
        return self._segments[-1].t1_s if self._segments else -np.inf

    def angles_deg(self, t_s) -> np.ndarray:
        """(N, 3) planned angles (axial, flexion, lateral) at times t_s."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        if not self._segments:
            return np.broadcast_to(self._rest, (len(t), 3)).copy()
        idx = np.searchsorted(self._t0, t, side="right") - 1
        out = np.broadcast_to(self._rest, (len(t), 3)).copy()
        for i in np.unique(idx[idx >= 0]):
            seg = self._segments[i]
            sel = idx == i
            start, end = np.asarray(seg.start_deg), np.asarray(seg.end_deg)
            s = (t[sel] - seg.t0_s) / max(seg.t1_s - seg.t0_s, 1e-9)
            out[sel] = start + (end - start) * min_jerk(s)[:, None]
        return out

    def move_to(self, t0_s: float, end_deg, duration_s: float) -> Segment:
        """Append a movement starting at t0_s from wherever the plan is then."""
        start = self.angles_deg([t0_s])[0]
        # A new segment replaces any planned movement after t0_s.
        while self._segments and self._segments[-1].t0_s >= t0_s:
            self._segments.pop()
        if self._segments and self._segments[-1].t1_s > t0_s:
            last = self._segments.pop()
            self._segments.append(Segment(last.t0_s, t0_s, last.start_deg, tuple(start)))
        seg = Segment(float(t0_s), float(t0_s + duration_s), tuple(start), tuple(np.asarray(end_deg, float)))
        self._segments.append(seg)
        self._t0 = np.array([s.t0_s for s in self._segments])
        return seg


class SumOfSines:
    """A smooth random signal: a sum of sinusoids with seeded frequencies and phases.

    Args:
        rng: numpy Generator.
        band_hz: (low, high) frequency band.
        amplitude: RMS-like amplitude of each output channel (same unit as the output).
        channels: number of independent channels.
        n_components: sinusoids per channel.
    """

    def __init__(self, rng: np.random.Generator, band_hz: tuple[float, float], amplitude: float,
                 channels: int = 3, n_components: int = 6) -> None:
        self.freq_hz = rng.uniform(*band_hz, size=(channels, n_components))
        self.phase = rng.uniform(0, 2 * np.pi, size=(channels, n_components))
        weights = rng.uniform(0.5, 1.0, size=(channels, n_components))
        # Scale so each channel's RMS equals `amplitude`: RMS of Σ a_k sin = sqrt(Σ a_k²/2).
        self.amp = amplitude * weights / np.sqrt((weights**2).sum(axis=1, keepdims=True) / 2.0)

    def __call__(self, t_s) -> np.ndarray:
        """(N, channels) values at times t_s."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        arg = 2 * np.pi * self.freq_hz[None] * t[:, None, None] + self.phase[None]
        return (self.amp[None] * np.sin(arg)).sum(axis=-1)
