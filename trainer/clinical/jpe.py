"""The neutral-head-position joint position error test (cervicocephalic relocation test).

Protocol (Revel et al. 1991, Arch Phys Med Rehabil 72:288–291; AlDahas et al. 2023, PLoS One 18(10):e0292798; Pinsault et al. 2008, Physiother Theory Pract, doi:10.1080/09593980701884824; Lee et al. 2006, Man Ther 11:61–68): seated, the person looks
straight ahead (the reference is captured), closes the eyes, moves in one direction as far as
comfortable, holds, returns to the perceived neutral and keeps still; the relocation is marked
automatically on stillness (mean orientation over the settled window, Pinsault et al. 2008; Lee et al. 2006, Man Ther 11:61–68) or manually. Then
eyes open, re-centre, next trial. Default 8 trials per direction (≥ 8 recommended for
reliability, Pinsault et al. 2008) in the order rotation left, rotation right, flexion,
extension (lateral flexion optional).

Before the trials, a functional calibration: keep still (gyro bias, up direction, neutral),
nod, turn (:mod:`cervitrack.calibration.alignment`). The same windows check that the sensor
agrees with itself (:mod:`cervitrack.signal.consistency`): at rest its orientation against its
accelerometer, in the nod and turn its orientation against its gyro. When they disagree the
calibration is redone with the reason in plain words ("this sensor's orientation and its
accelerometer disagree by 31°: wrong protocol or firmware setting?") and the calibration event
carries a ``sensor_check``. The check uses the device's own orientation when it sends one
(``PoseHistory.device_quat_wxyz``), whatever the pipeline fuses.

A lost signal (a :class:`~cervitrack.signal.samples.Gap` in the stream, samples more than
``signal_lost_s`` apart, or :meth:`JpeTest.check_signal` told that none came for that long)
pauses the test (event ``pause`` with the message to show); when samples arrive again it
resumes (event ``resume``): the trial under way is recorded as invalid with the reason
"signal lost" and redone (not counted against ``max_redos_per_direction``: the person did
nothing wrong), a calibration under way restarts from "sit still". Nothing measured across the
interruption is kept.

A trial is invalid, and redone up to ``max_redos_per_direction`` times, when the head did not
move at least ``min_amplitude_deg`` (a Cervitrack design default: 20° for rotation, 15° for
flexion/extension, 12° for lateral flexion; the literature asks for maximal or "comfortable"
range without a number), when it was still moving at a manual mark, or when a data gap fell
between the start of the reference window and the end of the relocation window. A manual
mark is invalid when the head had not come back (less than half-way) or was still moving at
the mark (smoothed angular speed at or above the stillness threshold).

The engine is pure: it consumes :class:`~cervitrack.trainer.live.pipeline.PoseBatch` objects and
returns :class:`~cervitrack.trainer.clinical.prompts.Prompt` objects; time is the samples' ``t_s``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cervitrack.calibration.alignment import functional_alignment
from cervitrack.calibration.head import HeadCalibration
from cervitrack.calibration.rest import GyroBiasAverager, estimate_rest
from cervitrack.signal import consistency, kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.signal.stillness import StillnessParams
from cervitrack.trainer.clinical import scoring
from cervitrack.trainer.clinical.history import PoseHistory
from cervitrack.trainer.clinical.prompts import Prompt, make_prompt

DIRECTIONS = ("rotation_left", "rotation_right", "flexion", "extension")
OPTIONAL_DIRECTIONS = ("lateral_left", "lateral_right")
#: Direction → (component name, sign of the outward movement in that component).
DIRECTION_COMPONENT = {
    "rotation_left": ("axial", +1.0),
    "rotation_right": ("axial", -1.0),
    "flexion": ("flexion", +1.0),
    "extension": ("flexion", -1.0),
    "lateral_left": ("lateral", -1.0),
    "lateral_right": ("lateral", +1.0),
}


@dataclass(frozen=True)
class JpeSettings:
    """Test settings (times in s, angles in deg)."""

    directions: tuple = DIRECTIONS
    trials_per_direction: int = 8
    min_amplitude_deg: dict = field(default_factory=lambda: {
        "rotation_left": 20.0, "rotation_right": 20.0, "flexion": 15.0, "extension": 15.0,
        "lateral_left": 12.0, "lateral_right": 12.0})
    stillness: StillnessParams = StillnessParams()
    rest_s: float = 4.0
    #: The rest window starts no earlier than this after "sit still": the gyro bias is its mean
    #: gyro reading, so the settling movement must be over (a design default).
    rest_start_s: float = 2.5
    #: After "recenter" (and "sit still"), a still window starts no earlier than this: time to
    #: open the eyes and find the centre (a design default).
    recenter_min_s: float = 1.5
    hold_s: float = 0.5
    calibration_motion_deg: float = 8.0
    max_redos_per_direction: int = 4
    move_timeout_s: float = 12.0
    return_timeout_s: float = 15.0
    max_calibration_attempts: int = 3
    #: Windows with fewer than this share of the expected samples count as a data gap.
    min_window_fill: float = 0.8
    #: An automatic relocation mark also needs the head angles to stay within this range over
    #: the settled window: a slow corrective drift (below the speed threshold) is waited out,
    #: so the mark is the final resting position (a design default).
    settle_range_deg: float = 0.5
    threshold_deg: float = scoring.THRESHOLD_DEFAULT_DEG
    #: "auto": the relocation is marked on stillness; "manual": only :meth:`JpeTest.mark`
    #: (a key or button) marks it (``return_timeout_s`` still applies).
    marking: str = "auto"
    #: No sample for longer than this is a lost signal: the test pauses and the trial under
    #: way is redone when the signal is back (s; a design default: 25-50 sample periods of the
    #: supported devices, far above their normal packet spacing, and short enough that a
    #: person is told before wondering why nothing happens).
    signal_lost_s: float = 0.5


@dataclass
class _Trial:
    direction: str
    attempt: int
    t_prompt_s: float = np.nan
    ref: dict | None = None
    q_ref_head: np.ndarray | None = None
    peak_deg: float = 0.0
    reached_t_s: float = np.nan
    came_back_t_s: float = np.nan


class JpeTest:
    """Neutral-head-position JPE test engine.

    Args:
        settings: test settings.
        rate_hz: the device's nominal sample rate (for window completeness checks).
        calibration: an existing calibration to reuse; None runs the functional calibration.
    """

    name = "jpe-neutral"

    def __init__(self, settings: JpeSettings = JpeSettings(), rate_hz: float = 100.0,
                 calibration: HeadCalibration | None = None) -> None:
        self.settings = settings
        self.rate_hz = rate_hz
        self.calibration = calibration
        self.history = PoseHistory()
        self.events: list[dict] = []
        self.trials: list[dict] = []
        self.phase = "idle"
        self._queue: deque[str] = deque(d for d in settings.directions
                                        for _ in range(settings.trials_per_direction))
        self._redos = {d: 0 for d in settings.directions}
        self._trial: _Trial | None = None
        self._phase_t_s = np.nan
        self._gap_times: list[float] = []
        self._manual_mark_t_s: float | None = None
        self._cal_attempts = 0
        self._rest = None
        self._nod = None
        self._motion_slices: list = []
        self._moved_t_s = np.nan
        #: Gyro bias (3,) rad/s from the rest and reference windows, for the fusion to use;
        #: updated whenever a window adds to it (None without raw gyro data).
        self.gyro_bias_update: np.ndarray | None = None
        self._bias = GyroBiasAverager()
        #: True while the signal is lost (see :meth:`check_signal`).
        self.paused = False
        self._last_sample_t_s = np.nan
        self._started = False

    # --------------------------------------------------------------------------- API
    @property
    def done(self) -> bool:
        return self.phase == "done"

    def start(self, t_s: float) -> list[Prompt]:
        """Begin the test at sample time t_s."""
        self._started = True
        self._last_sample_t_s = float(t_s)
        self._emit_event({"t_s": t_s, "kind": "test_start", "test": self.name,
                          "settings": {"directions": list(self.settings.directions),
                                       "trials_per_direction": self.settings.trials_per_direction}})
        if self.calibration is None:
            return [self._enter("cal_rest", t_s, "sit_still")]
        return [self._next_trial(t_s)]

    def mark(self, t_s: float) -> None:
        """Manual mark (key or button) at sample time t_s: record the relocation now.

        Only a mark given while the person is relocating (phase "return") counts."""
        if self.phase == "return":
            self._manual_mark_t_s = float(t_s)

    def check_signal(self, now_s: float) -> bool:
        """Tell the engine the time now on the samples' clock (host monotonic for a real
        device, simulated time for the simulator) when no sample came: after more than
        ``signal_lost_s`` without one the test pauses. Returns whether it is paused."""
        if (self._started and not self.paused and not self.done and np.isfinite(self._last_sample_t_s)
                and float(now_s) - self._last_sample_t_s > self.settings.signal_lost_s):
            self._pause(self._last_sample_t_s, "no data")
        return self.paused

    def update(self, pose) -> list[Prompt]:
        """Consume a PoseBatch; return the prompts issued."""
        for gap in pose.gaps:
            self._gap_times.append(float(self.history.t_s[-1]) if len(self.history.t_s) else -np.inf)
            self._emit_event({"t_s": self._gap_times[-1], "kind": "gap", "reason": gap.reason})
            if not self.done and not self.paused:
                self._pause(self._gap_times[-1], gap.reason)
        if len(pose) == 0:
            return []
        prompts = []
        t0 = float(pose.t_s[0])
        if (not self.paused and not self.done and np.isfinite(self._last_sample_t_s)
                and t0 - self._last_sample_t_s > self.settings.signal_lost_s):
            self._pause(self._last_sample_t_s, "no data")
        self._last_sample_t_s = float(pose.t_s[-1])
        self.history.append(pose)
        if self.paused:
            prompts.extend(self._resume(t0))
        t = pose.t_s
        i = 0
        while i < len(t) and not self.done:
            handler = getattr(self, f"_phase_{self.phase}", None)
            if handler is None:
                break
            j, prompt = handler(pose, i)
            if prompt is not None:
                prompts.extend(prompt if isinstance(prompt, list) else [prompt])
            if j is None:
                break
            i = j + 1
        return prompts

    # --------------------------------------------------------------------------- lost signal
    #: Phases of the functional calibration (restarted after a lost signal).
    CALIBRATION_PHASES = ("cal_rest", "cal_nod", "cal_turn")

    def _item_number(self) -> int:
        """1-based number of the trial under way (redone trials count)."""
        return len(self.trials) + 1

    def _in_item(self) -> bool:
        """A trial is under way (its reference captured): it is lost with the signal."""
        return self.phase not in ("idle", "done", "recenter") + self.CALIBRATION_PHASES

    def _pause(self, t_s: float, reason: str) -> None:
        self.paused = True
        if self.phase in self.CALIBRATION_PHASES:
            what = "calibration"
        elif self._in_item():
            what = f"trial {self._item_number()}"
        else:
            what = "test"
        self._paused_what = what
        self._emit_event({"t_s": float(t_s), "kind": "pause", "reason": reason, "phase": self.phase,
                          "trial": self._item_number(),
                          "text": f"Signal lost — {what} paused. Waiting for the sensor…"})

    def _resume(self, t_s: float) -> list[Prompt]:
        """The signal is back at sample time t_s: redo what was under way."""
        self.paused = False
        what = self._paused_what
        self._manual_mark_t_s = None
        self._moved_t_s = np.nan
        text = "Signal back."
        if what.startswith("trial"):
            text += f" {what.capitalize()} will be redone."
        elif what == "calibration":
            text += " The calibration starts again."
        self._emit_event({"t_s": float(t_s), "kind": "resume", "trial": self._item_number(), "text": text})
        if self.phase in self.CALIBRATION_PHASES:
            self._rest = self._nod = None
            return [self._enter("cal_rest", t_s, "sit_still")]
        if self._in_item():
            return self._abandon_item(t_s, "signal lost")
        if self.phase == "recenter":
            return [self._enter("recenter", t_s, "recenter")]
        return []

    def _abandon_item(self, t_s: float, reason: str) -> list[Prompt]:
        """Record the trial under way as invalid (``reason``) and redo it, without counting the
        redo against ``max_redos_per_direction``."""
        tr = self._trial
        assert tr is not None, "a trial is running"
        record = {"direction": tr.direction, "attempt": tr.attempt, "valid": False,
                  "reason": reason, "peak_deg": tr.peak_deg}
        self.trials.append(record)
        self._emit_event({"t_s": float(t_s), "kind": "trial", **record})
        return self._move_on(t_s, tr.direction, False, reason, counted=False)

    def _move_on(self, t_s: float, key: str, valid: bool, invalid: str | None,
                 counted: bool = True) -> list[Prompt]:
        """After a trial of ``key`` is recorded: the next trial when it was valid; else a redo
        of it (up to ``max_redos_per_direction`` per key; a redo not ``counted`` is always
        given), or past that the next trial. Returns the prompts."""
        prompts = []
        if valid:
            self._queue.popleft()
            prompts.append(self._enter(self.phase, t_s, "trial_recorded"))
        elif not counted:
            prompts.append(self._enter(self.phase, t_s, "redo", reason=f"Reason: {invalid}."))
        elif self._redos[key] < self.settings.max_redos_per_direction:
            self._redos[key] += 1
            prompts.append(self._enter(self.phase, t_s, "redo", reason=f"Reason: {invalid}."))
        else:
            self._queue.popleft()
        prompts.append(self._next_trial(t_s))
        return prompts

    # --------------------------------------------------------------------------- helpers
    def _emit_event(self, event: dict) -> None:
        self.events.append(event)

    def _enter(self, phase: str, t_s: float, prompt_kind: str, direction=None, reason="") -> Prompt:
        self.phase = phase
        self._phase_t_s = float(t_s)
        prompt = make_prompt(prompt_kind, float(t_s), direction, reason)
        self._emit_event(prompt.as_event())
        return prompt

    def _settled_index(self, pose, i0: int, hold_s: float, after_t_s: float) -> int | None:
        """First index >= i0 where the head has been still for hold_s, counting only time
        after after_t_s."""
        t = pose.t_s[i0:]
        since = np.maximum(pose.still_since_t_s[i0:], after_t_s)
        ok = pose.still[i0:] & (t - since >= hold_s - 1e-9)
        hit = np.flatnonzero(ok)
        return None if hit.size == 0 else i0 + int(hit[0])

    def _window(self, t1_s: float, length_s: float) -> dict:
        sl = self.history.window(t1_s - length_s, t1_s)
        return {"t0_s": float(self.history.t_s[sl][0]), "t1_s": float(self.history.t_s[sl][-1]),
                "seq_first": int(self.history.seq[sl][0]), "seq_last": int(self.history.seq[sl][-1]),
                "n": int(sl.stop - sl.start), "slice": sl}

    @property
    def _head_cal(self) -> HeadCalibration:
        """The head calibration; trials start only once the calibration phases set it."""
        assert self.calibration is not None, "no trial runs before the calibration"
        return self.calibration

    def _mean_head(self, window: dict) -> np.ndarray:
        return quat.mean(self._head_cal.world_head(self.history.q_world_sensor[window["slice"]]))

    def _window_range_deg(self, window: dict, q_ref_head: np.ndarray) -> float:
        """Largest peak-to-peak excursion of the three head angles (relative to the trial's
        reference) over a window, deg."""
        q_wh = self._head_cal.world_head(self.history.q_world_sensor[window["slice"]])
        angles = kinematics.head_angles_deg(quat.relative(q_ref_head, q_wh))
        return max(float(np.ptp(angles[k])) for k in ("axial", "flexion", "lateral"))

    def _component(self, pose, i0: int, q_ref_head: np.ndarray, direction: str) -> np.ndarray:
        name, sign = DIRECTION_COMPONENT[direction]
        q_wh = self._head_cal.world_head(pose.q_world_sensor[i0:])
        return sign * kinematics.head_angles_deg(quat.relative(q_ref_head, q_wh))[name]

    def _add_bias_window(self, window: dict) -> None:
        """Refine the gyro bias with a window in which the head was settled by protocol."""
        gyr = self.history.gyr_rad_s
        if gyr is None:
            return
        acc = self.history.acc_m_s2
        self._bias.add(gyr[window["slice"]], window["t1_s"] - window["t0_s"],
                       self.history.smoothed_speed_deg_s[window["slice"]],
                       acc_m_s2=None if acc is None else acc[window["slice"]])
        if self._bias.bias_rad_s is not None:
            self.gyro_bias_update = self._bias.bias_rad_s
            if self.calibration is not None:
                self.calibration.gyr_bias_rad_s = self.gyro_bias_update

    # --------------------------------------------------------------------------- calibration
    def _phase_cal_rest(self, pose, i0):
        j = self._settled_index(pose, i0, self.settings.rest_s,
                                self._phase_t_s + self.settings.rest_start_s)
        if j is None:
            return None, None
        w = self._window(float(pose.t_s[j]), self.settings.rest_s)
        gyr = None if self.history.gyr_rad_s is None else self.history.gyr_rad_s[w["slice"]]
        if gyr is not None and np.isnan(gyr).any():
            gyr = None
        acc = None if self.history.acc_m_s2 is None else self.history.acc_m_s2[w["slice"]]
        self._motion_slices = []
        self._rest = (w, estimate_rest(self.history.t_s[w["slice"]],
                                       self.history.q_world_sensor[w["slice"]], gyr, acc))
        self._add_bias_window(w)
        return j, self._enter("cal_nod", pose.t_s[j], "nod")

    def _movement(self, pose, i0, kind: str):
        """Common part of nod and turn: moved beyond the threshold, then settled."""
        start = self.history.window(self._phase_t_s, self._phase_t_s + 1.0)
        q0 = self.history.q_world_sensor[start.start] if start.stop > start.start else pose.q_world_sensor[i0]
        if np.isnan(self._moved_t_s):
            ang = quat.angle_deg(quat.relative(q0, pose.q_world_sensor[i0:]))
            hit = np.flatnonzero(ang > self.settings.calibration_motion_deg)
            if hit.size == 0:
                return None
            self._moved_t_s = float(pose.t_s[i0 + hit[0]])
        j = self._settled_index(pose, i0, self.settings.stillness.settle_s, self._moved_t_s)
        if j is None:
            return None
        sl = self.history.window(self._phase_t_s, float(pose.t_s[j]))
        self._moved_t_s = np.nan
        self._motion_slices.append(sl)
        return j, self.history.q_world_sensor[sl]

    def _phase_cal_nod(self, pose, i0):
        found = self._movement(pose, i0, "nod")
        if found is None:
            return None, None
        j, self._nod = found
        return j, self._enter("cal_turn", pose.t_s[j], "turn")

    def _phase_cal_turn(self, pose, i0):
        found = self._movement(pose, i0, "turn")
        if found is None:
            return None, None
        j, turn = found
        t = float(pose.t_s[j])
        rest_window, rest = self._rest
        alignment = functional_alignment(rest.up_sensor, self._nod, turn)
        self._cal_attempts += 1
        check = self._sensor_check(rest_window["slice"], self._motion_slices)
        problems = list(alignment.problems)
        event = {"t_s": t, "kind": "calibration", "attempt": self._cal_attempts,
                 "ok": alignment.ok, "score": alignment.score,
                 "quality": alignment.quality, "problems": problems}
        sensor_ok = True
        if check is not None:
            a = check.as_received
            sensor_ok = a.ok
            event["sensor_check"] = {
                "ok": a.ok, "gravity_angle_deg": a.gravity_angle_deg,
                "gyro_direction_deg": a.gyro_direction_deg, "gyro_ratio": a.gyro_ratio,
                "fix": check.fix, "message": check.message()}
            if not a.ok:
                problems.append(check.message()[:1].upper() + check.message()[1:] + ".")
        event["ok"] = alignment.ok and sensor_ok
        self._emit_event(event)
        if not event["ok"] and self._cal_attempts < self.settings.max_calibration_attempts:
            return j, self._enter("cal_rest", t, "redo", reason=" ".join(problems))
        self.calibration = HeadCalibration(
            q_sensor_head=alignment.q_sensor_head,
            q_world_neutral=quat.multiply(rest.q_world_sensor, alignment.q_sensor_head),
            gyr_bias_rad_s=rest.gyr_bias_rad_s if rest.bias_usable else None,
            quality={**alignment.quality, "score": alignment.score, "ok": alignment.ok},
        )
        return j, self._next_trial(t)

    def _sensor_check(self, rest_slice, motion_slices):
        """Orientation vs accelerometer over the rest window and vs gyro over the nod and turn
        (:func:`cervitrack.signal.consistency.diagnose`), or None without acc and gyro."""
        h = self.history
        if h.acc_m_s2 is None and h.gyr_rad_s is None:
            return None
        idx = np.r_[tuple(motion_slices)] if motion_slices else np.zeros(0, dtype=int)
        # The device's own orientation when it sends one (an orientation fused on the host
        # from the same accelerometer and gyro agrees with them by construction).
        q = h.device_quat_wxyz
        if q is None or np.isnan(q[rest_slice, 0]).any():
            q = h.q_world_sensor
        acc = None if h.acc_m_s2 is None else h.acc_m_s2[rest_slice]
        gyr = None if h.gyr_rad_s is None or idx.size < 3 else h.gyr_rad_s[idx]
        return consistency.diagnose(q[rest_slice], acc, None if gyr is None else q[idx], gyr,
                                    None if gyr is None else h.t_s[idx])

    # --------------------------------------------------------------------------- trials
    def _next_trial(self, t_s: float) -> Prompt:
        """The next queued trial (event ``trial_start``, then the re-centring prompt), or the
        end of the test when the queue is empty."""
        if not self._queue:
            self._emit_event({"t_s": t_s, "kind": "test_end", "test": self.name})
            return self._enter("done", t_s, "done")
        fields = self._start_item(self._queue[0])
        self._emit_event({"t_s": float(t_s), "kind": "trial_start", "trial": self._item_number(),
                          **fields})
        return self._enter("recenter", t_s, "recenter")

    def _start_item(self, key: str) -> dict:
        """Make the trial of ``key`` (the queue's head, here a direction) the one under way;
        returns the fields its ``trial_start`` event names it by."""
        attempt = self._redos[key]
        self._trial = _Trial(key, attempt)
        return {"direction": key, "attempt": attempt}

    def _recentred(self, pose, i0: int) -> tuple[int, dict, np.ndarray] | None:
        """Once the head has kept still for the stillness settle time, counting from
        ``recenter_min_s`` after the re-centring prompt: (index in ``pose``, that still
        :meth:`_window`, its mean world←head orientation quat_wxyz (4,)). None while not yet."""
        settle = self.settings.stillness.settle_s
        j = self._settled_index(pose, i0, settle, self._phase_t_s + self.settings.recenter_min_s)
        if j is None:
            return None
        ref = self._window(float(pose.t_s[j]), settle)
        return j, ref, self._mean_head(ref)

    def _phase_recenter(self, pose, i0):
        found = self._recentred(pose, i0)
        if found is None:
            return None, None
        j, ref, q_ref_head = found
        tr = self._trial
        tr.ref, tr.q_ref_head = ref, q_ref_head
        self._add_bias_window(tr.ref)
        prompt = self._enter("move", pose.t_s[j], "move", tr.direction)
        tr.t_prompt_s = float(pose.t_s[j])
        return j, prompt

    def _phase_move(self, pose, i0):
        tr = self._trial
        s = self.settings
        a = self._component(pose, i0, tr.q_ref_head, tr.direction)
        t = pose.t_s[i0:]
        tr.peak_deg = max(tr.peak_deg, float(a.max()))
        if np.isnan(tr.reached_t_s):
            hit = np.flatnonzero(a >= s.min_amplitude_deg[tr.direction])
            if hit.size:
                tr.reached_t_s = float(t[hit[0]])
        if not np.isnan(tr.reached_t_s):
            j = self._settled_index(pose, i0, s.hold_s, tr.reached_t_s)
            if j is not None:
                tr.peak_deg = max(tr.peak_deg, float(a[: j - i0 + 1].max()))
                return j, self._enter("return", pose.t_s[j], "return")
            return None, None
        if tr.peak_deg >= 5.0:
            j = self._settled_index(pose, i0, 1.5, tr.t_prompt_s + 0.5)
            if j is not None:
                return j, self._finish(pose.t_s[j], invalid="the movement was not large enough")
        if t[-1] - tr.t_prompt_s > s.move_timeout_s:
            return len(pose) - 1, self._finish(t[-1], invalid="no movement was detected")
        return None, None

    def _phase_return(self, pose, i0):
        tr = self._trial
        s = self.settings
        settle = s.stillness.settle_s
        t = pose.t_s[i0:]
        if np.isnan(tr.came_back_t_s):
            a = self._component(pose, i0, tr.q_ref_head, tr.direction)
            hit = np.flatnonzero(a <= 0.5 * tr.peak_deg)
            if hit.size:
                tr.came_back_t_s = float(t[hit[0]])
        if self._manual_mark_t_s is not None and t[-1] >= self._manual_mark_t_s:
            j = min(i0 + int(np.searchsorted(t, self._manual_mark_t_s)), len(pose) - 1)
            self._manual_mark_t_s = None
            window = self._window(float(pose.t_s[j]), settle)
            if np.isnan(tr.came_back_t_s) or tr.came_back_t_s > pose.t_s[j]:
                invalid = "the head had not come back at the mark"
            elif self.history.smoothed_speed_deg_s[window["slice"]][-1] >= s.stillness.speed_threshold_deg_s:
                invalid = "the head was still moving at the mark"
            else:
                invalid = None
            return j, self._finish(pose.t_s[j], window=window, invalid=invalid)
        if s.marking == "manual":
            if t[-1] - self._phase_t_s > s.return_timeout_s:
                return len(pose) - 1, self._finish(t[-1], invalid="no mark was given in time")
            return None, None
        if not np.isnan(tr.came_back_t_s):
            start = i0
            while (j := self._settled_index(pose, start, settle, tr.came_back_t_s)) is not None:
                window = self._window(float(pose.t_s[j]), settle)
                if self._window_range_deg(window, tr.q_ref_head) <= s.settle_range_deg:
                    return j, self._finish(pose.t_s[j], window=window)
                start = j + 1  # a slow corrective drift: slide the window on
        if t[-1] - self._phase_t_s > s.return_timeout_s:
            return len(pose) - 1, self._finish(t[-1], invalid="no stable relocation was found")
        return None, None

    def _finish(self, t_s: float, window: dict | None = None, invalid: str | None = None) -> list[Prompt]:
        tr = self._trial
        assert tr is not None, "a trial is running"
        s = self.settings
        t_s = float(t_s)
        record = {"direction": tr.direction, "attempt": tr.attempt, "valid": False,
                  "reason": invalid, "peak_deg": tr.peak_deg}
        # A relocation window is searched for only after the reference window was set.
        assert window is None or tr.ref is not None
        if window is not None and tr.ref is not None and invalid is None:
            t0 = tr.ref["t0_s"]
            if any(t0 <= g <= window["t1_s"] for g in self._gap_times):
                invalid = "a data gap occurred during the trial"
            expected = s.stillness.settle_s * self.rate_hz
            if min(tr.ref["n"], window["n"]) < s.min_window_fill * expected:
                invalid = "samples were lost during the trial"
        if window is not None and tr.ref is not None:
            q_ret_head = self._mean_head(window)
            q_err = quat.relative(tr.q_ref_head, q_ret_head)
            angles = kinematics.head_angles_deg(q_err)
            name, sign = DIRECTION_COMPONENT[tr.direction]
            record.update({
                "error_deg": {k: float(angles[k]) for k in ("axial", "flexion", "lateral", "global")},
                "signed_error_deg": float(-sign * angles[name]),
                "ref_window": {k: v for k, v in tr.ref.items() if k != "slice"},
                "ret_window": {k: v for k, v in window.items() if k != "slice"},
            })
        valid = invalid is None and window is not None
        record["valid"] = valid
        record["reason"] = invalid
        self.trials.append(record)
        self._emit_event({"t_s": t_s, "kind": "trial", **record})
        return self._move_on(t_s, tr.direction, valid, invalid)

    # --------------------------------------------------------------------------- results
    def scores(self) -> dict:
        """Per-direction scores over valid trials (see :mod:`cervitrack.trainer.clinical.scoring`)."""
        out = {}
        for d in self.settings.directions:
            valid = [tr for tr in self.trials if tr["direction"] == d and tr["valid"]]
            sc = scoring.direction_scores([tr["signed_error_deg"] for tr in valid],
                                          [tr["error_deg"]["global"] for tr in valid])
            sc["flag"] = scoring.flag(sc["ae_deg"], self.settings.threshold_deg)
            out[d] = sc
        return out
