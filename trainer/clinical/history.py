"""A rolling window of recent poses, for windows that span several pipeline batches.

Keeps the last ``horizon_s`` seconds of sample times, counters, sensor orientations, gyro
and accelerometer readings and stillness; consumers select time windows from it.

Storage: each column lives in a preallocated array; samples are appended after the newest and
the oldest are dropped by moving the start. When the array is full the kept samples are moved
to the front (or the array doubles), so an append costs O(batch) on average. (Concatenating
the whole 60 s window on every batch, as before, cost ~0.15 ms per 6-sample live chunk at
400 Hz: the largest item of the pipeline thread after publication.)

The attributes (``t_s``, ``seq``, ``q_world_sensor``, ``gyr_rad_s``, ``acc_m_s2``,
``device_quat_wxyz``, ``smoothed_speed_deg_s``) are views of the kept samples, oldest first; they stay valid until
the next :meth:`PoseHistory.append`.
"""

from __future__ import annotations

import numpy as np

#: Initial capacity, samples (grows by doubling).
INITIAL_CAPACITY = 1024
#: Columns kept only once a batch carries them: sample channel → width.
_OPTIONAL = {"gyr_rad_s": 3, "acc_m_s2": 3, "quat_wxyz": 4}


class PoseHistory:
    """Args:
        horizon_s: how much to keep, s (samples older than the newest minus this are dropped).
    """

    def __init__(self, horizon_s: float = 60.0) -> None:
        self.horizon_s = horizon_s
        self._lo = 0
        self._hi = 0
        self._cols: dict[str, np.ndarray] = {}
        self._alloc(INITIAL_CAPACITY)

    def _alloc(self, capacity: int) -> None:
        shapes = {"t_s": ((), np.float64), "seq": ((), np.int64), "q_world_sensor": ((4,), np.float64),
                  "smoothed_speed_deg_s": ((), np.float64)}
        for name, width in _OPTIONAL.items():
            if name in self._cols:
                shapes[name] = ((width,), np.float64)
        new = {name: np.empty((capacity, *shape), dtype=dtype) for name, (shape, dtype) in shapes.items()}
        n = self._hi - self._lo
        for name, arr in self._cols.items():
            new[name][:n] = arr[self._lo:self._hi]
        self._cols, self._lo, self._hi = new, 0, n

    def _view(self, name: str):
        arr = self._cols.get(name)
        return None if arr is None else arr[self._lo:self._hi]

    t_s = property(lambda self: self._view("t_s"), doc="(N,) sample times, s.")
    seq = property(lambda self: self._view("seq"), doc="(N,) sample counters.")
    q_world_sensor = property(lambda self: self._view("q_world_sensor"),
                              doc="(N, 4) sensor→world orientation, scalar first.")
    smoothed_speed_deg_s = property(lambda self: self._view("smoothed_speed_deg_s"),
                                    doc="(N,) smoothed angular speed, deg/s.")
    gyr_rad_s = property(lambda self: self._view("gyr_rad_s"),
                         doc="(N, 3) angular rate, sensor frame, rad/s (NaN where not sent), or None.")
    acc_m_s2 = property(lambda self: self._view("acc_m_s2"),
                        doc="(N, 3) specific force, sensor frame, m/s² (NaN where not sent), or None.")
    device_quat_wxyz = property(lambda self: self._view("quat_wxyz"),
                                doc="(N, 4) the device's own orientation as sent, sensor→world "
                                    "(NaN where not sent), or None (it may differ from "
                                    "q_world_sensor, which may be fused on the host).")

    def __len__(self) -> int:
        return self._hi - self._lo

    def append(self, pose) -> None:
        """Add a :class:`~cervitrack.trainer.live.pipeline.PoseBatch`."""
        n = len(pose)
        if n == 0:
            return
        s = pose.samples
        capacity = len(self._cols["t_s"])
        if self._hi + n > capacity:
            kept = self._hi - self._lo
            self._alloc(capacity if kept + n <= capacity // 2 else 2 * (kept + n))
        for name, width in _OPTIONAL.items():
            if getattr(s, name, None) is not None and name not in self._cols:
                arr = np.full((len(self._cols["t_s"]), width), np.nan)
                self._cols[name] = arr
        lo, hi = self._hi, self._hi + n
        c = self._cols
        c["t_s"][lo:hi] = s.t_s
        c["seq"][lo:hi] = s.seq
        c["q_world_sensor"][lo:hi] = pose.q_world_sensor
        c["smoothed_speed_deg_s"][lo:hi] = pose.smoothed_speed_deg_s
        for name in _OPTIONAL:
            if name in c:
                new = getattr(s, name, None)
                c[name][lo:hi] = np.nan if new is None else new
        self._hi = hi
        t = c["t_s"]
        self._lo += int(np.searchsorted(t[self._lo:hi], t[hi - 1] - self.horizon_s))

    def window(self, t0_s: float, t1_s: float) -> slice:
        """Slice (of the attributes' views) of the samples with t0_s <= t_s <= t1_s."""
        t = self.t_s
        lo = np.searchsorted(t, t0_s, side="left")
        hi = np.searchsorted(t, t1_s, side="right")
        return slice(int(lo), int(hi))
