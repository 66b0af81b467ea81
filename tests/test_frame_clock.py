"""The frame clock: a frame as soon as the pipeline publishes, at most one per display period;
slow idle frames without data; or a free-running timer."""

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
    QtCore.QTimer.singleShot(int(seconds * 1000), qapp.quit)
    qapp.exec()


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
        FrameClock(0.0, lambda: None)


def test_data_from_another_thread_draws_frames_at_most_once_per_period(qapp):
    starts = []
    clock = FrameClock(PERIOD_S, lambda: starts.append(time.perf_counter()))
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
    assert gaps_s.min() >= PERIOD_S - 0.001  # whole-millisecond timers: within 1 ms of the period
    assert len(starts) <= 0.5 / (PERIOD_S - 0.001) + 1


def test_without_data_frames_continue_at_the_idle_rate(qapp):
    starts = []
    clock = FrameClock(PERIOD_S, lambda: starts.append(time.perf_counter()), idle_period_s=0.05)
    clock.start()
    run_loop(qapp, 0.5)
    clock.stop()
    assert 3 <= len(starts) <= 11  # one per 50 ms at most: the status stays current
    assert np.diff(starts).min() >= 0.05 - 0.002


def test_the_timer_schedule_ignores_data(qapp):
    starts = []
    clock = FrameClock(0.05, lambda: starts.append(time.perf_counter()), schedule="timer")
    clock.start()
    for _ in range(20):
        clock.notify()
    run_loop(qapp, 0.3)
    clock.stop()
    assert 2 <= len(starts) <= 7
    assert np.diff(starts).min() >= 0.05 - 0.002


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

    clock = FrameClock(0.005, draw)
    clock.start()
    clock.notify()
    run_loop(qapp, 0.2)
    clock.stop()
    assert depth["max"] == 1 and depth["frames"] >= 2
