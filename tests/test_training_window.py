"""The patient training window: safety screen, ratings and stop rules, drills through the
session engine, summary. Offscreen, with the simulated headset worn by the virtual trainee;
answers are injected the way the buttons give them."""

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.gui.application import qt_app
from cervitrack.trainer.gui.training_app import (
    SimAnswers,
    drive,
    open_training_window,
    short_plan,
    store_clinical,
)
from cervitrack.trainer.stores.sessions import Store
from cervitrack.trainer.training import safety, symptoms
from cervitrack.trainer.training.store import TrainingStore
from cervitrack.trainer.training.symptoms import SymptomRating

TODAY = "2026-03-02"


@pytest.fixture
def store(tmp_path):
    with TrainingStore(tmp_path / "training.db") as s:
        yield s




def _window(store, level=2, audio=None):
    qt_app()
    cfg = SimConfig(seed=5, sensor=SensorConfig(rate_hz=50.0))
    window = open_training_window("sim", store, "p1", TODAY, cfg,
                                  plan_for_session=lambda plan: short_plan(plan, level), audio=audio)
    window.show()
    return window


def test_a_short_session_runs_from_the_safety_screen_to_the_summary(store):
    window = _window(store)
    assert window.pages.currentWidget() is window.first_screen  # first run: the red-flag screen
    answers = SimAnswers(ratings=(SymptomRating(2), SymptomRating(2)))
    window.on_finished = lambda record: store_clinical("sim", window, record)
    frames = drive(window, answers, lambda w: w.stage == "summary")
    try:
        assert frames >= 500
        assert window.pages.currentWidget() is window.summary_page
        record = window.record
        assert not record["stopped"]
        assert record["n_trials"] == 8  # 4 directions × 2 tries, one block
        assert record["estimate_agreement"] is not None  # level 2: "where do you think you are?" asked
        assert answers.n_ratings == 2  # before the session and after the block
        # Stored: screens, diary, session; the summary shows the progress figure.
        assert [s["date"] for s in store.sessions("p1")] == [TODAY]
        assert store.first_run_screening("p1")["positive"] is False
        assert window.progress is not None and "tries" in window.summary_text.text()
        with Store() as clinical:  # as on the command line, also in the clinical store
            assert [t["scores"]["n_trials"] for t in clinical.history("p1", "training")] == [8]
        # The dot was hidden while the eyes were closed (level 2).
        assert window.drill_page.wall.vision == "closed"
    finally:
        window.close()


def test_the_dot_is_hidden_at_the_estimate_question_and_shown_at_the_laser_level(store):
    window = _window(store)
    try:
        drive(window, SimAnswers(), lambda w: w.drill_page.estimate_box.isVisible())
        assert window.drill_page.wall.cursor_hidden
        assert window.worker.feed.state["question"] == "estimate"
    finally:
        window.close()
    laser = _window(store, level=1)
    try:
        drive(laser, SimAnswers(), lambda w: w.drill_page.wall.phase_prompt == "drill_move")
        assert not laser.drill_page.wall.cursor_hidden
    finally:
        laser.close()


def test_a_positive_safety_screen_blocks_training(store):
    window = _window(store)
    try:
        window.submit_screen("first_run", {q.key: q.key == "recent_trauma" for q in safety.FIRST_RUN_QUESTIONS})
        assert window.stage == "ended"
        assert window.pages.currentWidget() is window.message_page
        assert safety.SEE_CLINICIAN in window.message.text()
        assert window.engine is None  # no session was started
        assert store.first_run_screening("p1")["positive"] is True
        for _ in range(60):
            window.worker.step_to(window.worker.t_s + 1 / 30)
            window.tick()
        assert window.engine is None and store.sessions("p1") == []
    finally:
        window.close()


def test_an_unanswered_safety_question_is_never_a_no(store):
    window = _window(store)
    try:
        window.first_screen.next.click()
        assert window.pages.currentWidget() is window.first_screen
        assert "every question" in window.first_screen.note.text()
    finally:
        window.close()


def test_a_pain_rise_after_the_block_stops_the_session_with_advice(store):
    window = _window(store)
    answers = SimAnswers(ratings=(SymptomRating(2), SymptomRating(4)))  # up by 2: the stop rule
    try:
        drive(window, answers, lambda w: w.stage == "summary")
        assert window.record["stopped"] and window.record["reason"] == "pain"
        assert window.engine.stop.advice == symptoms.ADVICE["pain"]
        assert symptoms.ADVICE["pain"] in window.summary_text.text()
        assert store.sessions("p1")[0]["stopped"]
    finally:
        window.close()


def test_the_stop_button_ends_the_session_at_once(store):
    window = _window(store)
    try:
        drive(window, SimAnswers(), lambda w: w.drill_page.wall.phase_prompt == "drill_move")
        window.drill_page.stop.click()
        drive(window, None, lambda w: w.stage == "summary", max_sim_s=window.worker.t_s + 1.0)
        assert window.record["stopped"] and window.record["reason"] == "person"
        assert np.isfinite(window.worker.last_sample_t_s)
    finally:
        window.close()


