"""Sound in the windows: tone cues and spoken prompts only in eyes-closed tests, and the
settings (sound on/off) respected. Recording output: no sound card needed."""

import numpy as np

from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.gui import audio


def test_tones_are_int16_with_faded_ends_and_the_requested_length():
    samples = audio.tone(((440.0, 0.1), (880.0, 0.2)))
    rate = 16000
    assert samples.dtype == np.int16
    assert len(samples) == int(0.1 * rate) + int(0.2 * rate)
    assert samples[0] == 0 and abs(int(samples[-1])) < 200
    assert np.abs(samples).max() > 10000


def test_eyes_closed_prompts_are_cued_and_spoken():
    out = RecordingOutput()
    cues = audio.make_audio(out)
    texts = {"recenter": "Open your eyes, look straight ahead at the centre and keep still.",
             "move": "Close your eyes and turn your head to the left as far as is comfortable, then hold.",
             "return": "Keeping your eyes closed, come back to the centre and keep still.",
             "trial_recorded": "Recorded.", "done": "Test finished. Well done."}
    for kind, text in texts.items():
        cues.on_prompt(kind, eyes_closed=True, text=text)
    assert cues.played == ["move", "return", "recorded", "done"]
    assert [label for label, _ in out.played] == [
        "Open your eyes, look straight ahead at the centre and keep still.",
        "Close your eyes and turn your head to the left as far as is comfortable, then hold.",
        "Keeping your eyes closed, come back to the centre and keep still.",
        "Recorded.", "Test finished. Well done."]
    assert all(np.abs(samples).max() > 1000 for _, samples in out.played)


def test_nothing_plays_when_turned_off_or_for_eyes_open_tests():
    out = RecordingOutput()
    cues = audio.make_audio(out, enabled=False)
    assert cues.on_prompt("move", eyes_closed=True, text="Close your eyes.") is None
    cues.enabled = True
    assert cues.on_prompt("move", eyes_closed=False, text="Close your eyes.") is None
    assert out.played == []


def test_the_app_warns_before_an_eyes_closed_test_when_no_sound_can_play(qtbot, monkeypatch, tmp_path):
    """CERVITRACK_AUDIO=none: selecting and starting the JPE test (eyes closed) shows the
    no-sound warning before its first eyes-closed prompt; an eyes-open test shows none."""
    from PySide6 import QtCore

    from cervitrack.trainer.gui.application import make_window
    from cervitrack.trainer.gui.main_window import AppSettings

    monkeypatch.setenv("CERVITRACK_AUDIO", "none")
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path))
    window = make_window(trials_per_direction=1, settings=AppSettings(follow=False), threaded=False,
                         save_calibrations=False)
    qtbot.addWidget(window)
    window.show()
    assert not window.audio.voice.available
    qtbot.mouseClick(window.device_view.connect_button, QtCore.Qt.MouseButton.LeftButton)
    names = [window.test_combo.itemData(i) for i in range(window.test_combo.count())]
    eyes_open = next(n for n in names if not window.catalog[n].eyes_closed)
    window.test_combo.setCurrentIndex(names.index(eyes_open))
    assert not window.sound_warning.isVisible()
    window.test_combo.setCurrentIndex(names.index("jpe"))
    assert window.sound_warning.isVisible()
    assert window.sound_warning.text().startswith("No sound: sound turned off by CERVITRACK_AUDIO=none.")
    qtbot.mouseClick(window.buttons["start"], QtCore.Qt.MouseButton.LeftButton)
    assert window.sound_warning.isVisible() and window.audio.voice.spoken == []
    assert "Audio output: none (sound turned off by CERVITRACK_AUDIO=none)" in window.audio_note.text()
    assert not window.voice_check.isEnabled()
    window.close()


def test_the_training_window_warns_before_the_first_eyes_closed_drill(qtbot, monkeypatch, tmp_path):
    """Level 2 (eyes closed) without sound: the warning is on the first page and still there
    when the first drill prompt is spoken; clicks only (the virtual trainee's: Start, No to
    every question, the ratings, Confirm)."""
    from PySide6 import QtCore, QtWidgets

    from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
    from cervitrack.trainer.gui.training_app import (
        SimTrainee,
        drive,
        open_training_window,
        short_plan,
    )
    from cervitrack.trainer.training.store import TrainingStore

    monkeypatch.setenv("CERVITRACK_AUDIO", "none")
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path))
    left = QtCore.Qt.MouseButton.LeftButton
    with TrainingStore(tmp_path / "training.db") as store:
        window = open_training_window("sim", store, "p1", "2026-03-02", SimConfig(seed=5, sensor=SensorConfig(rate_hz=50.0)),
                                      plan_for_session=lambda plan: short_plan(plan, 2), audio=audio.make_audio())
        qtbot.addWidget(window)
        window.show()
        warning = window.findChild(QtWidgets.QLabel, "sound-warning")
        assert warning.isVisible()
        assert warning.text().startswith("No sound: sound turned off by CERVITRACK_AUDIO=none.")
        trainee = SimTrainee(click=lambda w: qtbot.mouseClick(w, left), key=qtbot.keyClick)
        spoken = window.audio.voice.spoken

        def moved(w):
            assert warning.isVisible() and w.worker.t_s < 120.0
            return any(u.kind == "drill_move" for u in spoken)

        drive(window, trainee, moved)
        assert "no" in trainee.clicked and "confirm" in trainee.clicked
        move = next(u for u in spoken if u.kind == "drill_move")
        assert move.text.startswith("Close your eyes.") and move.missing == []
        qtbot.mouseClick(window.findChild(QtWidgets.QPushButton, "stop"), left)
