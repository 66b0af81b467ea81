"""The application's views, driven offscreen by the simulated device.

Each view is redrawn (tick, then its paint events) for at least 500 frames while the virtual patient
streams, which guards against the Qt binding's repaint crash (PySide6 6.12.0 on Python 3.11,
reproduced here: pyqtgraph repaints crash under PySide6 6.12.0 on Python 3.11), and then checked for what it shows.
"""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets  # the pinned binding, before pyqtgraph
from PySide6.QtTest import QTest

from cervitrack.firmware_bridge.sim.config import config_from_dict
from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.application import make_window
from cervitrack.trainer.gui.main_window import AppSettings

FRAME_S = 1 / 30  # simulated time per frame: faster than real time


def test_plain_pyqtgraph_survives_500_repaints(qapp):
    w = pg.PlotWidget()
    curve = w.plot(pen=pg.mkPen("b", width=1))
    w.show()
    rng = np.random.default_rng(0)
    for _ in range(500):
        curve.setData(rng.standard_normal(3000))
        w.repaint()
    assert curve.getData()[1].shape == (3000,)
    w.close()


def trail_pixels(plot) -> np.ndarray:
    """(H, W) bool: the pixels of a grab of ``plot`` painted in the trail's colour."""
    image = plot.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    h, w = image.height(), image.width()
    bgra = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine() // 4, 4)[:, :w]
    r, g, b = style.TRAIL
    return (bgra[..., 2] == r) & (bgra[..., 1] == g) & (bgra[..., 0] == b)


def drive(window, frames, until=None, frame_s=FRAME_S):
    """Step the worker and redraw the window frame by frame (tick, then the paint events)."""
    worker = window.worker
    for i in range(frames):
        worker.step_to(round(worker.t_s + frame_s, 9))
        window.tick()
        QtWidgets.QApplication.processEvents()  # the paint events a real frame delivers
        if until is not None and until():
            return i + 1
    return frames


@pytest.fixture(scope="module")
def session(qapp, tmp_path_factory, person_anywhere):
    """One JPE session (1 trial per direction) in which every view gets ≥ 500 frames."""
    with pytest.MonkeyPatch.context() as mp:  # module scope: its own data folder
        mp.setenv("CERVITRACK_HOME", str(tmp_path_factory.mktemp("home")))
        yield from _session(person_anywhere)


def _session(person):
    player = RecordingOutput()
    window = make_window(trials_per_direction=1, settings=AppSettings(follow=False),
                         threaded=False, player=player, save_calibrations=False)
    window.resize(900, 700)
    window.show()
    person.connect(window, "sim", wait=False)
    drive(window, 100, until=lambda: window.link_ready()[0])  # a test needs samples first
    log = {"player": player, "audio": window.audio, "frames": {}, "hidden_during": set(), "shown_during": set(),
           "shown_frames": 0}
    person.click_tab(window, "Device")
    log["frames"]["device"] = drive(window, 500)
    person.start_test(window, "JPE, neutral head position")
    person.click_tab(window, "Calibration")
    log["frames"]["calibration"] = drive(window, 500)
    log["calibration_range"] = window.calibration_view.range_label.text()
    drive(window, 2000, until=lambda: window.calibration_view.result is not None, frame_s=0.1)
    person.click_tab(window, "Test")
    wall = window.wall_view

    def watch():
        state = wall.phase_prompt
        (log["hidden_during"] if not wall.head_cursor.isVisible() else log["shown_during"]).add(state)
        log["shown_frames"] += wall.trail.isVisible()
        return False

    log["frames"]["wall"] = drive(window, 500, until=watch)
    log["trail_shown_frames"] = log["shown_frames"]
    person.click(window.buttons["patient"])
    log["frames"]["patient"] = drive(window, 500, until=watch)
    window.patient_window.close()
    person.click_tab(window, "Research")
    log["frames"]["research"] = drive(window, 500)
    person.click_tab(window, "Results")
    n = drive(window, 4000, until=lambda: window.worker.feed.state.get("done"), frame_s=0.2)
    log["frames"]["results"] = n + drive(window, max(0, 500 - n))
    yield window, log
    window.close()


def test_each_view_is_drawn_for_500_frames_of_the_simulated_device(session):
    window, log = session
    assert all(n >= 500 for n in log["frames"].values()), log["frames"]
    assert set(log["frames"]) == {"device", "calibration", "wall", "patient", "research", "results"}


