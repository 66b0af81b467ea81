"""Stillness detection: when has the head settled?

A sample is *still* when the causally smoothed angular speed is below
``speed_threshold_deg_s``; the head is *settled* once it has been still for at least
``settle_s``. Defaults follow the design in Pinsault et al. 2008, Physiother Theory Pract, doi:10.1080/09593980701884824; Lee et al. 2006, Man Ther 11:61–68
("mean orientation over a settled window, e.g. 1 s after |ω| < ~5°/s"):

- ``speed_threshold_deg_s`` = 5 deg/s,
- ``smoothing_s`` = 0.15 s (time constant of a first-order low-pass on the speed; suppresses
  physiological tremor at 8-12 Hz, whose speed peaks are a few deg/s),
- ``settle_s`` = 1.0 s (the averaging window for a relocation mark).

The detector is streaming and causal: feed chunks in order; the state carries over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

#: Chunks of at most this many samples take the plain-float path.
_SCALAR_MAX = 16


@dataclass(frozen=True)
class StillnessParams:
    speed_threshold_deg_s: float = 5.0
    smoothing_s: float = 0.15
    settle_s: float = 1.0


class StillnessDetector:
    """Streaming stillness detector over (t_s, angular speed) samples."""

    def __init__(self, params: StillnessParams = StillnessParams()) -> None:
        self.params = params
        self._zi: np.ndarray | None = None
        self._alpha = 0.0
        self._last_t_s = np.nan
        #: Start time of the current still run, s (NaN while moving).
        self.still_since_t_s = np.nan

    def reset(self) -> None:
        self._zi = None
        self._alpha = 0.0
        self._last_t_s = np.nan
        self.still_since_t_s = np.nan

    def _smooth_scalar(self, t, x) -> np.ndarray:
        alpha = self._alpha
        if self._zi is None:
            dt = np.diff(t)
            dt = dt[dt > 0]
            alpha = 1.0 - math.exp(-(float(dt.mean()) if dt.size else 0.01) / self.params.smoothing_s)
            self._zi = np.array([(1 - alpha) * x[0]])
        # lfilter's state zi is (1 − α)·y[n−1].
        y = float(self._zi[0]) / (1.0 - alpha)
        out = []
        for v in x.tolist():
            y += alpha * (v - y)
            out.append(y)
        self._zi = np.array([(1.0 - alpha) * y])
        self._alpha = alpha
        return np.array(out)

    def _runs_scalar(self, t, smoothed):
        """Still flags, run starts and settled flags sample by sample (small chunks)."""
        threshold, settle = self.params.speed_threshold_deg_s, self.params.settle_s - 1e-9
        run = self.still_since_t_s
        still, since, settled = [], [], []
        for ti, v in zip(t.tolist(), smoothed.tolist()):
            if v < threshold:
                if run != run:  # NaN: a new still run starts here
                    run = ti
                still.append(True)
                since.append(run)
                settled.append(ti - run >= settle)
            else:
                run = math.nan
                still.append(False)
                since.append(math.nan)
                settled.append(False)
        return np.array(still), np.array(since), np.array(settled)

    def update(self, t_s, speed_deg_s) -> dict[str, np.ndarray]:
        """Process one chunk.

        Args:
            t_s: (N,) sample times, s, increasing.
            speed_deg_s: (N,) angular speed, deg/s (NaN is treated as moving).

        Returns:
            dict of (N,) arrays: ``smoothed_deg_s``, ``still`` (bool), ``settled`` (bool) and
            ``still_since_t_s`` (start of the current still run, NaN while moving).
        """
        t = np.asarray(t_s, dtype=np.float64)
        speed = np.asarray(speed_deg_s, dtype=np.float64)
        n = len(t)
        if n == 0:
            empty = np.zeros(0)
            return {"smoothed_deg_s": empty, "still": empty.astype(bool),
                    "settled": empty.astype(bool), "still_since_t_s": empty}
        x = np.where(np.isfinite(speed), speed, 1e3)
        if n <= _SCALAR_MAX:
            # A live chunk of a few samples: plain floats beat array calls. The smoothing factor
            # is the previous chunk's (at the start, from this chunk's mean interval): the same
            # result as the array path for a uniformly sampled stream.
            smoothed = self._smooth_scalar(t, x)
        else:
            dt = np.diff(t, prepend=t[0] if np.isnan(self._last_t_s) else self._last_t_s)
            dt_typ = float(np.median(dt[dt > 0])) if np.any(dt > 0) else 0.01
            alpha = 1.0 - np.exp(-dt_typ / self.params.smoothing_s)
            if self._zi is None:
                self._zi = np.array([(1 - alpha) * x[0]])
            smoothed, self._zi = sps.lfilter([alpha], [1.0, -(1.0 - alpha)], x, zi=self._zi)
            self._alpha = alpha
        if n <= _SCALAR_MAX:
            still, since, settled = self._runs_scalar(t, smoothed)
        else:
            still = smoothed < self.params.speed_threshold_deg_s
            # Start time of each still run: the time of the first still sample after a moving one.
            run_start = np.where(still & ~np.concatenate([[False], still[:-1]]), t, np.nan)
            if still[0] and np.isfinite(self.still_since_t_s):
                run_start[0] = self.still_since_t_s
            idx = np.where(np.isfinite(run_start), np.arange(n), 0)
            idx = np.maximum.accumulate(idx)
            since = np.where(still, run_start[idx], np.nan)
            settled = still & (t - since >= self.params.settle_s - 1e-9)
        self.still_since_t_s = float(since[-1])
        self._last_t_s = t[-1]
        return {"smoothed_deg_s": smoothed, "still": still, "settled": settled,
                "still_since_t_s": since}
