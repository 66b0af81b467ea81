"""The training window says a lost signal on its status line, in the clinical engines' words,
and the try under way is redone. Driven only by what a person touches (the virtual trainee
clicks and presses keys, tests/test_training_window.py); the simulated link drops out now and
then (``disconnect_every_s``), so the drill's samples stop as a real link's do."""

import pytest
from PySide6 import QtCore

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.gui.application import qt_app
from cervitrack.trainer.gui.training_app import (
    SimTrainee,
    drive,
    find,
    open_training_window,
    short_plan,
)
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.store import TrainingStore

LEFT = QtCore.Qt.MouseButton.LeftButton


def test_a_dropout_during_a_drill_shows_signal_lost_on_the_status_line_and_the_try_is_redone(qtbot, tmp_path):
    qt_app()
    # Seed 11: the first of the simulated dropouts falls inside a drill try.
    cfg = SimConfig(seed=11, sensor=SensorConfig(rate_hz=50.0))
    cfg.link.disconnect_every_s = 12.0
    cfg.link.disconnect_s = 1.5
    with TrainingStore(tmp_path / "training.db") as store:
        store.save_plan(Plan(patient="p1", level=1), "2026-03-02", "therapist")
        window = open_training_window("sim", store, "p1", "2026-03-02", cfg, plan_for_session=short_plan)
        qtbot.addWidget(window)
        window.show()
        trainee = SimTrainee(click=lambda w: qtbot.mouseClick(w, LEFT), key=qtbot.keyClick)
        shown = []

        def seen(w):
            status = find(w, "status")
            if status is not None and status.text() and (not shown or shown[-1] != status.text()):
                shown.append(status.text())
            return find(w.pages.currentWidget(), "title") is not None and w.pages.currentWidget().objectName() \
                == "summary"

        drive(window, trainee, seen)
        lost = [t for t in shown if t.startswith("Signal lost — trial")]
        assert lost and lost[0].endswith(" paused. Waiting for the sensor…")
        number = lost[0].split()[4]
        assert f"Signal back. Trial {number} will be redone." in shown
        trials = window.engine.relocation_trials()
        assert "signal lost" in [t["reason"] for t in trials]
        assert sum(t["valid"] for t in trials) == len(short_plan(Plan()).directions) * 2
        window.worker.stop()
        window.close()


def test_on_a_real_udp_device_the_window_says_it_is_connecting_until_samples_come(qtbot, tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    qt_app()
    with TrainingStore(tmp_path / "training.db") as store:
        window = open_training_window(f"udp:{port}", store, "p1", "2026-03-02", protocol="opentrack-udp")
        qtbot.addWidget(window)
        window.show()
        drive(window, None, lambda w: find(w, "status") is not None, max_sim_s=5.0)
        assert find(window, "status").text() == f"Connecting to udp:{port}…"
        assert find(window.pages.currentWidget(), "start") is not None   # the welcome card stays usable
        window.worker.stop()
        window.close()


@pytest.mark.parametrize("use_saved", [True, False])
def test_a_real_device_with_a_saved_calibration_is_offered_it_on_a_yes_no_card(qtbot, tmp_path, use_saved,
                                                                              udp_sender):
    """On a real device (UDP) whose calibration was saved, the window asks before the session
    whether to use it: Yes captures only the neutral and the drills start at once; No runs the
    functional calibration first (sit still, nod, turn)."""

    import numpy as np

    from cervitrack.calibration.head import HeadCalibration
    from cervitrack.trainer.gui.training_app import start_training_window
    from cervitrack.trainer.gui.training_window import SAVED_TEXT
    from cervitrack.trainer.stores.calibrations import save_calibration

    port = udp_sender()
    save_calibration(f"udp:{port}:opentrack-udp", HeadCalibration(np.array([1.0, 0, 0, 0]), None, None, {"ok": True}))
    qt_app()
    with TrainingStore(tmp_path / "training.db") as store:
        store.save_plan(Plan(patient="p1", level=1), "2026-03-02", "therapist")
        window = open_training_window(f"udp:{port}", store, "p1", "2026-03-02", protocol="opentrack-udp",
                                      plan_for_session=short_plan)
        qtbot.addWidget(window)
        window.show()
        start_training_window(window)
        # The sender (another process) is up once frames come (the window then stops saying
        # "Connecting…").
        qtbot.waitUntil(lambda: window.worker.feed.status.get("frames", 0) > 0, timeout=60_000)
        trainee = SimTrainee(click=lambda w: qtbot.mouseClick(w, LEFT), key=qtbot.keyClick)

        def saved_card():
            page = window.pages.currentWidget()
            title = find(page, "title")
            if title is not None and title.text() == SAVED_TEXT:
                return True
            trainee.answer(window)  # Start, the safety questions, the rating before
            return False

        qtbot.waitUntil(saved_card, timeout=30_000)
        page = window.pages.currentWidget()
        qtbot.mouseClick(find(page, "yes" if use_saved else "no"), LEFT)
        prompt = window.drill_page.wall.prompt
        if use_saved:
            assert prompt.text().startswith("Using this device's saved calibration.")
            qtbot.waitUntil(lambda: window.engine is not None, timeout=30_000)
            assert window.engine.calibration is not None, window.signal_text  # no functional calibration to run
            first = "recenter"
        else:
            assert window.engine is not None and window.engine.calibration is None
            first = "sit_still"
        qtbot.waitUntil(lambda: any(e.get("kind") == "prompt" for e in window.engine.events), timeout=10_000)
        assert next(e["prompt"] for e in window.engine.events if e.get("kind") == "prompt") == first
        window.worker.stop()
        window.close()
