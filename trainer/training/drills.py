"""Training drills as engines: relocation (to neutral or to a target) and the ROM warm-up.

Both have the test-engine interface of :class:`cervitrack.trainer.clinical.jpe.JpeTest`:
``start(t_s)`` and ``update(pose)`` return :class:`DrillPrompt` lists, ``done``, ``events``,
``trials``; they need a :class:`~cervitrack.calibration.head.HeadCalibration` (the session runs
the functional calibration first). Pure: time is the samples' ``t_s``.

Relocation to neutral (Treleaven 2008, Man Ther 13:2–11; Kristjansson & Treleaven 2009, JOSPT 39:364–377; Jull et al. 2007, J Orthop Res 25:404–412 drill 1, the JPE
protocol of Revel et al. 1991; AlDahas et al. 2023, PLoS One 18(10):e0292798 used for practice): look at the centre (reference captured), move
``amplitude_deg`` in a direction and hold, come back to the centre and keep still. With
``vision="laser"`` the eyes stay open and the laser dot stays visible (concurrent feedback);
with ``vision="closed"`` the eyes are closed and knowledge of results (KR) follows by the fading
schedule of :mod:`cervitrack.trainer.training.feedback`, after a self-estimate.

Relocation to a target (target-head relocation, Revel et al. 1991; AlDahas et al. 2023, PLoS One 18(10):e0292798 HTT/THP): eyes open, move the laser dot
onto a target ``amplitude_deg`` away and hold (the target posture is captured), come back to
the centre, then close the eyes and find the target again. The error is the relocated posture
relative to the captured target posture.

Errors (deg): the error rotation q_err = q_goal⁻¹ ⊗ q_reached in head axes, decomposed as
:func:`cervitrack.signal.kinematics.head_angles_deg`; ``signed_error_deg`` is the component of
the movement's plane, positive = overshoot (past the goal in the direction of the last
movement), as the JPE scoring (Lee et al. 2006, Man Ther 11:61–68); ``abs_error_deg`` its absolute value (AE per trial).

The ROM warm-up moves to a marker at the soft limit (75 % of the pain-free ROM, Rushton et al. 2023, JOSPT 53(1):7–22; NeckCare Home instructions for use design
proposal) and back, eyes open, ``reps`` times per direction; it records the peak reached and
reminds gently when the person goes more than 5° past the marker (design choice).

A lost signal is handled as in the clinical engines (:class:`~cervitrack.trainer.clinical.jpe.JpeTest`):
a :class:`~cervitrack.signal.samples.Gap` in the stream, samples more than ``signal_lost_s``
apart, or :meth:`_DrillEngine.check_signal` told that none came for that long, pauses the
drill (event ``pause``, "Signal lost — trial N paused. Waiting for the sensor…"); when samples
arrive again it resumes (event ``resume``): the trial under way is recorded as invalid with the
reason "signal lost" and redone (a ``redo`` prompt, then the same direction again), a
re-centring under way starts again. Nothing measured across the interruption is kept.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace

import numpy as np

from cervitrack.calibration.head import HeadCalibration
from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.signal.stillness import StillnessParams
from cervitrack.trainer.clinical.history import PoseHistory
from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT, JpeSettings
from cervitrack.trainer.clinical.prompts import DIRECTION_TEXT, Prompt, make_prompt
from cervitrack.trainer.training import feedback
from cervitrack.trainer.training.levels import SPEEDS

#: Going this far past the warm-up marker earns a gentle reminder (design choice), deg.
WARMUP_OVERSHOOT_REMINDER_DEG = 5.0
#: A movement faster than this multiple of the instructed speed earns a "slower" reminder.
TOO_FAST_FACTOR = 2.0
#: No sample for longer than this pauses a drill, s: the clinical engines' value
#: (:attr:`cervitrack.trainer.clinical.jpe.JpeSettings.signal_lost_s`).
SIGNAL_LOST_S = JpeSettings.signal_lost_s
#: The words of a lost signal, as the clinical engines say them (``what``: "trial 3",
#: "training").
SIGNAL_LOST_TEXT = "Signal lost — {what} paused. Waiting for the sensor…"


@dataclass(frozen=True)
class DrillPrompt(Prompt):
    """A prompt with the drill's parameters, for views and the virtual patient.

    Kinds (besides the shared ``recenter``):
        ``drill_move``: move ``amplitude_deg`` in ``direction`` and hold (neutral task), or
            put the dot on the target (target task, ``vision`` "laser").
        ``drill_return``: come back to the centre and keep still (neutral task).
        ``drill_back``: eyes open, come back to the centre (target task).
        ``drill_relocate``: eyes closed, find the target again and keep still.
        ``estimate``: "where do you think you are?" (answer with :meth:`RelocationDrill.answer`).
        ``feedback``: the dot is revealed (``text`` says where it was).
        ``summary``: summary KR.
        ``slow_down``: gentle reminder to move more slowly.
        ``warmup_move`` / ``warmup_return``: ROM warm-up movement to the marker and back.
        ``warmup_reminder``: no need to go past the marker.
        ``block_done``: the drill is finished.
    """

    amplitude_deg: float = 0.0
    vision: str = "closed"
    speed_deg_s: float = 20.0

    def as_event(self) -> dict:
        """The shared prompt event plus the movement's parameters (a movement prompt), so that
        a program following the events file (``cervitrack emulate --events``) can do the drill."""
        event = super().as_event()
        if self.kind.startswith(("drill_", "warmup_")):
            event.update(amplitude_deg=self.amplitude_deg, vision=self.vision, speed_deg_s=self.speed_deg_s)
        return event

    @classmethod
    def from_event(cls, event: dict) -> Prompt:
        """The prompt of an events-file line (:meth:`as_event`): a DrillPrompt when the line
        carries a drill movement's parameters, else a plain Prompt. KeyError, TypeError or
        ValueError when the line is not a prompt."""
        kind, t_s = str(event["prompt"]), float(event.get("t_s", np.nan))
        direction, text = event.get("direction"), str(event.get("text", ""))
        if "amplitude_deg" not in event:
            return Prompt(kind=kind, t_s=t_s, direction=direction, text=text, target=event.get("target"))
        return cls(kind=kind, t_s=t_s, direction=direction, text=text, amplitude_deg=float(event["amplitude_deg"]),
                   vision=str(event.get("vision", "closed")), speed_deg_s=float(event.get("speed_deg_s", 20.0)))


def _prompt(kind, t_s, text, direction=None, **kw) -> DrillPrompt:
    return DrillPrompt(kind=kind, t_s=float(t_s), direction=direction, text=text, **kw)


def settled_index(pose, i0: int, hold_s: float, after_t_s: float) -> int | None:
    """First index ≥ i0 of ``pose`` where the head has been still for ``hold_s`` s, counting
    only the time after ``after_t_s``."""
    t = pose.t_s[i0:]
    since = np.maximum(pose.still_since_t_s[i0:], after_t_s)
    hit = np.flatnonzero(pose.still[i0:] & (t - since >= hold_s - 1e-9))
    return None if hit.size == 0 else i0 + int(hit[0])


class _DrillEngine(abc.ABC):
    """Shared phase machinery: a phase handler ``_phase_<name>(pose, i0)`` returns
    ``(index consumed or None, prompts or None)``."""

    name = "drill"
    #: The text of the prompt that ends the block (each drill its own).
    DONE_TEXT: str
    #: The events-file ``kind`` of a trial's record.
    RECORD_KIND = "trial"
    _trial: _Trial | None
    #: The directions of the block's trials, in order (a lost trial's direction is inserted again).
    order: list[str]

    def __init__(self, calibration: HeadCalibration, stillness: StillnessParams = StillnessParams(),
                 recenter_min_s: float = 1.5, hold_s: float = 0.5, move_timeout_s: float = 12.0,
                 return_timeout_s: float = 15.0, signal_lost_s: float = SIGNAL_LOST_S) -> None:
        if calibration is None or calibration.q_world_neutral is None:
            raise ValueError("a drill needs a head calibration")
        self.calibration = calibration
        self.settle_s = stillness.settle_s
        self.recenter_min_s = recenter_min_s
        self.hold_s = hold_s
        self.move_timeout_s = move_timeout_s
        self.return_timeout_s = return_timeout_s
        self.history = PoseHistory()
        self.events: list[dict] = []
        self.trials: list[dict] = []
        self.phase = "idle"
        self._phase_t_s = np.nan
        self.gyro_bias_update = None
        self.signal_lost_s = signal_lost_s
        #: True while the signal is lost (see :meth:`check_signal`).
        self.paused = False
        self._paused_what = ""
        self._last_sample_t_s = np.nan
        self._started = False

    #: Phases in which a trial is under way (its reference captured): lost with the signal.
    ITEM_PHASES: tuple[str, ...] = ("move", "return")

    @property
    def done(self) -> bool:
        return self.phase == "done"

    def _began(self, t_s: float) -> None:
        """Called by ``start``: the signal is watched from ``t_s`` on."""
        self._started = True
        self._last_sample_t_s = float(t_s)

    # ------------------------------------------------------------------ lost signal
    def check_signal(self, now_s: float) -> bool:
        """Tell the drill the time now on the samples' clock when no sample came: after more
        than ``signal_lost_s`` without one it pauses. Returns whether it is paused."""
        if (self._started and not self.paused and not self.done and np.isfinite(self._last_sample_t_s)
                and float(now_s) - self._last_sample_t_s > self.signal_lost_s):
            self._pause(self._last_sample_t_s, "no data")
        return self.paused

    def _pause(self, t_s: float, reason: str) -> None:
        self.paused = True
        number = len(self.trials) + 1
        self._paused_what = f"trial {number}" if self.phase in self.ITEM_PHASES else "training"
        self.events.append({"t_s": float(t_s), "kind": "pause", "reason": reason, "phase": self.phase,
                            "trial": number, "block": self.name,
                            "text": SIGNAL_LOST_TEXT.format(what=self._paused_what)})

    def _resume(self, t_s: float) -> list[Prompt]:
        """The signal is back at sample time t_s: redo what was under way."""
        self.paused = False
        what = self._paused_what
        text = "Signal back." + (f" {what.capitalize()} will be redone." if what.startswith("trial") else "")
        self.events.append({"t_s": float(t_s), "kind": "resume", "trial": len(self.trials) + 1,
                            "block": self.name, "text": text})
        if self.phase in self.ITEM_PHASES:
            return self._abandon(float(t_s))
        if self.phase == "recenter":  # the re-centring starts again from now
            return self._enter("recenter", self._recenter_prompt(t_s))
        return []

    def _recenter_text(self) -> str:
        return "Look straight ahead at the centre and keep still."

    def _recenter_prompt(self, t_s: float) -> Prompt:
        return replace(make_prompt("recenter", t_s), text=self._recenter_text())

    @abc.abstractmethod
    def _lost_record(self, tr: _Trial) -> dict:
        """The record of trial ``tr`` lost with the signal (``valid`` False, ``reason``
        "signal lost"); each drill its own."""

    def _abandon(self, t_s: float) -> list[Prompt]:
        """The trial under way is lost with the signal: recorded as invalid and redone next."""
        tr = self._current
        rec = self._lost_record(tr)
        self.trials.append(rec)
        self.events.append({"t_s": float(t_s), "kind": self.RECORD_KIND, **rec})
        self.order.insert(tr.index + 1, tr.direction)
        return self._redo_prompt(t_s, "signal lost") + self._next_trial(t_s)

    def _next_trial(self, t_s: float) -> list[Prompt]:
        """The next trial of :attr:`order` (its re-centring prompt), or the block's end when
        every trial is recorded."""
        index = len(self.trials)
        if index >= len(self.order):
            self.events.append({"t_s": float(t_s), "kind": "block_end", "block": self.name})
            return self._enter("done", _prompt("block_done", t_s, self.DONE_TEXT))
        self._trial = _Trial(index, self.order[index])
        return self._enter("recenter", self._recenter_prompt(t_s))

    def _redo_prompt(self, t_s: float, reason: str) -> list[Prompt]:
        p = make_prompt("redo", t_s, reason=f"Reason: {reason}.")
        return self._enter(self.phase, _prompt("redo", t_s, p.text))

    @property
    def _current(self) -> _Trial:
        """The trial being run (set by the engine's first trial, kept until the next)."""
        assert self._trial is not None, "a trial is running"
        return self._trial

    def _enter(self, phase: str, prompt: Prompt | None) -> list[Prompt]:
        self.phase = phase
        if prompt is not None:
            self._phase_t_s = prompt.t_s
            self.events.append(prompt.as_event())
            return [prompt]
        return []

    def update(self, pose) -> list[Prompt]:
        """Consume a PoseBatch; return the prompts issued."""
        for gap in pose.gaps:
            t_gap = float(self.history.t_s[-1]) if len(self.history.t_s) else self._last_sample_t_s
            self.events.append({"t_s": t_gap, "kind": "gap", "reason": gap.reason})
            if self._started and not self.done and not self.paused:
                self._pause(t_gap, gap.reason)
        if len(pose) == 0:
            return []
        prompts: list[Prompt] = []
        t0 = float(pose.t_s[0])
        if (self._started and not self.paused and not self.done and np.isfinite(self._last_sample_t_s)
                and t0 - self._last_sample_t_s > self.signal_lost_s):
            self._pause(self._last_sample_t_s, "no data")
        self._last_sample_t_s = float(pose.t_s[-1])
        self.history.append(pose)
        if self.paused:
            prompts.extend(self._resume(t0))
        i = 0
        while i < len(pose) and not self.done:
            handler = getattr(self, f"_phase_{self.phase}", None)
            if handler is None:
                break
            j, out = handler(pose, i)
            prompts.extend(out or [])
            if j is None:
                break
            i = j + 1
        return prompts

    def _mean_head(self, t1_s: float) -> tuple[np.ndarray, dict]:
        sl = self.history.window(t1_s - self.settle_s, t1_s)
        q = quat.mean(self.calibration.world_head(self.history.q_world_sensor[sl]))
        return q, {"t0_s": float(self.history.t_s[sl][0]), "t1_s": float(self.history.t_s[sl][-1]),
                   "n": int(sl.stop - sl.start)}

    def _outward_deg(self, pose, i0: int, q_ref_head: np.ndarray, direction: str) -> np.ndarray:
        """Angle (N,) of the movement's component relative to q_ref_head, positive outward."""
        name, sign = DIRECTION_COMPONENT[direction]
        q_wh = self.calibration.world_head(pose.q_world_sensor[i0:])
        return sign * kinematics.head_angles_deg(quat.relative(q_ref_head, q_wh))[name]

    def _timed_out(self, pose, limit_s: float) -> bool:
        """More than ``limit_s`` s have passed since the phase's prompt (sample time)."""
        return float(pose.t_s[-1]) - self._phase_t_s > limit_s

    def _recentred(self, pose, i0: int) -> int | None:
        """Index where the head has kept still for ``settle_s`` s, counting from
        ``recenter_min_s`` s after the re-centring prompt; there the trial's reference
        ``q_ref_head`` (the mean world←head orientation over that still window) is captured.
        None while not yet."""
        j = settled_index(pose, i0, self.settle_s, self._phase_t_s + self.recenter_min_s)
        if j is not None:
            self._current.q_ref_head, _ = self._mean_head(float(pose.t_s[j]))
        return j

    def _reached(self, pose, i0: int, a: np.ndarray, goal_deg: float, hold_s: float) -> int | None:
        """Index where the head, after first reaching ``goal_deg`` outward, has kept still for
        ``hold_s`` s; None while not yet. ``a``: the outward angle (N,) of pose samples i0…,
        deg (:meth:`_outward_deg`). The first crossing is kept as the trial's ``reached_t_s``."""
        tr = self._current
        if np.isnan(tr.reached_t_s):
            hit = np.flatnonzero(a >= goal_deg)
            if hit.size:
                tr.reached_t_s = float(pose.t_s[i0 + hit[0]])
        if np.isnan(tr.reached_t_s):
            return None
        return settled_index(pose, i0, hold_s, tr.reached_t_s)

    def _came_back(self, pose, i0: int, a: np.ndarray, share: float) -> int | None:
        """Index where the head, after coming back below ``share`` × the trial's peak angle,
        has kept still for ``settle_s`` s; None while not yet. ``a`` as for :meth:`_reached`;
        the crossing is kept as the trial's ``came_back_t_s``."""
        tr = self._current
        if np.isnan(tr.came_back_t_s):
            hit = np.flatnonzero(a <= share * tr.peak_deg)
            if hit.size:
                tr.came_back_t_s = float(pose.t_s[i0 + hit[0]])
        if np.isnan(tr.came_back_t_s):
            return None
        return settled_index(pose, i0, self.settle_s, tr.came_back_t_s)


@dataclass
class _Trial:
    index: int
    direction: str
    q_ref_head: np.ndarray | None = None
    q_goal_head: np.ndarray | None = None
    peak_deg: float = 0.0
    peak_speed_deg_s: float = 0.0
    reached_t_s: float = np.nan
    came_back_t_s: float = np.nan
    record: dict = field(default_factory=dict)


class RelocationDrill(_DrillEngine):
    """A block of relocation trials.

    Args:
        calibration: the session's head calibration.
        task: "neutral" or "target".
        vision: "laser" (eyes open, concurrent feedback) or "closed".
        feedback_mode: one of feedback.MODES ("concurrent" goes with vision "laser").
        amplitude_deg: direction → excursion or target offset, deg.
        directions: the order of directions; ``reps`` trials each, interleaved (L, R, F, E, L, …).
        speed: key of levels.SPEEDS.
    """

    name = "relocation"
    DONE_TEXT = "Well done, that block is finished."
    ITEM_PHASES = ("move", "return", "back", "relocate")

    def __init__(self, calibration: HeadCalibration, task: str, vision: str, feedback_mode: str,
                 amplitude_deg: dict, directions, reps: int, speed: str = "slow", **kw) -> None:
        super().__init__(calibration, **kw)
        if task not in ("neutral", "target"):
            raise ValueError(f"unknown relocation task {task!r}")
        if vision not in ("laser", "closed"):
            raise ValueError(f"unknown vision {vision!r}")
        feedback.kr_after_trial(feedback_mode, 0)  # validates the mode
        self.task, self.vision, self.feedback_mode = task, vision, feedback_mode
        self.amplitude_deg = {d: float(amplitude_deg[d]) for d in directions}
        self.speed = speed
        self.speed_deg_s = SPEEDS[speed][1]
        self.order = [d for _ in range(reps) for d in directions]
        self._trial: _Trial | None = None
        self._since_summary: list[float] = []

    # ------------------------------------------------------------------ flow
    def start(self, t_s: float) -> list[Prompt]:
        self.events.append({"t_s": float(t_s), "kind": "block_start", "block": self.name,
                            "task": self.task, "vision": self.vision, "feedback": self.feedback_mode,
                            "amplitude_deg": self.amplitude_deg, "trials": len(self.order)})
        self._began(t_s)
        return self._next_trial(t_s)

    def _recenter_text(self) -> str:
        if self.vision == "laser":  # eyes open all along: nothing to open
            return "Look straight ahead at the centre and keep still."
        return make_prompt("recenter", 0.0).text

    def _lost_record(self, tr: _Trial) -> dict:
        tr.record = {"index": tr.index, "direction": tr.direction, "task": self.task,
                     "vision": self.vision, "amplitude_deg": self.amplitude_deg[tr.direction],
                     "valid": False, "reason": "signal lost", "kr": False, "estimate": None,
                     "peak_deg": tr.peak_deg}
        return tr.record

    def _kw(self, direction):
        return {"amplitude_deg": self.amplitude_deg[direction], "vision": self.vision,
                "speed_deg_s": self.speed_deg_s}

    def _phase_recenter(self, pose, i0):
        j = self._recentred(pose, i0)
        if j is None:
            return None, None
        d = self._current.direction
        how = SPEEDS[self.speed][0]
        amp = self.amplitude_deg[d]
        if self.task == "neutral":
            eyes = ("Keep your eyes open and watch the dot." if self.vision == "laser"
                    else "Close your eyes.")
            text = f"{eyes} {DIRECTION_TEXT[d].capitalize()}, {how}, about {amp:.0f}°, then hold."
        else:
            text = (f"Eyes open: {DIRECTION_TEXT[d]} {how} until the dot is on the target "
                    f"({amp:.0f}°), then hold and remember where it is.")
        return j, self._enter("move", _prompt("drill_move", pose.t_s[j], text, d, **self._kw(d)))

    def _track_move(self, pose, i0, reach_share: float, ref, hold_s: float) -> int | None:
        """Update peak angle/speed; return the index where the goal was reached and held
        still for ``hold_s``."""
        tr = self._current
        a = self._outward_deg(pose, i0, ref, tr.direction)
        tr.peak_deg = max(tr.peak_deg, float(a.max()))
        tr.peak_speed_deg_s = max(tr.peak_speed_deg_s, float(pose.smoothed_speed_deg_s[i0:].max()))
        return self._reached(pose, i0, a, reach_share * self.amplitude_deg[tr.direction], hold_s)

    def _phase_move(self, pose, i0):
        tr = self._current
        # The target posture is a reference: its whole averaging window must be settled.
        hold = self.hold_s if self.task == "neutral" else self.settle_s
        j = self._track_move(pose, i0, 0.5, tr.q_ref_head, hold)
        if j is None:
            return self._wait_or_skip(pose, self.move_timeout_s, "no movement was detected")
        t = pose.t_s[j]
        d = tr.direction
        if self.task == "neutral":
            text = ("Now bring the dot back to the centre and keep still." if self.vision == "laser"
                    else "Keeping your eyes closed, come back to the centre and keep still.")
            return j, self._enter("return", _prompt("drill_return", t, text, d, **self._kw(d)))
        tr.q_goal_head, _ = self._mean_head(float(t))
        tr.came_back_t_s = np.nan
        return j, self._enter("back", _prompt("drill_back", t, "Good. Eyes open, come back to the centre.",
                                              d, **self._kw(d)))

    def _returned(self, pose, i0, ref, share=0.5) -> int | None:
        """Index where the head came back below share × peak (relative to ref) and settled."""
        return self._came_back(pose, i0, self._outward_deg(pose, i0, ref, self._current.direction), share)

    def _phase_return(self, pose, i0):
        j = self._returned(pose, i0, self._current.q_ref_head)
        if j is None:
            return self._wait_or_skip(pose, self.return_timeout_s, "no stable relocation was found")
        return j, self._measure(float(pose.t_s[j]), self._current.q_ref_head)

    def _phase_back(self, pose, i0):
        j = self._returned(pose, i0, self._current.q_ref_head)
        if j is None:
            return self._wait_or_skip(pose, self.return_timeout_s, "did not come back to the centre")
        tr = self._current
        tr.reached_t_s = np.nan
        d = tr.direction
        text = f"Close your eyes and find the target again, {SPEEDS[self.speed][0]}, then keep still."
        kw = self._kw(d) | {"vision": "closed"}
        return j, self._enter("relocate", _prompt("drill_relocate", pose.t_s[j], text, d, **kw))

    def _phase_relocate(self, pose, i0):
        tr = self._current
        a = self._outward_deg(pose, i0, tr.q_ref_head, tr.direction)
        j = self._reached(pose, i0, a, 0.5 * self.amplitude_deg[tr.direction], self.settle_s)
        if j is None:
            return self._wait_or_skip(pose, self.return_timeout_s, "no stable relocation was found")
        return j, self._measure(float(pose.t_s[j]), tr.q_goal_head)

    # ------------------------------------------------------------------ results
    def _measure(self, t_s: float, q_goal_head: np.ndarray) -> list[Prompt]:
        tr = self._current
        q_reached, window = self._mean_head(t_s)
        angles = kinematics.head_angles_deg(quat.relative(q_goal_head, q_reached))
        err = {k: float(angles[k]) for k in ("axial", "flexion", "lateral", "global")}
        name, sign = DIRECTION_COMPONENT[tr.direction]
        # Neutral: the last movement is the return (−sign); target: the relocation (+sign).
        signed = (-sign if self.task == "neutral" else sign) * err[name]
        actual = feedback.classify_error(err["axial"], -err["flexion"])
        tr.record = {"index": tr.index, "direction": tr.direction, "task": self.task,
                     "vision": self.vision, "amplitude_deg": self.amplitude_deg[tr.direction],
                     "valid": True, "reason": None, "error_deg": err, "signed_error_deg": float(signed),
                     "abs_error_deg": float(abs(signed)), "actual": actual, "estimate": None,
                     "kr": False, "peak_deg": tr.peak_deg, "peak_speed_deg_s": tr.peak_speed_deg_s,
                     "window": window}
        prompts = []
        if tr.peak_speed_deg_s > TOO_FAST_FACTOR * self.speed_deg_s:
            prompts += self._enter(self.phase, _prompt("slow_down", t_s, "Next time, move a little more slowly."))
        if self.vision == "closed" and feedback.estimate_before_kr(self.feedback_mode, tr.index):
            text = ("Keep your eyes closed. Where do you think you are: on target, to the left, "
                    "to the right, too high or too low?")
            return prompts + self._enter("await_estimate", _prompt("estimate", t_s, text, tr.direction))
        return prompts + self._after_trial(t_s)

    def answer(self, t_s: float, kind: str, value) -> list[Prompt]:
        """The person's answer to an ``estimate`` prompt (one of feedback.ESTIMATES)."""
        if kind != "estimate" or self.phase != "await_estimate":
            raise ValueError(f"no {kind} question is open")
        if value not in feedback.ESTIMATES:
            raise ValueError(f"estimate must be one of {', '.join(feedback.ESTIMATES)}, got {value!r}")
        self._current.record["estimate"] = value
        self._current.record["estimate_correct"] = value == self._current.record["actual"]
        return self._after_trial(t_s)

    def _after_trial(self, t_s: float) -> list[Prompt]:
        rec = self._current.record
        prompts = []
        if self.vision == "closed" and feedback.kr_after_trial(self.feedback_mode, rec["index"]):
            rec["kr"] = True
            text = feedback.kr_message(rec["actual"], rec["error_deg"]["global"], rec["estimate"])
            prompts += self._enter(self.phase, _prompt("feedback", t_s, text, rec["direction"]))
        return prompts + self._record(t_s)

    def _wait_or_skip(self, pose, limit_s: float, reason: str):
        """A phase handler's result while its goal is not met: (None, None) (wait for more
        samples), or the trial skipped for ``reason`` once the phase has lasted ``limit_s`` s."""
        if self._timed_out(pose, limit_s):
            return len(pose) - 1, self._skip(pose.t_s[-1], reason)
        return None, None

    def _skip(self, t_s, reason: str) -> list[Prompt]:
        tr = self._current
        tr.record = {"index": tr.index, "direction": tr.direction, "task": self.task,
                     "vision": self.vision, "amplitude_deg": self.amplitude_deg[tr.direction],
                     "valid": False, "reason": reason, "kr": False, "estimate": None}
        return self._record(float(t_s))

    def _record(self, t_s: float) -> list[Prompt]:
        rec = self._current.record
        self.trials.append(rec)
        self.events.append({"t_s": float(t_s), "kind": "trial", **{k: v for k, v in rec.items()}})
        prompts = []
        if rec["valid"]:
            self._since_summary.append(rec["error_deg"]["global"])
        if feedback.summary_after_trial(self.feedback_mode, rec["index"], len(self.order)) and self._since_summary:
            prompts += self._enter(self.phase, _prompt("summary", t_s, feedback.summary_message(self._since_summary)))
            self._since_summary = []
        return prompts + self._next_trial(t_s)

    def scores(self) -> dict:
        """AE over valid trials, overall and per direction (deg), and the estimate agreement."""
        valid = [t for t in self.trials if t["valid"]]
        per = {}
        for d in dict.fromkeys(self.order):
            e = [t["abs_error_deg"] for t in valid if t["direction"] == d]
            per[d] = float(np.mean(e)) if e else None
        est = [t["estimate_correct"] for t in valid if t.get("estimate") is not None]
        return {"n": len(valid), "ae_deg": float(np.mean([t["abs_error_deg"] for t in valid])) if valid else None,
                "ae_by_direction_deg": per,
                "estimate_agreement": float(np.mean(est)) if est else None}


class RomWarmup(_DrillEngine):
    """Range-of-motion warm-up within the soft limits.

    Args:
        calibration: the session's head calibration.
        limit_deg: direction → soft limit (marker), deg.
        reps: movements per direction.
    """

    name = "warmup"
    DONE_TEXT = "Warm-up done."
    RECORD_KIND = "warmup_movement"

    def __init__(self, calibration: HeadCalibration, limit_deg: dict, reps: int = 2, **kw) -> None:
        super().__init__(calibration, **kw)
        self.limit_deg = {d: float(v) for d, v in limit_deg.items()}
        self.order = [d for d in limit_deg for _ in range(reps)]
        self._trial: _Trial | None = None

    def start(self, t_s: float) -> list[Prompt]:
        self.events.append({"t_s": float(t_s), "kind": "block_start", "block": self.name,
                            "limit_deg": self.limit_deg})
        self._began(t_s)
        return self._next_trial(t_s)

    def _lost_record(self, tr: _Trial) -> dict:
        return {"index": tr.index, "direction": tr.direction, "limit_deg": self.limit_deg[tr.direction],
                "peak_deg": tr.peak_deg, "reached": False, "past_limit": False, "valid": False,
                "reason": "signal lost"}

    def _kw(self, direction):
        return {"amplitude_deg": self.limit_deg[direction], "vision": "laser",
                "speed_deg_s": SPEEDS["slow"][1]}

    def _phase_recenter(self, pose, i0):
        j = self._recentred(pose, i0)
        if j is None:
            return None, None
        d = self._current.direction
        text = (f"Gently {DIRECTION_TEXT[d]}, as far as the marker and only as far as is "
                "comfortable, then come back.")
        return j, self._enter("move", _prompt("warmup_move", pose.t_s[j], text, d, **self._kw(d)))

    def _phase_move(self, pose, i0):
        tr = self._current
        a = self._outward_deg(pose, i0, tr.q_ref_head, tr.direction)
        tr.peak_deg = max(tr.peak_deg, float(a.max()))
        j = self._reached(pose, i0, a, 0.6 * self.limit_deg[tr.direction], self.hold_s)
        if j is None:
            if self._timed_out(pose, self.move_timeout_s):
                return len(pose) - 1, self._record(pose.t_s[-1], False)
            return None, None
        d = tr.direction
        return j, self._enter("return", _prompt("warmup_return", pose.t_s[j], "And slowly back to the centre.",
                                                d, **self._kw(d)))

    def _phase_return(self, pose, i0):
        tr = self._current
        a = self._outward_deg(pose, i0, tr.q_ref_head, tr.direction)
        tr.peak_deg = max(tr.peak_deg, float(a.max()))
        j = self._came_back(pose, i0, a, 0.5)
        if j is None:
            if self._timed_out(pose, self.move_timeout_s):
                return len(pose) - 1, self._record(pose.t_s[-1], True)
            return None, None
        return j, self._record(pose.t_s[j], True)

    def _record(self, t_s, reached: bool) -> list[Prompt]:
        tr = self._current
        limit = self.limit_deg[tr.direction]
        past = tr.peak_deg > limit + WARMUP_OVERSHOOT_REMINDER_DEG
        rec = {"index": tr.index, "direction": tr.direction, "limit_deg": limit, "peak_deg": tr.peak_deg,
               "reached": reached, "past_limit": bool(past), "valid": True, "reason": None}
        self.trials.append(rec)
        self.events.append({"t_s": float(t_s), "kind": "warmup_movement", **rec})
        prompts = []
        if past:
            prompts += self._enter(self.phase, _prompt(
                "warmup_reminder", t_s, "No need to go past the marker: comfortable is enough."))
        return prompts + self._next_trial(float(t_s))

    def scores(self) -> dict:
        peaks: dict[str, list] = {}
        for t in self.trials:
            if not t["valid"]:
                continue
            peaks.setdefault(t["direction"], []).append(t["peak_deg"])
        return {"peak_deg": {d: float(max(v)) for d, v in peaks.items()},
                "past_limit": sum(t["past_limit"] for t in self.trials if t["valid"])}
