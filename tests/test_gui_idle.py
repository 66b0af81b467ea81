"""Idle costs nothing: the application window draws at the display rate only while a view of
the newest samples is on screen; minimised, it draws nothing (and still records, and still
speaks the test's prompts); on the other tabs a hidden view is never repainted, and a change
still draws a frame at once. Counted in frames and event-loop periods, never timed."""

import time

from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.gui.application import make_window
from cervitrack.trainer.gui.main_window import AppSettings
from cervitrack.trainer.gui.worker import IDLE_STEP_S


def spin(qapp, until, limit_s: float = 60.0) -> None:
    """Run the event loop until ``until()`` is true (or ``limit_s`` passes: then the test's
    own assertion says what did not happen)."""
    end = time.perf_counter() + limit_s
    while not until() and time.perf_counter() < end:
        qapp.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 10)
        time.sleep(0.002)


class PaintCounter(QtCore.QObject):
    """Counts the paint events of a widget and all its children."""

    def __init__(self, widget: QtWidgets.QWidget) -> None:
        super().__init__()
        self.paints = 0
        for w in [widget, *widget.findChildren(QtWidgets.QWidget)]:
            w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint:
            self.paints += 1
        return False


def trail_points(wall_view) -> int:
    x = wall_view.trail.getData()[0]
    return 0 if x is None else len(x)


def app_window(player=None, follow=False):
    window = make_window(trials_per_direction=1, threaded=True, player=player or RecordingOutput(),
                         settings=AppSettings(follow=follow), save_calibrations=False)
    window.resize(1000, 700)
    window.show()
    return window


def test_minimised_the_clock_stops_the_recording_goes_on_and_restored_it_draws_again(qapp, person, run_periods):
    window = app_window()
    person.connect(window, "sim")
    person.click_tab(window, "Test")
    clock, ring = window.frame_clock, window.worker.feed.ring
    spin(qapp, lambda: clock.frames >= 5)
    assert clock.frames >= 5 and clock.mode == "live"
    window.showMinimized()
    assert clock.mode == "paused"
    assert not clock._slot.isActive() and not clock._idle.isActive()  # no timer left to wake up
    frames, samples = clock.frames, ring.count
    run_periods(30)
    spin(qapp, lambda: ring.count > samples + 100)
    assert clock.frames == frames  # 30 display periods, not one frame
    assert ring.count > samples + 100  # the pipeline thread still reads and keeps every sample
    assert window.worker.min_step_s == IDLE_STEP_S  # at a slow pace: no test, nothing on screen
    window.showNormal()
    assert clock.mode == "live" and window.worker.min_step_s == 0.0
    spin(qapp, lambda: clock.frames >= frames + 5)
    window.close()
    assert clock.frames >= frames + 5


def test_minimised_during_a_test_the_prompts_are_still_spoken_without_a_frame(qapp, person, close_window):
    player = RecordingOutput()
    window = app_window(player)
    person.connect(window, "sim")  # a test starts only on a streaming link
    person.create_patient(window, "P-idle")
    assert window.test_combo.currentText() == "JPE, neutral head position"  # eyes closed: all spoken
    person.click(window.buttons["start"])
    window.showMinimized()  # as the window manager does when the therapist minimises it
    clock = window.frame_clock
    assert clock.mode == "paused" and window.running
    frames_before, spoken_before = clock.frames, len(player.played)
    assert window.worker.min_step_s == 0.0  # a test runs: the engine keeps its pace
    spin(qapp, lambda: len(player.played) >= spoken_before + 2)
    close_window(window)  # a test runs: closing asks, and the question is answered
    assert len(player.played) >= spoken_before + 2
    assert clock.frames == frames_before  # spoken, and nothing drawn while minimised


def test_on_a_tab_without_live_data_hidden_views_are_not_repainted_and_a_change_draws_a_frame(qapp, person, run_periods):
    window = app_window()
    window.frame_clock.slow_period_s = 3600.0  # no slow frame in this test: only changes draw
    # Connect from the device list (typed, then Connect), wait for the samples, show Results.
    combo = person.find(window, QtWidgets.QComboBox, "device_choice")
    person.type_into(combo.lineEdit(), "sim")
    person.click(person.find(window, QtWidgets.QPushButton, "connect"))
    clock, feed = window.frame_clock, window.worker.feed
    spin(qapp, lambda: window.link_ready()[0])
    person.click_tab(window, "Results")
    assert clock.mode == "idle"
    spin(qapp, lambda: False, 0.2)  # the frames the connection's changes asked for
    frames_before = clock.frames
    hidden = [PaintCounter(window.wall_view), PaintCounter(window.research_view)]
    trail_before = trail_points(window.wall_view)
    samples = feed.ring.count
    run_periods(30)
    spin(qapp, lambda: feed.ring.count > samples + 100)  # samples arrive all along
    assert feed.ring.count > samples + 100
    assert clock.frames == frames_before  # nothing visible changed: no frame at all
    feed.push_event({"t_s": 0.0, "kind": "message", "text": "Headset battery low."})
    spin(qapp, lambda: clock.frames >= frames_before + 1)
    assert clock.frames >= frames_before + 1  # the change drew a frame
    assert window.statusBar().currentMessage() == "Headset battery low."
    assert [c.paints for c in hidden] == [0, 0]  # the wall and the research plots: never painted
    assert trail_points(window.wall_view) == trail_before  # nor updated
    person.click_tab(window, "Test")
    assert clock.mode == "live"
    spin(qapp, lambda: hidden[0].paints > 0)
    window.close()
    assert hidden[0].paints > 0  # on screen again, it is drawn


def test_the_patient_display_keeps_drawing_while_the_console_is_minimised(qapp, person):
    window = app_window()
    person.connect(window, "sim")  # on the Device tab: nothing live on screen
    assert window.frame_clock.mode == "idle"
    person.click(window.buttons["patient"])
    spin(qapp, lambda: window.frame_clock.mode == "live")  # the patient display shows live data
    assert window.frame_clock.mode == "live"
    window.showMinimized()
    assert window.frame_clock.mode == "live"
    frames = window.frame_clock.frames
    spin(qapp, lambda: window.frame_clock.frames >= frames + 5)
    assert window.frame_clock.frames >= frames + 5
    window.patient_window.close()
    spin(qapp, lambda: window.frame_clock.mode == "paused")
    mode = window.frame_clock.mode
    window.close()
    assert mode == "paused"  # nothing on screen any more
