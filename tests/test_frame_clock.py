"""The frame clock: frames on a fixed grid at exactly the display rate, or a frame as soon as the
pipeline publishes (at most one per display period, slow idle frames without data)."""

import threading
import time

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.gui.frame_clock import FrameClock, frame_delay_s, timer_ms

PERIOD_S = 1 / 60


@pytest.fixture(scope="module")
def qapp():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def run_loop(qapp, seconds: float) -> None:
    """Run an event loop for ``seconds`` (a loop of its own: the application's own exec() is
    never run in tests, after it returns Qt treats the application as closing)."""
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def test_a_frame_may_start_one_period_after_the_last():
    assert frame_delay_s(now_s=10.0, last_frame_s=-np.inf, period_s=PERIOD_S) == 0.0
    assert frame_delay_s(10.010, 10.0, PERIOD_S) == pytest.approx(PERIOD_S - 0.010)
    assert frame_delay_s(10.020, 10.0, PERIOD_S) == 0.0


def test_timer_intervals_are_whole_milliseconds_rounded_and_at_least_one():
    assert timer_ms(0.0067) == 7 and timer_ms(0.0064) == 6
    assert timer_ms(0.0001) == 1 and timer_ms(0.0) == 1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="schedule"):
        FrameClock(PERIOD_S, lambda: None, schedule="vsync")
    with pytest.raises(ValueError, match="period"):
        FrameClock(-1.0, lambda: None, schedule="data")
    with pytest.raises(ValueError, match="period"):
        FrameClock(0.0, lambda: None)


def test_data_from_another_thread_draws_frames_at_most_once_per_period(qapp):
    starts = []
    clock = FrameClock(PERIOD_S, lambda: starts.append(time.perf_counter()), schedule="data")
    clock.start()
    stop = threading.Event()

    def publisher():  # a pipeline thread publishing every 5 ms
        while not stop.wait(0.005):
            clock.notify()

    thread = threading.Thread(target=publisher)
    thread.start()
    run_loop(qapp, 0.5)
    stop.set()
    thread.join()
    clock.stop()
    gaps_s = np.diff(starts)
    assert len(starts) >= 15  # ~30 at 60 Hz; a loaded machine draws fewer, never more
    # Frames start at least a period after the last one, or on the next slot of its grid
    # (whole-millisecond timers: about 0.5 ms off), never in the same half period.
    assert gaps_s.min() >= PERIOD_S / 2 - 0.001  # whole-millisecond timers: 0.5 ms early at most
    assert np.median(gaps_s) >= PERIOD_S - 0.001
    assert gaps_s.mean() >= PERIOD_S - 0.0005


def test_without_data_frames_continue_at_the_idle_rate(qapp):
    starts = []
    clock = FrameClock(PERIOD_S, lambda: starts.append(time.perf_counter()), schedule="data",
                       idle_period_s=0.05)
    clock.start()
    run_loop(qapp, 0.5)
    clock.stop()
    assert len(starts) >= 3  # the status stays current, one frame per 50 ms at most
    assert np.diff(starts).min() >= 0.05 - 0.002


def test_the_fixed_schedule_averages_exactly_the_display_rate_and_ignores_data(qapp):
    starts = []
    clock = FrameClock(PERIOD_S, lambda: starts.append(time.perf_counter()), schedule="fixed")
    clock.start()
    for _ in range(20):
        clock.notify()
    run_loop(qapp, 1.0)
    clock.stop()
    gaps_s = np.diff(starts)
    assert gaps_s.min() >= PERIOD_S / 2 - 0.001  # a late frame's successor skips to the next slot
    assert gaps_s.mean() >= PERIOD_S - 0.0005  # never faster than the display on average
    if np.percentile(gaps_s, 90) < PERIOD_S + 0.002:  # not starved of CPU (a loaded CI host is)
        # A plain QTimer(17 ms) would average 17 ms (58.8 Hz); the grid keeps 16.67 ms.
        assert np.median(gaps_s) == pytest.approx(PERIOD_S, abs=0.0011)
        assert gaps_s.mean() == pytest.approx(PERIOD_S, abs=0.0003)


def test_a_nested_event_loop_inside_a_frame_does_not_start_a_frame_within_it(qapp):
    depth = {"now": 0, "max": 0, "frames": 0}

    def draw():
        depth["now"] += 1
        depth["max"] = max(depth["max"], depth["now"])
        depth["frames"] += 1
        end = time.perf_counter() + 0.03  # a frame that spins the event loop for 30 ms
        while time.perf_counter() < end:
            clock.notify()
            QtWidgets.QApplication.processEvents()
        depth["now"] -= 1

    clock = FrameClock(0.005, draw, schedule="data")
    clock.start()
    clock.notify()
    run_loop(qapp, 0.2)
    clock.stop()
    assert depth["max"] == 1 and depth["frames"] >= 2


def spin(qapp, until, limit_s: float = 20.0) -> None:
    """Run the event loop until ``until()`` is true (or ``limit_s`` passes: then the test's
    own assertion says what did not happen)."""
    end = time.perf_counter() + limit_s
    while not until() and time.perf_counter() < end:
        qapp.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 10)


def test_a_paused_clock_stops_its_timers_and_draws_nothing_until_resumed(qapp, run_periods):
    drawn = []
    clock = FrameClock(PERIOD_S, lambda: drawn.append(1))
    clock.start()
    spin(qapp, lambda: len(drawn) >= 3)
    assert len(drawn) >= 3
    clock.set_mode("paused")
    assert not clock._slot.isActive() and not clock._idle.isActive()  # no wake-up at all
    before = len(drawn)
    run_periods(10)
    assert len(drawn) == before
    clock.set_mode("live")
    spin(qapp, lambda: len(drawn) >= before + 3)
    clock.stop()
    assert len(drawn) >= before + 3


def test_a_change_draws_a_frame_in_the_idle_mode_and_is_handed_on_while_paused(qapp, run_periods):
    drawn, changes = [], []
    clock = FrameClock(PERIOD_S, lambda: drawn.append(1), slow_period_s=3600.0,
                       on_change=lambda: changes.append(1))
    clock.set_mode("idle")
    clock.start()
    run_periods(10)
    assert drawn == []  # nothing changed: no frame (the slow frame is an hour away)
    threading.Thread(target=clock.notify).start()  # the pipeline thread says: an event
    spin(qapp, lambda: len(drawn) == 1)
    assert len(drawn) == 1 and changes == []
    clock.set_mode("paused")
    threading.Thread(target=clock.notify).start()
    spin(qapp, lambda: len(changes) == 1)
    clock.stop()
    assert len(drawn) == 1 and changes == [1]  # handed on, not drawn


def test_an_unknown_mode_is_refused(qapp):
    with pytest.raises(ValueError, match="mode"):
        FrameClock(PERIOD_S, lambda: None).set_mode("asleep")
