"""When the application draws a frame.

Two schedules, both at most one frame per display period:

- ``fixed`` (the default): frames on a fixed grid at exactly the display rate. Qt timers count
  whole milliseconds, so a plain 60 Hz QTimer runs at 1/17 ms (58.8 Hz); here each frame
  re-arms a single-shot timer for the next slot of the grid, so the timer's rounding and
  lateness do not accumulate and the frames average the display rate. A published sample
  waits for the next slot, up to one period.
- ``data``: a frame as soon as the pipeline thread publishes, unless the last frame was less
  than a period ago; then at the next slot of the last frame's grid. Without data
  (disconnected, reconnecting), frames continue at :data:`IDLE_PERIOD_S` so that the device
  status and messages stay current.

What ``bench/gui.py`` measured (same simulated data, offscreen, 60 Hz, 400 Hz input;
docs/gui.md has the figures): with one notification per 15 ms connection event both give the
same latency; with 30 ms events the data schedule draws most samples within ~3 ms (median)
instead of ~9 ms, but when an event brings two notifications a millisecond apart the first
takes the frame and the second waits a whole period, so its 95th percentile is worse than the
fixed grid's. The fixed grid's latency does not depend on how the link bunches the data, so
it is the default.

Three modes (:meth:`FrameClock.set_mode`), so that a window nobody watches costs nothing:

- ``live``: the schedule above (a view that draws the newest samples is on screen);
- ``idle``: frames at :data:`SLOW_PERIOD_S` (link statistics, the status line), and a frame as
  soon as :meth:`FrameClock.notify` says something changed (an event: a prompt, a trial, a
  message), at most one per display period. The window calls ``notify`` in this mode only
  when the pipeline published events, not for every sample;
- ``paused``: no frame at all (the window is minimised or hidden); ``notify`` calls
  ``on_change`` instead, in the GUI thread, so that prompts are still spoken and the test's
  state followed while nothing is drawn.

Display timing uses the wall clock (``time.perf_counter``); the samples' own times are never
touched here.
"""

from __future__ import annotations

import math
import time

from PySide6 import QtCore

#: Frame period without new data in the data schedule, s (device status and messages only).
IDLE_PERIOD_S = 0.1
#: Frame period in the ``idle`` mode, s (2 Hz: link statistics and the status line stay current).
SLOW_PERIOD_S = 0.5
SCHEDULES = ("fixed", "data")
MODES = ("live", "idle", "paused")


def frame_delay_s(now_s: float, last_frame_s: float, period_s: float) -> float:
    """Wall time to wait before the next frame may start, s (0: start now).

    Args:
        now_s: the wall clock now, s.
        last_frame_s: the slot of the last frame, s (``-inf`` before the first frame).
        period_s: the display period, s (frames start at least this far apart).
    """
    return max(0.0, last_frame_s + period_s - now_s)


def timer_ms(delay_s: float) -> int:
    """A QTimer interval for ``delay_s``: whole milliseconds (Qt timers count whole ms),
    rounded to the nearest, at least 1 ms. A frame then starts within about half a
    millisecond of its slot; the slots themselves are exactly a period apart."""
    return max(1, round(delay_s * 1e3))


