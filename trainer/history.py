"""A rolling window of recent poses, for windows that span several pipeline batches.

Keeps the last ``horizon_s`` seconds of sample times, counters, sensor orientations, gyro
and accelerometer readings and stillness; consumers select time windows from it. Appends concatenate numpy arrays
(a few hundred µs at most per batch for a 60 s horizon at 400 Hz).
"""

from __future__ import annotations

import numpy as np


class PoseHistory:
    def __init__(self, horizon_s: float = 60.0) -> None:
        self.horizon_s = horizon_s
        self.t_s = np.zeros(0)
        self.seq = np.zeros(0, dtype=np.int64)
        self.q_world_sensor = np.zeros((0, 4))
        self.gyr_rad_s: np.ndarray | None = None
        self.acc_m_s2: np.ndarray | None = None
        self.smoothed_speed_deg_s = np.zeros(0)

    def append(self, pose) -> None:
        """Add a :class:`~cervitrack.trainer.pipeline.PoseBatch`."""
        if len(pose) == 0:
            return
        s = pose.samples
        self.t_s = np.concatenate([self.t_s, s.t_s])
        self.seq = np.concatenate([self.seq, s.seq])
        self.q_world_sensor = np.concatenate([self.q_world_sensor, pose.q_world_sensor])
        self.smoothed_speed_deg_s = np.concatenate([self.smoothed_speed_deg_s, pose.smoothed_speed_deg_s])
        for name in ("gyr_rad_s", "acc_m_s2"):
            new, kept = getattr(s, name), getattr(self, name)
            if new is not None:
                old = kept if kept is not None else np.full((len(self.t_s) - len(s), 3), np.nan)
                setattr(self, name, np.concatenate([old, new]))
            elif kept is not None:
                setattr(self, name, np.concatenate([kept, np.full((len(s), 3), np.nan)]))
        cut = np.searchsorted(self.t_s, self.t_s[-1] - self.horizon_s)
        if cut > 0:
            self.t_s, self.seq = self.t_s[cut:], self.seq[cut:]
            self.q_world_sensor = self.q_world_sensor[cut:]
            self.smoothed_speed_deg_s = self.smoothed_speed_deg_s[cut:]
            if self.gyr_rad_s is not None:
                self.gyr_rad_s = self.gyr_rad_s[cut:]
            if self.acc_m_s2 is not None:
                self.acc_m_s2 = self.acc_m_s2[cut:]

    def window(self, t0_s: float, t1_s: float) -> slice:
        """Slice of the samples with t0_s <= t_s <= t1_s."""
        lo, hi = np.searchsorted(self.t_s, [t0_s, t1_s], side="left")
        hi = np.searchsorted(self.t_s, t1_s, side="right")
        return slice(int(lo), int(hi))