def test_device_panel_shows_the_live_rate_and_link_counters(session):
    window, _ = session
    v = window.device_view.values
    window.device_view.refresh(window.worker.feed, window.worker.feed.ring.count)
    rate = float(v["rate"].text().split()[0])
    assert rate == pytest.approx(100.0, rel=0.05)
    assert v["rejected_frames"].text() == "0" and v["gaps"].text() == "0"
    assert v["battery"].text().startswith("not reported")


def test_calibration_wizard_shows_live_checks_and_the_score(session):
    window, log = session
    assert "need ≥" in log["calibration_range"] or log["calibration_range"] == "–"
    assert window.calibration_view.result["ok"]
    assert window.calibration_view.score_label.text().startswith("Score ")


def test_the_trail_is_painted_where_the_head_went(qapp, close_window, person):
    """Grabs of the wall while the head turns (blind mode off): the trail's colour is on the
    screen, and it follows the head from frame to frame."""
    window = make_window(trials_per_direction=1, settings=AppSettings(follow=False, blind=False),
                         threaded=False, player=RecordingOutput(), save_calibrations=False)
    window.resize(900, 700)
    window.show()
    person.connect(window, "sim", wait=False)
    drive(window, 100, until=lambda: window.link_ready()[0])  # a test needs samples first
    person.start_test(window, "JPE, neutral head position")
    person.click_tab(window, "Test")
    wall = window.wall_view
    grabs = []

    def moving():
        x, y = wall.trail.getData()
        if len(x) > 1 and np.hypot(np.ptp(x), np.ptp(y)) > 10.0:  # cm: well beyond the cursor
            grabs.append(trail_pixels(wall.plot))
        return len(grabs) >= 3

    drive(window, 4000, until=moving)
    close_window(window)
    assert len(grabs) == 3
    assert all(pixels.sum() > 30 for pixels in grabs)
    assert (grabs[0] != grabs[-1]).any()


def test_blind_mode_hides_the_cursor_only_while_the_eyes_are_closed(session):
    _, log = session
    assert {"move", "return"} <= log["hidden_during"]
    assert "recenter" in log["shown_during"]
    assert not ({"move", "return"} & log["shown_during"])


def test_wall_shows_one_relocation_mark_per_trial(session):
    window, _ = session
    trials = [t for t in window.wall_view.trials if t["valid"]]
    assert len(trials) == 4
    marks = [(d, item) for d, item in window.wall_view.marks if d not in (None, "newest")]
    assert len(marks) == 4 and all(item.scene() is window.wall_view.plot.scene() for _, item in marks)
    assert {d for d, _ in marks} == {t["direction"] for t in trials}


def test_results_table_has_a_row_per_direction_with_the_engine_scores(session):
    window, _ = session
    table = window.results_view.table
    state = window.worker.feed.state
    assert table.rowCount() == 5  # four directions and the overall row
    for row, (direction, sc) in enumerate(state["scores"].items()):
        assert table.item(row, 0).text() == direction.replace("_", " ")
        assert table.item(row, 2).text() == f"{sc['ae_deg']:.2f}"
    valid = [t for t in state["trials"] if t["valid"]]
    pooled_ae = np.mean([abs(t["signed_error_deg"]) for t in valid])
    assert table.item(4, 0).text() == "overall" and table.item(4, 2).text() == f"{pooled_ae:.2f}"
    title = window.results_view.title.text()
    assert "JPE, neutral head position" in title and "(finished)" in title


def test_every_prompt_of_the_eyes_closed_test_is_spoken_after_its_cue(session):
    _, log = session
    cues = log["audio"].played
    assert cues[:3] == ["move", "return", "recorded"]
    assert cues.count("move") == 4 and cues[-1] == "done"
    spoken = [u.text for u in log["audio"].voice.spoken]
    assert [label for label, _ in log["player"].played] == spoken  # each prompt is one buffer: tone then words
    moves = [t for t in spoken if t.startswith("Close your eyes and")]
    assert len(moves) == 4 and moves[0].endswith("as far as is comfortable, then hold.")
    assert "Keeping your eyes closed, come back to the centre and keep still." in spoken
    assert spoken[-1] == "Test finished. Well done."
    assert all(u.missing == [] for u in log["audio"].voice.spoken)