def test_severe_pain_before_means_no_training_today(store):
    window = _window(store)
    try:
        drive(window, SimAnswers(ratings=(SymptomRating(8),)), lambda w: w.stage == "ended", max_sim_s=5.0)
        assert window.engine is None
        assert window.message_title.text() == "No training today"
    finally:
        window.close()


def test_faded_feedback_tries_without_feedback_never_show_the_dot(store, tmp_path):
    """Level 3 gives feedback after every other try: between an eyes-closed relocation and
    its feedback (or the next movement) the dot is never drawn. Eyes closed, the audio cues
    say when to move and when to come back."""
    from cervitrack.trainer.audio.outputs import RecordingOutput
    from cervitrack.trainer.gui.audio import make_audio

    audio = make_audio(RecordingOutput())
    window = _window(store, level=3, audio=audio)
    wall = window.drill_page.wall
    seen = []
    original = wall.on_event
    wall.on_event = lambda event: (seen.append(event.get("prompt")) if event.get("kind") == "prompt" else None,
                                   original(event))
    answers = SimAnswers()
    checked = 0
    try:
        while window.stage != "summary":
            assert window.worker.t_s < 900.0
            answers.answer(window)
            window.worker.step_to(window.worker.t_s + 1 / 30)
            window.tick()
            last = [p for p in seen if p in ("drill_return", "feedback", "drill_move")]
            if last and last[-1] == "drill_return" and window.pages.currentWidget() is window.drill_page:
                assert not wall.head_cursor.isVisible()
                checked += 1
        relocations, feedbacks = seen.count("drill_return"), seen.count("feedback")
        assert relocations == 8 and 0 < feedbacks < relocations  # faded: some tries without feedback
        assert checked > 100
        assert audio.played.count("move") == 8 and audio.played.count("return") == 8
        spoken = [u.text for u in audio.voice.spoken]
        assert spoken.count("Keeping your eyes closed, come back to the centre and keep still.") == 8
        assert sum(t.startswith("Keep your eyes closed. Where do you think you are") for t in spoken) == feedbacks
        assert all(u.missing == [] and len(u.samples) for u in audio.voice.spoken)
    finally:
        window.close()


def test_the_training_window_renders_offscreen_mid_drill(tmp_path):
    from PySide6 import QtGui

    from cervitrack.trainer.gui.training_app import render_training_screenshot

    path = render_training_screenshot(tmp_path / "training.png", "drill", history_days=0)
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (1100, 950)


def test_train_screenshot_needs_the_simulated_device(tmp_path, capsys):
    from cervitrack.trainer.cli import main

    assert main(["train", "--device", "serial:/dev/null", "--screenshot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cervitrack: error: ") and "--device sim" in err and "\n" not in err


def test_the_threaded_window_runs_the_session_in_the_pipeline_thread_and_closes_cleanly(store):
    from PySide6.QtTest import QTest

    window = _window(store)
    answers = SimAnswers()
    answers.answer(window)  # safety screen
    answers.answer(window)  # daily check
    answers.answer(window)  # rating before: the session starts
    window.worker.start()
    window.timer.start(33)
    try:
        QTest.qWait(1500)
        state = window.worker.feed.state
        assert state["test"] == "training" and state["phase"] in ("calibrate", "block")
        assert window.worker.feed.ring.count > 0  # the wall drew samples from the thread
    finally:
        window.close()
    assert window.worker.source.status()["state"] == "disconnected"  # closing stops the worker


def test_stop_on_the_rating_page_after_a_block_ends_the_session(store):
    window = _window(store)
    try:
        drive(window, SimAnswers(), lambda w: w.stage == "session" and w.pages.currentWidget() is w.rating_page)
        assert window.rating_page.stop.isVisible()
        window.rating_page.stop.click()
        drive(window, None, lambda w: w.stage == "summary", max_sim_s=window.worker.t_s + 1.0)
        assert window.record["reason"] == "person"
    finally:
        window.close()


def test_minimised_the_training_window_draws_nothing_and_slows_its_frames_until_restored(store):
    from PySide6.QtTest import QTest

    from cervitrack.trainer.gui.training_window import MINIMISED_FRAME_MS

    window = _window(store)
    answers = SimAnswers()
    for _ in range(3):  # safety screen, daily check, rating before: the session starts
        answers.answer(window)
    window.worker.start()
    window.timer.start(33)
    wall = window.drill_page.wall
    try:
        QTest.qWait(300)
        assert window.pages.currentWidget() is window.drill_page
        assert wall.trail.getData()[0] is not None  # the wall draws while shown
        window.showMinimized()
        assert window.timer.isActive() and window.timer.interval() == MINIMISED_FRAME_MS
        drawn = wall.trail.getData()[0]
        count = window.worker.feed.ring.count
        QTest.qWait(500)
        assert window.worker.feed.ring.count > count  # the session goes on
        after = wall.trail.getData()[0]
        assert np.array_equal(drawn, after, equal_nan=True)  # minimised: not redrawn
        window.showNormal()
        assert window.timer.interval() == 33
    finally:
        window.close()