class FrameClock(QtCore.QObject):
    """Calls ``draw()`` in the GUI thread at the display rate.

    Args:
        period_s: the display period, s (1/60 for a 60 Hz display).
        draw: the frame (no arguments); may be replaced later (benchmarks wrap it).
        schedule: "fixed" or "data" (see the module docstring).
        idle_period_s: frame period when no data arrives (data schedule), s.
        slow_period_s: frame period in the ``idle`` mode, s.
        on_change: called (GUI thread, no arguments) on :meth:`notify` in the ``paused`` mode.

    :meth:`notify` may be called from any thread (the pipeline thread calls it after it has
    published); the frame runs in the thread that owns the clock.
    """

    _data_ready = QtCore.Signal()

    def __init__(self, period_s: float, draw, schedule: str = "fixed",
                 idle_period_s: float = IDLE_PERIOD_S, slow_period_s: float = SLOW_PERIOD_S,
                 on_change=None, parent=None) -> None:
        super().__init__(parent)
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown frame schedule {schedule!r}: use one of {', '.join(SCHEDULES)}")
        if not period_s > 0:
            raise ValueError(f"the display period must be positive, got {period_s} s")
        self.period_s = float(period_s)
        self.draw = draw
        self.schedule = schedule
        self.idle_period_s = float(idle_period_s)
        self.slow_period_s = float(slow_period_s)
        self.on_change = on_change
        #: "live", "idle" or "paused" (see the module docstring); kept across stop/start.
        self.mode = "live"
        self.frames = 0
        #: The slot of the last frame (its start, or the grid time it was due at), s.
        self.last_frame_s = -math.inf
        self.running = False
        self._pending = False
        self._notified = False
        self._drawing = False
        self._due_s = -math.inf
        self._last_start_s = -math.inf
        self._slot = self._timer(self._on_slot, single_shot=True)
        self._idle = self._timer(self._on_idle, single_shot=False)
        self._data_ready.connect(self._on_data, QtCore.Qt.ConnectionType.QueuedConnection)

    def _timer(self, slot, single_shot: bool) -> QtCore.QTimer:
        t = QtCore.QTimer(self)
        t.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        t.setSingleShot(single_shot)
        t.timeout.connect(slot)
        return t

    # ------------------------------------------------------------------ control (GUI thread)
    def start(self) -> None:
        self.running = True
        self._start_timers()

    def stop(self) -> None:
        self.running = False
        self._stop_timers()

    def set_mode(self, mode: str) -> None:
        """``live``, ``idle`` or ``paused`` (see the module docstring); a running clock
        switches its timers now (a paused one stops them: no wake-up at all)."""
        if mode not in MODES:
            raise ValueError(f"unknown frame mode {mode!r}: use one of {', '.join(MODES)}")
        if mode == self.mode:
            return
        self.mode = mode
        if self.running:
            self._stop_timers()
            self._start_timers()

    def _start_timers(self) -> None:
        if self.mode == "paused":
            return
        if self.mode == "idle":
            self._idle.start(max(1, round(self.slow_period_s * 1e3)))
        elif self.schedule == "fixed":
            self._arm(time.perf_counter() + self.period_s)
        else:
            self._idle.start(max(1, round(self.idle_period_s * 1e3)))

    def _stop_timers(self) -> None:
        self._slot.stop()
        self._idle.stop()
        self._pending = False

    # ------------------------------------------------------------------ any thread
    def notify(self) -> None:
        """New samples or events are published (thread-safe, cheap when a frame is already due)."""
        if not self._notified:
            self._notified = True
            self._data_ready.emit()

    # ------------------------------------------------------------------ GUI thread
    def _arm(self, due_s: float) -> None:
        """Start the single-shot timer for a frame due at wall time ``due_s`` (a slot of the
        grid; when the last frame started so late that the slot is less than half a period
        after it, the next slot: two frames in one display refresh would waste one)."""
        while due_s < self._last_start_s + self.period_s / 2:
            due_s += self.period_s
        self._due_s = due_s
        self._slot.start(timer_ms(due_s - time.perf_counter()))

    def _on_slot(self) -> None:
        if not self.running or self.mode == "paused":
            return
        if self.mode == "live" and self.schedule == "fixed":
            self._frame(self._due_s)
            self._arm(self.last_frame_s + self.period_s)
        elif self._pending:
            self._frame(self._due_s)

    def _on_data(self) -> None:
        self._notified = False
        if not self.running:
            return
        if self.mode == "paused":
            if self.on_change is not None:
                self.on_change()
            return
        if self.mode == "live" and self.schedule != "data":
            return
        self._pending = True
        if self._slot.isActive():
            return
        now = time.perf_counter()
        # Now if a period has passed since the last slot and half a period since the last frame
        # really started (a late frame keeps its slot); else at the next slot (see _arm).
        if frame_delay_s(now, self.last_frame_s, self.period_s) <= 0.0 and \
                now >= self._last_start_s + self.period_s / 2:
            self._frame()
        else:
            self._arm(self.last_frame_s + self.period_s)

    def _on_idle(self) -> None:
        if not self.running or self.mode == "paused":
            return
        # The slow frames keep their own period (a frame on a change in between costs one
        # more, rare); the data schedule's idle frames only when no data came for a while.
        if self.mode == "idle" or time.perf_counter() - self.last_frame_s >= self.idle_period_s:
            self._frame()

    def _frame(self, due_s: float | None = None) -> None:
        """Draw a frame; ``due_s``: the grid slot it was due at. A frame within a period of
        its slot keeps the grid (the whole-millisecond timer's error, early or late, does not
        accumulate); one further off, or a frame on data, starts a new grid now."""
        if self._drawing:  # a nested event loop inside the frame (a dialog, processEvents)
            self._pending = True
            return
        now = time.perf_counter()
        self._last_start_s = now
        self.last_frame_s = due_s if due_s is not None and abs(now - due_s) < self.period_s else now
        self._pending = False
        on_data = self.mode == "idle" or self.schedule == "data"
        if on_data:
            self._slot.stop()
        self.frames += 1
        self._drawing = True
        try:
            self.draw()
        finally:
            self._drawing = False
        if self._pending and on_data and self.running and self.mode != "paused" and not self._slot.isActive():
            self._arm(self.last_frame_s + self.period_s)
