"""The therapist's journey in the application with a device on a real transport: the emulated
opentrack sender on UDP 127.0.0.1 (``cervitrack emulate opentrack-udp``, another process) is
the headset, worn by a virtual patient who follows the app's prompts from its ``--events``
file. Driven only by typing and clicking; the stored errors are the patient's true ones.

The device's calibration was saved in an earlier session (the sender sits square on the head):
*Use saved calibration* captures only the neutral, so the journey is two trials long (about
half a minute in real time). The full calibration by clicks is in test_gui_therapist.py.
"""

import json

import numpy as np
import pytest
from PySide6 import QtWidgets  # the pinned binding, before pyqtgraph

from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.gui.application import make_window
from cervitrack.trainer.gui.main_window import AppSettings
from cervitrack.trainer.stores.sessions import Store

PRESET = ('test = "jpe"\ntitle = "JPE, rotation"\n\n[settings]\n'
          'directions = ["rotation_left", "rotation_right"]\ntrials_per_direction = 1\n')
#: The measured error equals the head's true error within this, deg (as the CLI journeys).
TRUE_TOLERANCE_DEG = 0.3


def test_a_jpe_in_the_app_on_a_udp_device_is_stored_with_the_patients_true_errors(qtbot, person, tmp_path,
                                                                                   udp_sender):
    from cervitrack.calibration.head import HeadCalibration
    from cervitrack.trainer import paths
    from cervitrack.trainer.stores.calibrations import save_calibration

    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.jsonl"
    # The sender follows the events file the app is about to write (it waits for it).
    spec = f"udp:{udp_sender('--events', str(events), '--truth', str(truth), '--seed', '7')}"
    save_calibration(f"{spec}:opentrack-udp", HeadCalibration(np.array([1.0, 0, 0, 0]), None, None, {"ok": True}))
    (paths.data_dir() / "presets").mkdir(exist_ok=True)
    (paths.data_dir() / "presets" / "jpe-rotation.toml").write_text(PRESET)
    window = make_window(trials_per_direction=1, settings=AppSettings(follow=True), player=RecordingOutput(),
                         events_path=events)
    qtbot.addWidget(window)
    window.resize(1100, 800)
    window.show()
    person.connect(window, spec, timeout_ms=60_000)
    assert not window.simulated_banner.isVisible()
    person.create_patient(window, "P-udp")
    person.click_tab(window, "Calibration")
    person.click(window.calibration_view.saved_button)
    qtbot.waitUntil(lambda: window.worker.calibration is not None, timeout=10_000)
    person.start_test(window, "JPE, rotation")
    stored = person.find(window, QtWidgets.QLabel, "stored")
    qtbot.waitUntil(lambda: stored.text().startswith("Stored: "), timeout=120_000)
    assert "SIMULATED" not in stored.text() and not window.running
    window.close()  # nothing runs: no question
    with Store() as store:
        (session,) = store.sessions("P-udp", simulated=False)
        (test,) = store.tests(session["id"])
    assert session["device"] == spec and not session["simulated"]
    # Every valid trial's error is the head's true error (the emulator's ground truth).
    valid = [t for t in test["trials"] if t["valid"]]
    true = [t for t in (json.loads(line) for line in truth.read_text().splitlines()) if t["kind"] == "trial"]
    assert [t["direction"] for t in valid] == [t["direction"] for t in true] == ["rotation_left", "rotation_right"]
    worst = 0.0
    for measured, t in zip(valid, true):
        for component, deg in t["true_deg"].items():
            assert measured["error_deg"][component] == pytest.approx(deg, abs=TRUE_TOLERANCE_DEG)
            worst = max(worst, abs(measured["error_deg"][component] - deg))
    print(f"\napp on {spec}: {len(valid)} trials, measured vs true error <= {worst:.3f} deg")
    # The events file the patient followed: every prompt, in order, with the test's moments.
    written = [json.loads(line) for line in events.read_text().splitlines()]
    prompts = [e["prompt"] for e in written if e["kind"] == "prompt"]
    assert prompts[0] == "recenter" and prompts[-1] == "done"  # the saved calibration: no wizard
    assert [e["kind"] for e in written if e["kind"] != "prompt"][0] == "test_start"
    assert sum(e["kind"] == "trial_end" for e in written) == len(test["trials"])
    assert all(isinstance(e["wall_time_s"], float) for e in written)