def test_research_view_pause_holds_the_plot_and_allows_zoom(qapp, close_window, person):
    raw = config_from_dict({"sensor": {"output": "raw"}})
    window = make_window(raw, settings=AppSettings(follow=False), threaded=False, player=RecordingOutput())
    window.show()
    person.connect(window, "sim", wait=False)
    drive(window, 100, until=lambda: window.link_ready()[0])  # a test needs samples first
    person.click_tab(window, "Research")
    drive(window, 30)
    view = window.research_view
    view.toggle_pause()
    before = view.curves["acc"][2].getData()[1].copy()
    drive(window, 30)
    np.testing.assert_array_equal(view.curves["acc"][2].getData()[1], before)
    assert view.plots["angles"].getViewBox().state["mouseEnabled"] == [True, True]
    view.toggle_pause()
    drive(window, 2)
    after = view.curves["acc"][2].getData()[1]
    assert len(after) > len(before) or not np.array_equal(after, before)
    close_window(window)


def test_keyboard_space_marks_r_rezeroes_esc_stops_f_fullscreen(qapp, close_window, answer_question, person):
    window = make_window(trials_per_direction=1, settings=AppSettings(follow=False),
                         threaded=False, player=RecordingOutput())
    window.show()
    person.connect(window, "sim", wait=False)
    drive(window, 100, until=lambda: window.link_ready()[0])  # a test needs samples first
    person.start_test(window, "JPE, neutral head position")
    seen = []
    orig = window._dispatch

    def record(event, count):
        seen.append(event.get("prompt", event["kind"]))
        orig(event, count)

    window._dispatch = record
    drive(window, 3000, until=lambda: "return" in seen, frame_s=0.1)
    QTest.keyClick(window, QtCore.Qt.Key.Key_Space)
    drive(window, 300, until=lambda: "mark" in seen)
    QTest.keyClick(window, QtCore.Qt.Key.Key_R)
    drive(window, 5, until=lambda: "rezero" in seen)
    clicked = answer_question("Stop the test")
    QTest.keyClick(window, QtCore.Qt.Key.Key_Escape)  # asks first; the answer is clicked
    assert clicked == ["Stop the test"]
    drive(window, 5, until=lambda: "aborted" in seen)
    assert {"mark", "rezero", "aborted"} <= set(seen)
    assert not window.buttons["stop"].isEnabled()
    QTest.keyClick(window, QtCore.Qt.Key.Key_F)
    assert window.isFullScreen()
    QTest.keyClick(window, QtCore.Qt.Key.Key_F)
    assert not window.isFullScreen()
    close_window(window)


def test_the_threaded_app_runs_its_own_event_loop(qapp, person, close_window, answer_question):
    """As `cervitrack app` runs: the pipeline thread at real-time pace, the frame clock
    drawing as it publishes, an event loop in charge (ended here after 300 frames, or after
    120 s). The test is started by clicks and watched on the Test tab (live: display rate)."""
    window = make_window(trials_per_direction=1, threaded=True, player=RecordingOutput(),
                         save_calibrations=False, settings=AppSettings(follow=False))
    window.show()
    person.connect(window, "sim")  # a test starts on a link that delivers samples
    person.create_patient(window, "P-loop")
    person.click(window.buttons["start"])
    person.click_tab(window, "Test")
    watch = QtCore.QTimer()
    asked = []
    # An event loop of its own (not qapp.exec(): once the application's loop has returned, Qt
    # treats the application as closing and the later tests' timers would never fire).
    loop = QtCore.QEventLoop()

    def quit_app():  # closing the window asks first (the test still runs), then the loop ends
        if asked:
            return
        asked.append(answer_question("Discard and close"))
        window.close()
        loop.quit()

    watch.timeout.connect(lambda: window.frames >= 300 and quit_app())
    watch.start(50)
    limit = QtCore.QTimer()
    limit.setSingleShot(True)
    limit.timeout.connect(quit_app)
    limit.start(120_000)
    loop.exec()
    watch.stop()
    limit.stop()
    count = window.worker.feed.ring.count
    close_window(window)
    assert window.frames >= 300 and asked[0] == ["Discard and close"]
    assert count > 0 and window.worker.feed.status["state"] == "disconnected"  # closed cleanly
