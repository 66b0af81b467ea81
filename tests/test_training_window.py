"""The patient training window, driven only by what a person touches: clicks on the buttons
shown (qtbot.mouseClick) and key presses (qtbot.keyClick), found by their object names and
texts. The simulated headset is worn by the virtual trainee, who moves; simulated time is
stepped by ``drive`` (the worker, then the display timer's frame), as the running application's
timer would. Nothing here calls a window method."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.gui.application import qt_app
from cervitrack.trainer.gui.training_app import (
    SimTrainee,
    drive,
    find,
    open_training_window,
    short_plan,
    start_training_window,
)
from cervitrack.trainer.stores.sessions import Store
from cervitrack.trainer.training import safety
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.store import TrainingStore
from cervitrack.trainer.training.symptoms import SymptomRating

DAY1, DAY2 = "2026-03-02", "2026-03-03"
LEFT = QtCore.Qt.MouseButton.LeftButton
CERVITRACK = str(Path(sys.executable).with_name("cervitrack"))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "training.db"


@pytest.fixture
def store(db):
    with TrainingStore(db) as s:
        s.save_plan(Plan(patient="p1", level=2, clinician_contact="Dr Jansen, physiotherapy, 020 555 0100"),
                    DAY1, "therapist")
        yield s


def _window(qtbot, store, today=DAY1, audio=None, seed=5):
    qt_app()
    cfg = SimConfig(seed=seed, sensor=SensorConfig(rate_hz=50.0))
    window = open_training_window("sim", store, "p1", today, cfg, plan_for_session=short_plan, audio=audio,
                                  clinical=True)
    qtbot.addWidget(window)
    window.show()
    return window


def _trainee(qtbot, **kw):
    return SimTrainee(click=lambda w: qtbot.mouseClick(w, LEFT), key=qtbot.keyClick, **kw)


def _page(window) -> str:
    return window.pages.currentWidget().objectName()


def _on(name):
    return lambda w: _page(w) == name


def _click(qtbot, window, name):
    widget = find(window.pages.currentWidget(), name)
    assert widget is not None, f"{name!r} is not shown on the {_page(window)!r} page"
    qtbot.mouseClick(widget, LEFT)


def _cli(*argv):
    return subprocess.run([CERVITRACK, *argv], capture_output=True, text=True, timeout=120)


def test_a_first_day_and_a_second_day_by_clicks_and_keys(qtbot, store, db):
    """Day 1: Start, the 19 first-run questions (and not the daily 8 again), the check, the
    headache and pain ratings, the drills with the self-estimates given by arrow keys, the
    ratings after the block, the summary with Details and Done. Day 2: the daily check only.
    Both sessions are in `cervitrack train-progress --json` and in the clinical store."""
    window = _window(qtbot, store)
    assert _page(window) == "welcome"
    trainee = _trainee(qtbot, ratings=(SymptomRating(2), SymptomRating(2)), headache_nrs=3)
    drive(window, trainee, _on("summary"))
    assert trainee.clicked.count("no") == len(safety.FIRST_RUN_QUESTIONS) + 2  # + nausea, other after the block
    assert trainee.clicked.count("confirm") == 3  # the screen, before, after the block: nothing twice
    assert trainee.clicked.count("estimate") == 8  # level 2: every try, answered with the arrow keys
    assert trainee.clicked.count("nrs-3") == 1 and trainee.clicked.count("nrs-2") == 2  # headache; pain ×2
    sentence = find(window.summary_card, "sentence").text()
    assert sentence.startswith("Today you did 8 tries") and "goal of 4.5°" in sentence
    assert "Well done" not in find(window.summary_card, "change").text()
    assert find(window.summary_card, "picture") is not None
    _click(qtbot, window, "details")
    assert _page(window) == "details-page"
    _click(qtbot, window, "back")
    _click(qtbot, window, "done")
    assert not window.isVisible()
    assert store.first_run_screening("p1")["positive"] is False
    assert store.diary("p1")[0]["headache_nrs"] == 3

    window2 = _window(qtbot, store, today=DAY2, seed=6)
    trainee2 = _trainee(qtbot, ratings=(SymptomRating(1), SymptomRating(1)))
    drive(window2, trainee2, _on("summary"))
    assert trainee2.clicked.count("no") == len(safety.DAILY_QUESTIONS) + 2  # the daily check, not the first run
    _click(qtbot, window2, "done")

    out = _cli("train-progress", "--patient", "p1", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["adherence"]["checkin_days"] == 2 and doc["adherence"]["current_streak_days"] == 2
    assert set(doc["ae_by_direction_deg"]) == {"rotation_left", "rotation_right", "flexion", "extension"}
    with Store() as clinical:
        assert [t["scores"]["n_trials"] for t in clinical.history("p1", "training")] == [8, 8]


def test_a_pain_rise_stops_with_next_steps_and_a_relaunch_the_same_day_shows_the_stop(qtbot, store, db):
    window = _window(qtbot, store)
    trainee = _trainee(qtbot, ratings=(SymptomRating(2), SymptomRating(4)))  # pain up by 2 after the block
    drive(window, trainee, lambda w: _page(w) == "rating" and w.stage == "session"
          and "pain" in find(w.rating_card, "title").text())
    _click(qtbot, window, "nrs-4")
    assert "Neck pain 4 of 10" in find(window.rating_card, "readback").text()
    assert "training will stop" in find(window.rating_card, "warning").text()  # asked before it counts
    assert find(window.rating_card, "next").text() == "Yes, 4 is right"
    drive(window, trainee, _on("stopped"))
    assert find(window.stop_card, "title").text() == "Training stopped: your pain went up"
    assert "Dr Jansen" in find(window.stop_card, "contact").text()
    assert "easier" in find(window.stop_card, "change").text()  # level 2 → 1, said in plain words
    assert store.stops("p1", DAY1)[-1]["reason"] == "pain" and store.sessions("p1")[0]["stopped"]
    _click(qtbot, window, "close")
    assert not window.isVisible()

    again = _window(qtbot, store)  # relaunched the same day: the stop, not a new session
    assert _page(again) == "stopped"
    assert "Earlier today" in find(again.stop_card, "step").text()
    assert find(again.stop_card, "title").text() == "Training stopped: your pain went up"
    assert find(again.stop_card, "start") is None
    out = _cli("train-progress", "--patient", "p1", "--db", str(db), "--json")
    assert json.loads(out.stdout)["weekly"][0]["stops"] == 1
    with Store() as clinical:
        assert clinical.history("p1", "training")[0]["scores"]["reason"] == "pain"


def test_a_slip_on_a_safety_question_is_shown_and_corrected_before_it_counts(qtbot, store):
    window = _window(qtbot, store)
    _click(qtbot, window, "start")
    assert find(window.question_card, "step").text() == "Safety question · 1 of 19"
    _click(qtbot, window, "yes")  # a slip on question 1
    for _ in range(len(safety.FIRST_RUN_QUESTIONS) - 1):
        _click(qtbot, window, "no")
    assert _page(window) == "review"
    assert "Because you answered yes" in find(window.review_card, "warning").text()
    assert store.first_run_screening("p1") is None  # nothing counts before Confirm
    _click(qtbot, window, "change-dizziness")
    assert _page(window) == "question" and find(window.question_card, "yes").isChecked()  # the answer given
    _click(qtbot, window, "no")
    assert _page(window) == "review"  # straight back to the check
    assert find(window.review_card, "warning").text() == ""
    _click(qtbot, window, "confirm")
    assert store.first_run_screening("p1")["positive"] is False
    assert _page(window) == "rating" and "Headache" in find(window.rating_card, "title").text()


def test_a_yes_on_the_first_run_screen_leads_to_the_next_steps_and_holds_for_the_day(qtbot, store):
    window = _window(qtbot, store)
    trainee = _trainee(qtbot, screen_yes=("recent_trauma",))
    drive(window, trainee, _on("review"))
    assert find(window.review_card, "confirm").text() == "That's right: stop"
    _click(qtbot, window, "confirm")
    assert _page(window) == "stopped"
    assert "blow to the head or neck" in find(window.stop_card, "why").text()
    assert "emergency" in find(window.stop_card, "steps").text()
    assert "Dr Jansen" in find(window.stop_card, "contact").text()
    assert store.first_run_screening("p1")["positive"] is True and window.engine is None
    _click(qtbot, window, "close")
    again = _window(qtbot, store)
    assert _page(again) == "stopped" and store.stops("p1", DAY1)[0]["flags"] == ["recent_trauma"]


def test_severe_pain_before_asks_for_confirmation_then_no_training_today(qtbot, store):
    window = _window(qtbot, store)
    trainee = _trainee(qtbot)
    drive(window, trainee, lambda w: _page(w) == "rating" and "pain" in find(w.rating_card, "title").text())
    _click(qtbot, window, "nrs-8")
    assert "no training today" in find(window.rating_card, "warning").text()
    _click(qtbot, window, "nrs-3")  # a slip corrected: no warning
    assert find(window.rating_card, "warning").text() == ""
    _click(qtbot, window, "nrs-8")
    _click(qtbot, window, "next")
    assert _page(window) == "review" and find(window.review_card, "confirm").text() == "That's right: stop"
    _click(qtbot, window, "confirm")
    assert find(window.stop_card, "title").text() == "No training today"
    assert window.engine is None and store.stops("p1", DAY1)[0]["reason"] == "severe_pain"


def _centre(widget, parent):
    return widget.mapTo(parent, widget.rect().center())


def test_one_click_anywhere_on_the_rating_never_gives_0_or_10_unless_that_button_was_hit(qtbot, store):
    window = _window(qtbot, store)
    drive(window, _trainee(qtbot), _on("rating"))
    nrs = find(window.rating_card, "nrs")
    buttons = [find(nrs, f"nrs-{n}") for n in range(11)]
    assert all(not b.isChecked() for b in buttons)  # nothing chosen until the person chooses
    assert not find(window.rating_card, "next").isEnabled()
    assert all(b.height() >= 48 and b.width() >= 48 for b in buttons)  # touch-sized
    rects = [QtCore.QRect(b.mapTo(nrs, QtCore.QPoint(0, 0)), b.size()) for b in buttons]
    row_top = min(r.top() for r in rects) - 6
    row_bottom = max(r.bottom() for r in rects) + 6
    centres = [_centre(b, nrs) for b in buttons]
    points = []
    for r in rects:  # off-centre: near every corner and edge
        points += [r.topLeft() + QtCore.QPoint(2, 2), r.bottomRight() - QtCore.QPoint(2, 2),
                   QtCore.QPoint(r.left() + 1, r.center().y()), QtCore.QPoint(r.right() - 1, r.center().y())]
    for a, b in zip(rects, rects[1:], strict=False):  # between neighbours
        points.append(QtCore.QPoint((a.right() + b.left()) // 2, a.center().y()))
    points += [QtCore.QPoint(x, y) for x in range(0, nrs.width(), 9) for y in (row_top, row_bottom)]
    n_slips = len(points)
    points += centres  # last: every button's centre, in turn
    value = None
    for i, p in enumerate(points):
        hit = [n for n, r in enumerate(rects) if r.contains(p)]
        target = nrs.childAt(p) or nrs
        qtbot.mouseClick(target, LEFT, pos=target.mapFrom(nrs, p))
        checked = [n for n, b in enumerate(buttons) if b.isChecked()]
        if i >= n_slips:
            assert checked == [i - n_slips]  # every button's centre chooses that button
        # One click changes the choice only to the button under it; never to an end by a slip.
        assert checked in ([] if value is None else [value], hit), f"click at {p.x()},{p.y()}"
        if checked and checked[0] in (0, 10) and checked != ([] if value is None else [value]):
            assert hit == checked
        value = checked[0] if checked else None
    readback = find(window.rating_card, "readback").text()
    assert readback == f"You chose: Headache {value} of 10."


def test_the_window_works_from_the_keyboard_up_to_the_drills(qtbot, store):
    window = _window(qtbot, store)
    qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_Return)  # Start
    for _ in safety.FIRST_RUN_QUESTIONS:
        qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_N)
    qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_Escape)  # back to the last question
    assert _page(window) == "question" and find(window.question_card, "no").isChecked()
    qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_N)
    qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_Return)  # confirm
    for digit in (QtCore.Qt.Key.Key_0, QtCore.Qt.Key.Key_2):  # headache 0, pain 2
        qtbot.keyClick(window.pages.currentWidget(), digit)
        qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_Return)
    assert _page(window) == "review"
    qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_Return)
    assert _page(window) == "drill" and window.stage == "session"
    drive(window, None, lambda w: w.drill_page.wall.phase_prompt == "drill_move")
    qtbot.keyClick(window.pages.currentWidget(), QtCore.Qt.Key.Key_Escape)  # Stop
    drive(window, None, _on("stopped"), max_sim_s=window.worker.t_s + 1.0)
    assert window.record["reason"] == "person"
    assert find(window.stop_card, "title").text() == "You stopped today's session"


def test_eyes_open_level_words_and_no_estimate_pad(qtbot, store):
    store.save_plan(store.plan("p1").adjusted(level=1), DAY1, "therapist")
    window = _window(qtbot, store)
    drive(window, _trainee(qtbot), lambda w: w.drill_page.wall.tries.get("flexion"))
    texts = [e["text"] for e in window.engine.events if e.get("kind") == "prompt"]
    assert texts and not any("Open your eyes" in t or "eyes closed" in t.lower() for t in texts)
    assert not window.drill_page.wall.cursor_hidden
    assert not any(e.get("prompt") == "estimate" for e in window.engine.events)


def test_eyes_closed_faded_feedback_hides_the_dot_and_cues_the_moves(qtbot, store):
    """Level 3 gives feedback after every other try: between an eyes-closed relocation and
    its feedback (or the next movement) the dot is never drawn; the audio cues say when to
    move and when to come back; "where do you think you are?" names keys, not buttons."""
    from cervitrack.trainer.audio.outputs import RecordingOutput
    from cervitrack.trainer.gui.audio import make_audio

    store.save_plan(store.plan("p1").adjusted(level=3), DAY1, "therapist")
    audio = make_audio(RecordingOutput())
    window = _window(qtbot, store, audio=audio)
    wall = window.drill_page.wall
    trainee = _trainee(qtbot)
    hidden_frames = 0
    estimate_texts = set()
    while _page(window) != "summary":
        drive(window, trainee, lambda w, n=window.worker.t_s: w.worker.t_s > n or _page(w) == "summary")
        if wall.awaiting_kr and _page(window) == "drill":
            assert not wall.head_cursor.isVisible()
            hidden_frames += 1
        if find(window.drill_page, "pad") is not None:
            estimate_texts.add(wall.prompt.text())
    prompts = [e.get("prompt") for e in window.engine.events if e.get("kind") == "prompt"]
    assert prompts.count("drill_return") == 8 and 0 < prompts.count("feedback") < 8
    assert hidden_frames > 100
    assert audio.played.count("move") == 8 and audio.played.count("return") == 8
    assert estimate_texts and all("arrow key" in t and "Space" in t for t in estimate_texts)
    spoken = [u.text for u in audio.voice.spoken]  # eyes closed: the words on the wall are spoken
    assert spoken.count("Keeping your eyes closed, come back to the centre and keep still.") == 8
    said = [t for t in spoken if "Where do you think" in t]  # the keys, said aloud
    assert said == ["Keep your eyes closed. Where do you think you are? Press an arrow key, or space for the centre."] * prompts.count("feedback")
    assert all(u.missing == [] and len(u.samples) for u in audio.voice.spoken)


def _running_at_the_drill(qtbot, store):
    """The window answered by the trainee up to its drill page, then run as `cervitrack train`
    runs it (pipeline thread, display timer)."""
    window = _window(qtbot, store)
    trainee = _trainee(qtbot)
    while _page(window) != "drill":
        trainee.answer(window)
    start_training_window(window)
    return window


def test_the_threaded_window_runs_the_session_in_the_pipeline_thread_and_closes_cleanly(qtbot, store):
    window = _running_at_the_drill(qtbot, store)
    try:
        qtbot.waitUntil(lambda: window.worker.feed.ring.count > 0, timeout=10000)
        state = window.worker.feed.state
        assert state["test"] == "training" and state["phase"] in ("calibrate", "block")
    finally:
        _click(qtbot, window, "stop")
        # The pipeline thread applies the stop on its next step; then one display frame shows it.
        # (The frame comes from the timer's signal, as the running timer gives it.)
        qtbot.waitUntil(lambda: window.worker.feed.state.get("done"), timeout=30000)
        window.timer.timeout.emit()
        assert _page(window) == "stopped"
        _click(qtbot, window, "close")
    assert window.worker.source.status()["state"] == "disconnected"  # closing stops the worker


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_nothing_is_below_the_fold_and_every_target_is_touch_sized(qtbot, store, size):
    """Every page reached in a session: each visible button lies inside the window and is at
    least 48 px high."""
    window = _window(qtbot, store)
    window.resize(*size)
    trainee = _trainee(qtbot, ratings=(SymptomRating(2), SymptomRating(2)))
    seen = set()

    def check(w):
        page = w.pages.currentWidget()
        if page.objectName() not in seen:
            seen.add(page.objectName())
            QtWidgets.QApplication.processEvents()
            for b in page.findChildren(QtWidgets.QAbstractButton):
                if b.isVisible():
                    top_left = b.mapTo(w, QtCore.QPoint(0, 0))
                    assert b.height() >= 48, (page.objectName(), b.objectName())
                    assert 0 <= top_left.y() and top_left.y() + b.height() <= w.height(), (page.objectName(),
                                                                                          b.objectName())
        return page.objectName() == "summary"

    drive(window, trainee, check)
    assert {"welcome", "question", "review", "rating", "drill", "summary"} <= seen


def test_stop_training_on_the_card_after_a_block_ends_the_session(qtbot, store):
    window = _window(qtbot, store)
    drive(window, _trainee(qtbot), lambda w: w.stage == "session" and _page(w) == "rating")
    assert find(window.rating_card, "back") is None  # the first card after a block: no way back into the drill
    leave = find(window.rating_card, "leave")
    assert leave.text() == "Stop training"
    qtbot.mouseClick(leave, LEFT)
    drive(window, None, _on("stopped"), max_sim_s=window.worker.t_s + 1.0)
    assert window.record["reason"] == "person" and store.stops("p1", DAY1)[-1]["reason"] == "person"


def test_the_screenshot_command_renders_a_page_at_the_asked_size(tmp_path):
    out = _cli("train", "--device", "sim", "--screenshot", str(tmp_path / "q.png"), "--moment", "question",
               "--size", "960x600")
    assert out.returncode == 0, out.stderr
    from PySide6 import QtGui

    image = QtGui.QImage(str(tmp_path / "q.png"))
    assert (image.width(), image.height()) == (960, 600)
    bad = _cli("train", "--device", "serial:/dev/null", "--screenshot", str(tmp_path / "x.png"))
    assert bad.returncode == 2 and bad.stderr.startswith("cervitrack: error: ") and "--device sim" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_minimised_the_training_window_draws_nothing_and_slows_its_frames_until_restored(qtbot, store):
    import numpy as np

    from cervitrack.trainer.gui.training_window import MINIMISED_FRAME_MS

    window = _running_at_the_drill(qtbot, store)
    wall, ring = window.drill_page.wall, window.worker.feed.ring

    def frame_after_new_samples():
        """One display frame (the timer's signal: see the threaded test above) once new
        samples have arrived; the wall's trail after it."""
        count = ring.count
        qtbot.waitUntil(lambda: ring.count > count + 5, timeout=10000)
        window.timer.timeout.emit()
        x = wall.trail.getData()[0]
        return None if x is None else np.array(x)

    try:
        shown = frame_after_new_samples()
        assert shown is not None and len(shown)  # the wall draws while the window is shown
        window.showMinimized()
        assert window.timer.isActive() and window.timer.interval() == MINIMISED_FRAME_MS
        minimised = frame_after_new_samples()
        assert np.array_equal(minimised, shown, equal_nan=True)  # new samples, nothing redrawn
        window.showNormal()
        assert window.timer.interval() == 33
        restored = frame_after_new_samples()
        assert not np.array_equal(restored, shown, equal_nan=True)  # drawn again
    finally:
        _click(qtbot, window, "stop")
        qtbot.waitUntil(lambda: window.worker.feed.state.get("done"), timeout=30000)
        window.timer.timeout.emit()
        _click(qtbot, window, "close")
