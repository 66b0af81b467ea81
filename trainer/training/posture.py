"""Opt-in desk posture reminder: sustained forward head flexion while the sensor is worn.

A pure streaming detector over head angles (relative to the calibrated neutral, which is the
person's own upright posture). Rules, **design choices** (no validated threshold for a
head-worn IMU was found; see docs/training.md):

- "flexed" while ``flexion_deg`` > ``threshold_deg`` (default 20°: well beyond the few degrees
  of natural posture variation and small desk glances, and inside the range where forward head
  posture loads the neck noticeably);
- a reminder when the head has been flexed for ``hold_min`` minutes (default 10) without a
  break: a break is ``break_s`` (default 20 s) continuously below the threshold minus
  ``hysteresis_deg`` (5°), so that short glances up do not reset the count and noise at the
  threshold does not toggle it;
- at most one reminder per ``min_interval_min`` minutes (default 30): gentle, not nagging;
- data gaps (sensor off, out of range) reset the count: the detector never reminds about time
  it did not see.

Input per batch: sample times ``t_s`` (N,) and ``flexion_deg`` (N,) (e.g. from
``PoseBatch.angles_deg()["flexion"]``). Output: reminder times (s).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

REMINDER_TEXT = ("You have been looking down for a while. Gently lift your head, draw your chin "
                 "back a little and look ahead for a moment.")


@dataclass(frozen=True)
class PostureSettings:
    threshold_deg: float = 20.0
    hysteresis_deg: float = 5.0
    hold_min: float = 10.0
    break_s: float = 20.0
    min_interval_min: float = 30.0
    #: A jump between 1 s bins larger than this is a data gap, s.
    max_gap_s: float = 3.0
    #: Samples are reduced to medians over bins of this length, s (posture changes slowly).
    bin_s: float = 1.0


class PostureDetector:
    """Streaming detector; feed batches in time order with :meth:`update`.

    Samples are reduced to the median flexion of each ``bin_s`` bin (numpy, batched), and the
    rules run once per completed bin, so hours of 100 Hz data cost milliseconds.
    """

    def __init__(self, settings: PostureSettings = PostureSettings()) -> None:
        self.s = settings
        self.flexed_since_t_s: float | None = None
        self.below_since_t_s: float | None = None
        self.last_reminder_t_s = -np.inf
        self.last_bin_t_s: float | None = None
        self._t = np.zeros(0)
        self._f = np.zeros(0)

    def update(self, t_s, flexion_deg) -> list[float]:
        """Process a batch; return the times (s, bin ends) of reminders issued in it."""
        t = np.concatenate([self._t, np.asarray(t_s, dtype=np.float64)])
        f = np.concatenate([self._f, np.asarray(flexion_deg, dtype=np.float64)])
        if t.size == 0:
            return []
        k = np.floor(t / self.s.bin_s).astype(np.int64)
        done = k < k[-1]
        self._t, self._f = t[~done], f[~done]
        if not done.any():
            return []
        kd, fd = k[done], f[done]
        starts = np.flatnonzero(np.r_[True, np.diff(kd) != 0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins give NaN: a gap
            medians = np.array([np.nanmedian(part) for part in np.split(fd, starts[1:])])
        ends = (kd[starts] + 1) * self.s.bin_s
        return self._rules(ends, medians)

    def _rules(self, t_bins, f_bins) -> list[float]:
        s = self.s
        out = []
        for ti, fi in zip(t_bins.tolist(), f_bins.tolist()):
            if self.last_bin_t_s is not None and ti - self.last_bin_t_s > s.max_gap_s:
                self.flexed_since_t_s = self.below_since_t_s = None
            self.last_bin_t_s = ti
            if not np.isfinite(fi):
                self.flexed_since_t_s = self.below_since_t_s = None
                continue
            if fi > s.threshold_deg:
                self.below_since_t_s = None
                if self.flexed_since_t_s is None:
                    self.flexed_since_t_s = ti
            elif fi < s.threshold_deg - s.hysteresis_deg:
                if self.below_since_t_s is None:
                    self.below_since_t_s = ti
                if ti - self.below_since_t_s >= s.break_s:
                    self.flexed_since_t_s = None
            if (self.flexed_since_t_s is not None and ti - self.flexed_since_t_s >= s.hold_min * 60.0
                    and ti - self.last_reminder_t_s >= s.min_interval_min * 60.0):
                out.append(float(ti))
                self.last_reminder_t_s = ti
                self.flexed_since_t_s = ti
        return out


class PostureMonitor:
    """The detector as an engine (``start``/``update``/``done``/``events``) over calibrated
    poses: issues a ``posture_reminder`` prompt per reminder; ``done`` after ``duration_s``
    (None: never, for an open-ended desk session)."""

    name = "posture"

    def __init__(self, calibration, settings: PostureSettings = PostureSettings(),
                 duration_s: float | None = None) -> None:
        from cervitrack.signal import kinematics

        self._angles = kinematics.head_angles_deg
        self.calibration = calibration
        self.detector = PostureDetector(settings)
        self.duration_s = duration_s
        self.events: list[dict] = []
        self.reminders_t_s: list[float] = []
        self._t0_s: float | None = None
        self.done = False
        self.gyro_bias_update = None

    def start(self, t_s: float) -> list:
        self._t0_s = float(t_s)
        self.events.append({"t_s": float(t_s), "kind": "posture_start"})
        return []

    def update(self, pose) -> list:
        from cervitrack.trainer.clinical.prompts import Prompt

        if len(pose) == 0 or self.done:
            return []
        flexion = self._angles(self.calibration.neutral_head(pose.q_world_sensor))["flexion"]
        prompts = []
        for t in self.detector.update(pose.t_s, flexion):
            self.reminders_t_s.append(t)
            prompt = Prompt(kind="posture_reminder", t_s=t, text=REMINDER_TEXT)
            self.events.append(prompt.as_event())
            prompts.append(prompt)
        if self.duration_s is not None and pose.t_s[-1] - self._t0_s >= self.duration_s:
            self.done = True
        return prompts
