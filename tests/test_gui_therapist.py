"""The therapist's journeys through the application, driven only by what a person touches:
clicks on visible buttons and tabs, keys, typing into fields (pytest-qt's ``qtbot``).

The window runs as ``cervitrack app`` does (pipeline thread, frame clock, event loop), with the
simulated headset chosen explicitly on the device page and its virtual patient running faster
than real time (``speed``). Questions (QMessageBox) are answered by clicking their buttons.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets  # the pinned binding, before pyqtgraph

from cervitrack.firmware_bridge.sim.config import config_from_dict
from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.gui.application import make_window
from cervitrack.trainer.gui.main_window import AppSettings
from cervitrack.trainer.stores.sessions import Store

LEFT = QtCore.Qt.MouseButton.LeftButton
SPEED = 6.0  # simulated seconds per wall second


def choose_simulator(person, window):
    """Type "sim" as the device (the simulator is never preselected) and connect."""
    assert person.find(window, QtWidgets.QComboBox, "device_choice").currentText() == "Choose a device…"
    person.connect(window, "sim")


def check_exported_csv(folder, test):
    """The CSV export of the session's raw recording: one row per sample on a rising clock,
    the head angles of the test's calibration, and the test's prompts among the events."""
    with open(folder / "ada-raw.csv", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        rows = np.loadtxt(f, delimiter=",", ndmin=2)
    col = {name: i for i, name in enumerate(header)}
    assert header[:7] == ["t_s", "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2", "gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s"]
    t_s = rows[:, col["t_s"]]
    assert len(rows) > 100 * 20 and np.all(np.diff(t_s) > 0)  # a simulated 100 Hz headset, > 20 s
    q = rows[:, [col["quat_w"], col["quat_x"], col["quat_y"], col["quat_z"]]]
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-3)  # the headset's orientation
    # Head angles from the moment the calibration was set, as seen live: at each scored
    # relocation the exported flexion/axial/lateral differ from the reference window's by the
    # trial's error.
    angles = rows[:, [col["axial_deg"], col["lateral_deg"], col["flexion_deg"]]]
    assert np.isfinite(angles[-100:]).all() and np.isnan(angles[0]).all()
    for tr in (tr for tr in test["trials"] if tr["valid"]):
        ref, ret = tr["ref_window"], tr["ret_window"]
        at_ref = angles[(t_s >= ref["t0_s"]) & (t_s <= ref["t1_s"])].mean(axis=0)
        at_ret = angles[(t_s >= ret["t0_s"]) & (t_s <= ret["t1_s"])].mean(axis=0)
        err = tr["error_deg"]
        assert at_ret - at_ref == pytest.approx([err["axial"], err["lateral"], err["flexion"]], abs=0.3)
    windows = [tr["ret_window"] for tr in test["trials"] if tr["valid"]]
    events = (folder / "ada-raw_events.csv").read_text(encoding="utf-8")
    assert "prompt" in events and "calibration" in events
    sidecar = json.loads((folder / "ada-raw.json").read_text(encoding="utf-8"))
    assert sidecar["Columns"]["t_s"].startswith("sample time")
    # Every scored relocation window lies inside the recording, on the same clock.
    assert windows and all(t_s[0] <= w["t0_s"] < w["t1_s"] <= t_s[-1] for w in windows)
    assert events.count(",trial,") == len(test["trials"])


def first_trial_done(qtbot, person, window, patient_id):
    """The simulator chosen, ``patient_id`` created, a JPE started, its first trial recorded."""
    choose_simulator(person, window)
    person.create_patient(window, patient_id)
    person.click(person.find(window, QtWidgets.QPushButton, "start"))
    progress = person.find(window, QtWidgets.QLabel, "progress")
    qtbot.waitUntil(lambda: progress.text().startswith("trial 2 of 4"), timeout=60_000)


def open_app(qtbot, cfg=None, follow=True):
    window = make_window(cfg or config_from_dict({}, seed=11), trials_per_direction=1,
                         settings=AppSettings(follow=follow, frame_schedule="fixed"), threaded=True,
                         player=RecordingOutput(), save_calibrations=False, speed=SPEED)
    qtbot.addWidget(window)
    window.resize(1100, 800)
    window.show()
    return window


def close_app(person, window):
    """Close as the window manager does (a close event); a running test is discarded."""
    if window.running:
        person.answer("Discard and close")
    QtWidgets.QApplication.sendEvent(window, QtGui.QCloseEvent())


@pytest.fixture
def app(qtbot, person):
    window = open_app(qtbot)
    yield window
    close_app(person, window)


def test_a_full_jpe_session_is_stored_and_reported_from_the_app(qtbot, person, app, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # the report dialog opens in the home folder
    window = app
    start = person.find(window, QtWidgets.QPushButton, "start")
    assert not window.simulated_banner.isVisible() and not start.isEnabled()
    choose_simulator(person, window)
    assert window.simulated_banner.isVisible() and "SIMULATED" in window.simulated_banner.text()
    assert "SIMULATED" in window.windowTitle()
    # Streaming, but no patient yet: Start is off and says why.
    qtbot.waitUntil(lambda: "patient" in person.find(window, QtWidgets.QLabel, "start_reason").text())
    assert not start.isEnabled()
    person.create_patient(window, "P-0042", "Ada Example")
    # The raw stream is recorded from here on: the dialog offers a numbered name in the data folder.
    record = person.find(window, QtWidgets.QPushButton, "record")
    assert record.text() == "Record raw stream…"
    edit = person.open_file_dialog(window, record, "record_dialog")
    assert edit.text() == "recording-001.cvtrec"
    person.type_and_accept(edit, "ada-raw.cvtrec")
    qtbot.waitUntil(lambda: record.text() == "Stop recording", timeout=5_000)
    # Calibration: the flow moved to its tab; one click.
    qtbot.mouseClick(person.button(window, "Start calibration"), LEFT)
    qtbot.waitUntil(lambda: window.calibration_view.score_label.text().startswith("Score "), timeout=60_000)
    assert "good" in window.calibration_view.score_label.text()
    # No test yet: the Results page says so (a calibration is not a test's result).
    person.click_tab(window, "Results")
    assert window.results_view.title.text() == "Results: no test yet. Run a test: its results appear here trial by trial."
    assert not window.results_view.table.isVisible()
    # A JPE test (1 trial per direction), with its progress.
    qtbot.waitUntil(start.isEnabled)
    combo = person.find(window, QtWidgets.QComboBox, "test_choice")
    assert combo.currentText() == "JPE, neutral head position"
    qtbot.mouseClick(start, LEFT)
    progress = person.find(window, QtWidgets.QLabel, "progress")
    qtbot.waitUntil(lambda: progress.text().startswith("trial 1 of 4"), timeout=10_000)
    qtbot.waitUntil(lambda: "trial 2 of 4 · about" in progress.text(), timeout=60_000)
    stored = person.find(window, QtWidgets.QLabel, "stored")
    qtbot.waitUntil(lambda: stored.text().startswith("Stored (SIMULATED)"), timeout=120_000)
    qtbot.waitUntil(lambda: "(finished)" in window.results_view.title.text(), timeout=5_000)
    title = window.results_view.title.text()
    assert "JPE, neutral head position" in title and "SIMULATED" in title
    table = window.results_view.table
    assert table.item(table.rowCount() - 1, 0).text() == "overall"
    # The session in the store, as `cervitrack test` stores it; apart from real patients'.
    with Store() as store:
        assert store.sessions(simulated=False) == []
        (session,) = store.sessions("P-0042", simulated=True)
        assert session["simulated"] and session["device"] == "sim" and session["calibration"]
        (test,) = store.tests(session["id"])
        assert store.patient("P-0042")["name"] == "Ada Example"
    assert test["kind"] == "jpe" and test["preset"] == "jpe"
    assert sum(tr["valid"] for tr in test["trials"]) == 4
    assert set(test["scores"]) == {"directions", "overall"}
    assert test["result"]["threshold_deg"] == 4.5 and test["result"]["simulated"] is True
    from cervitrack.trainer import paths

    assert not list((paths.data_dir() / "results").glob("*.json"))  # stored: no second copy
    ae = [tr["signed_error_deg"] for tr in test["trials"] if tr["valid"]]
    assert test["scores"]["overall"]["ae_deg"] == pytest.approx(np.mean(np.abs(ae)))
    assert table.item(table.rowCount() - 1, 2).text() == f"{np.mean(np.abs(ae)):.2f}"
    # The recording stops with a click; it belongs to the session.
    export = person.find(window, QtWidgets.QPushButton, "export_button")
    assert not export.isEnabled()  # nothing recorded to export yet
    qtbot.mouseClick(record, LEFT)
    qtbot.waitUntil(lambda: stored.text().startswith("Recording saved: "), timeout=10_000)
    raw = Path(stored.text().removeprefix("Recording saved: "))
    assert raw.name == "ada-raw.cvtrec" and record.text() == "Record raw stream…"
    with Store() as store:
        assert [r["path"] for r in store.recordings(session["id"])] == [str(raw)]
        assert store.session(session["id"])["raw_trace_path"] == str(raw)
    # The report: the file dialog (opened in the home folder) is answered by typing the name.
    for name in ("a-report.pdf", "b-report.html"):  # no common prefix: no completion popup
        edit = person.open_file_dialog(window, person.find(window, QtWidgets.QPushButton, "report_button"), "report_dialog")
        assert edit.text() == "cervitrack-P-0042-session-1.pdf"
        person.type_and_accept(edit, name)
        qtbot.waitUntil(lambda name=name: stored.text() == f"Report written: {tmp_path / name}", timeout=30_000)
    # The recording as CSV, into a folder typed in the folder dialog; a second export asks
    # before it replaces the files.
    out = tmp_path / "csv-out"
    out.mkdir()
    # The dialog opens in the home folder: the folder's name is typed (a typed absolute path
    # opens the completion list at every "/").
    person.type_and_accept(person.open_file_dialog(window, export, "export_dialog"), out.name)
    qtbot.waitUntil(lambda: stored.text().startswith(("Exported", "The export failed")), timeout=30_000)
    assert stored.text() == "Exported: " + ", ".join(str(out / n) for n in ("ada-raw.csv", "ada-raw_events.csv", "ada-raw.json"))
    check_exported_csv(out, test)
    (out / "ada-raw.csv").write_text("the therapist's own edits\n")
    for choice, kept in (("Keep them", True), ("Replace them", False)):
        asked = person.answer(choice)
        person.type_and_accept(person.open_file_dialog(window, export, "export_dialog"), out.name)
        qtbot.waitUntil(lambda asked=asked: bool(asked), timeout=10_000)
        assert "already in" in asked[0] and "ada-raw.csv" in asked[0]
        expected = f"Not exported: the files in {out} are kept." if kept else "Exported: "
        qtbot.waitUntil(lambda expected=expected: stored.text().startswith(expected), timeout=30_000)
        assert ((out / "ada-raw.csv").read_text() == "the therapist's own edits\n") == kept
    check_exported_csv(out, test)

    assert (tmp_path / "a-report.pdf").read_bytes()[:5] == b"%PDF-"
    html = (tmp_path / "b-report.html").read_text(encoding="utf-8")
    assert "SIMULATED" in html and "P-0042" in html and "JPE, neutral head position" in html


def test_closing_mid_test_asks_first(qtbot, person, app):
    window = app
    choose_simulator(person, window)
    person.create_patient(window, "P-7")
    qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "start"), LEFT)
    assert window.running
    asked = person.answer("Keep the test")
    event = QtGui.QCloseEvent()
    QtWidgets.QApplication.sendEvent(window, event)
    assert asked and "discards it" in asked[0]
    assert not event.isAccepted() and window.isVisible() and window.running
    asked = person.answer("Discard and close")
    event = QtGui.QCloseEvent()
    QtWidgets.QApplication.sendEvent(window, event)
    assert asked and event.isAccepted()
    assert window.worker.feed.status["state"] == "disconnected"


def test_esc_in_the_fullscreen_patient_display_only_leaves_fullscreen_and_stop_keeps_the_trials_done(qtbot, person, app, tmp_path):
    window = app
    choose_simulator(person, window)
    person.create_patient(window, "P-8")
    qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "start"), LEFT)
    qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "patient"), LEFT)
    display = window.patient_window
    assert display.isVisible() and display.simulated_banner.isVisible()
    qtbot.keyClick(display, QtCore.Qt.Key.Key_F)
    qtbot.waitUntil(display.isFullScreen)
    hint = person.find(display, QtWidgets.QLabel, "fullscreen_hint")
    assert hint.isVisible() and hint.text() == "Esc: leave fullscreen"
    qtbot.keyClick(display, QtCore.Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not display.isFullScreen())
    assert not hint.isVisible()
    assert window.running and window.worker.feed.state.get("phase") != "aborted"
    assert QtWidgets.QApplication.activeModalWidget() is None  # no question either
    # Stopping is the therapist's own button, and it asks; the trials done are stored, with
    # the test marked aborted, in the results, the store and the report.
    progress = person.find(window, QtWidgets.QLabel, "progress")
    qtbot.waitUntil(lambda: progress.text().startswith("trial 2 of 4"), timeout=60_000)
    asked = person.answer("Stop the test")
    qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "stop"), LEFT)
    assert asked and "trials done so far are stored" in asked[0]
    qtbot.waitUntil(lambda: not window.running, timeout=5_000)
    person.click_tab(window, "Results")
    qtbot.waitUntil(lambda: "(aborted)" in window.results_view.title.text(), timeout=5_000)
    assert " · 1 valid trial (aborted)" in window.results_view.title.text()
    stored = person.find(window, QtWidgets.QLabel, "stored")
    qtbot.waitUntil(lambda: stored.text().startswith("Stored (SIMULATED)"), timeout=5_000)
    assert stored.text().endswith("Aborted: stopped by the examiner after 1 trial.")
    with Store() as store:
        (session,) = store.sessions("P-8", simulated=True)
        (test,) = store.tests(session["id"])
    assert len(test["trials"]) == 1 and test["result"]["aborted"] == "stopped by the examiner after 1 trial"
    from cervitrack.trainer.report.document import write_report

    with Store() as store:
        html = write_report(session["id"], tmp_path / "stopped.html", store).read_text(encoding="utf-8")
    assert "Stopped early</b>: stopped by the examiner after 1 trial" in html


def test_sigterm_mid_test_stores_the_trials_done_marked_aborted_and_closes_without_a_question(qtbot, person, app):
    """The system ends the application (a logout, a service manager): nobody is there to
    answer, so no question; the running test is stopped as Stop does and its trials kept."""
    import os
    import signal

    from cervitrack.trainer.gui.signals import end_on_signals

    window = app
    first_trial_done(qtbot, person, window, "P-12")
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        # (The application's event loop is the tests' own: it is not ended here; the installed
        # app's exit is in test_launcher_signals.py.)
        end_on_signals(QtWidgets.QApplication.instance(), window.end_now, exit_loop=False)
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    finally:
        signal.set_wakeup_fd(-1)
        for s, handler in before.items():
            signal.signal(s, handler)
    assert QtWidgets.QApplication.activeModalWidget() is None
    with Store() as store:
        (session,) = store.sessions("P-12", simulated=True)
        (test,) = store.tests(session["id"])
    assert test["result"]["aborted"] == "stopped: the application was ended (SIGTERM) after 1 trial"
    assert len(test["trials"]) == 1 and window.worker.feed.status["state"] == "disconnected"


def test_a_store_that_refuses_the_write_loses_no_result_of_the_app(qtbot, person, app):
    """The sessions store refuses new sessions (as a full disk would): the app says so, and
    where the results are kept: a private side file written before the store was touched."""
    import sqlite3
    import stat

    from cervitrack.trainer import paths

    with Store():
        pass  # the store exists, with its tables
    db = sqlite3.connect(paths.data_dir() / "sessions.sqlite3")
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON sessions BEGIN "
               "SELECT RAISE(ABORT, 'database or disk is full'); END")
    db.commit()
    db.close()
    window = app
    first_trial_done(qtbot, person, window, "P-11")
    person.answer("Stop the test")
    person.click(person.find(window, QtWidgets.QPushButton, "stop"))
    stored = person.find(window, QtWidgets.QLabel, "stored")
    qtbot.waitUntil(lambda: stored.text().startswith("The test could not be stored"), timeout=10_000)
    assert "database or disk is full" in stored.text()
    (side,) = (paths.data_dir() / "results").glob("*-jpe-P-11.json")
    assert stored.text().endswith(f"Its results are saved in {side}.")
    saved = json.loads(side.read_text(encoding="utf-8"))
    assert saved["patient"] == "P-11" and len(saved["trials"]) == 1 and saved["aborted"]
    assert stat.S_IMODE(side.stat().st_mode) == 0o600


def test_a_cancelled_recalibration_keeps_the_previous_calibration(qtbot, person, app):
    window = app
    choose_simulator(person, window)
    person.create_patient(window, "P-9")
    qtbot.mouseClick(person.button(window, "Start calibration"), LEFT)
    qtbot.waitUntil(lambda: window.calibration_view.score_label.text().startswith("Score "), timeout=60_000)
    first = window.worker.calibration
    score = window.calibration_view.result["score"]
    qtbot.waitUntil(lambda: not window.running, timeout=5_000)
    qtbot.mouseClick(person.button(window, "Start calibration"), LEFT)
    qtbot.waitUntil(lambda: window.worker.calibration is None)  # the new calibration runs
    asked = person.answer("Cancel the calibration")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    assert asked and "previous calibration" in asked[0]
    qtbot.waitUntil(lambda: window.worker.calibration is first, timeout=5_000)
    qtbot.waitUntil(lambda: "previous calibration stays in use" in window.calibration_view.score_label.text())
    assert f"score {score:.0f} / 100" in window.calibration_view.score_label.text()
    assert window.worker.pipeline.calibration is first and not window.running


def test_a_4_s_dropout_shows_stale_with_its_age_and_the_trial_is_redone(qtbot, person):
    """The simulated link drops out for 4 s about every 25 s: the status says "stale" with the
    age of the newest sample, a banner says the trial cannot be scored, the paused trial is
    recorded invalid ("signal lost") and redone, and the app says when the signal is back and
    that the calibration holds."""
    # Seed 1: the first simulated dropout falls inside a trial (the schedule depends on the seed only).
    cfg = config_from_dict({"link": {"disconnect_every_s": 25.0, "disconnect_s": 4.0}}, seed=1)
    window = open_app(qtbot, cfg)
    try:
        choose_simulator(person, window)
        person.create_patient(window, "P-10")
        qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "start"), LEFT)
        ages = []

        def stale_in_a_trial():
            text = window.status_label.text()
            if "stale · " in text and window.worker.calibration is not None and window.running:
                ages.append(float(text.split("stale · ")[1].split(" s")[0]))
                return True
            return False

        qtbot.waitUntil(stale_in_a_trial, timeout=120_000)
        assert ages[0] > 0.5
        assert window.link_banner.isVisible()
        assert "cannot be scored until it is back" in window.link_banner.text()
        messages = []
        window.statusBar().messageChanged.connect(messages.append)
        qtbot.waitUntil(lambda: any(m.startswith("Signal back after") for m in messages), timeout=30_000)
        back = next(m for m in messages if m.startswith("Signal back after"))
        assert float(back.split("after ")[1].split(" s")[0]) == pytest.approx(4.0, abs=0.5)
        assert "calibration is still in use" in back and back.endswith("Press R to re-zero if it moved.")
        # The engine paused the trial; it is recorded invalid ("signal lost") and redone.
        qtbot.waitUntil(lambda: any(not t["valid"] and "signal lost" in str(t.get("reason"))
                                    for t in window.worker.feed.state.get("trials", ())), timeout=60_000)
        person.click_tab(window, "Results")
        qtbot.waitUntil(lambda: "signal lost" in window.results_view.invalid_label.text(), timeout=5_000)
    finally:
        close_app(person, window)


def test_sessions_cli_keeps_simulated_sessions_apart(capsys):
    from cervitrack.trainer.cli import main

    with Store() as store:
        store.ensure_patient("P-real")
        store.add_session("udp:4242", "P-real")
        store.ensure_patient("P-sim")
        store.add_session("sim", "P-sim", simulated=True)
    assert main(["sessions", "--json"]) == 0
    assert [s["patient_id"] for s in json.loads(capsys.readouterr().out)] == ["P-real"]
    assert main(["sessions", "--simulated", "--json"]) == 0
    assert [s["patient_id"] for s in json.loads(capsys.readouterr().out)] == ["P-sim"]


def test_the_results_scatter_draws_head_up_above_and_rightward_right_of_centre(qtbot):
    """Pixels of the results scatter: an extension error (head up: flexion < 0) lands above the
    centre and a rotation error to the patient's right (axial < 0) right of it, as on the wall
    and in the report."""
    from cervitrack.trainer.gui import style
    from cervitrack.trainer.gui.results_view import ResultsView

    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    up = {"direction": "extension", "valid": True, "signed_error_deg": 3.0,
          "error_deg": {"axial": 0.0, "flexion": -6.0, "lateral": 0.0, "global": 6.0}}
    right = {"direction": "rotation_right", "valid": True, "signed_error_deg": 3.0,
             "error_deg": {"axial": -6.0, "flexion": 0.0, "lateral": 0.0, "global": 6.0}}
    view.show_state({"test": "jpe", "kind": "jpe", "trials": (up, right), "scores": {}, "done": True})
    QtWidgets.QApplication.processEvents()
    plot = view.scatter_plot
    image = plot.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    h, w = image.height(), image.width()
    bgra = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine() // 4, 4)[:, :w]
    vb = plot.getPlotItem().getViewBox()
    centre = plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(0.0, 0.0)))
    ratio = image.width() / plot.width()

    def where(colour):
        r, g, b = colour
        ys, xs = np.nonzero((bgra[..., 2] == r) & (bgra[..., 1] == g) & (bgra[..., 0] == b))
        assert len(xs) > 10, f"no {colour} dot drawn"
        return xs.mean() / ratio - centre.x(), ys.mean() / ratio - centre.y()

    up_dx, up_dy = where(style.DIRECTION_COLOURS["extension"])
    right_dx, right_dy = where(style.DIRECTION_COLOURS["rotation_right"])
    assert up_dy < -20 and abs(up_dx) < 5  # above the centre (screen y grows downwards)
    assert right_dx > 20 and abs(right_dy) < 5  # right of the centre


def test_a_serial_port_with_nothing_on_it_says_so_and_start_waits_for_data_and_disconnect_says_disconnected(
        qtbot, person, app):
    """A pseudo-terminal that sends nothing (a sensor off, or the wrong port): the link says it
    is connected with no data, Start stays off with the reason, and Disconnect says
    disconnected."""
    import os

    controller, device = os.openpty()
    try:
        window = app
        person.create_patient(window, "P-13")
        person.click_tab(window, "Device")
        person.choose(window.device_view.protocol, "witmotion-serial")
        combo = person.find(window, QtWidgets.QComboBox, "device_choice")
        person.type_into(combo.lineEdit(), f"serial:{os.ttyname(device)}")
        person.click(person.find(window, QtWidgets.QPushButton, "connect"))
        link = window.device_view.values["state"]
        qtbot.waitUntil(lambda: link.text() == "connected, but no data from the device", timeout=10_000)
        start = person.find(window, QtWidgets.QPushButton, "start")
        reason = person.find(window, QtWidgets.QLabel, "start_reason")
        qtbot.waitUntil(lambda: reason.text().startswith("No valid sample from the device yet"), timeout=5_000)
        assert not start.isEnabled() and not window.calibration_view.start_button.isEnabled()
        assert "a test cannot start" in reason.text()
        person.click(person.find(window, QtWidgets.QPushButton, "connect"))  # now "Disconnect"
        qtbot.waitUntil(lambda: link.text() == "disconnected", timeout=5_000)
        assert "disconnected" in window.status_label.text() and not start.isEnabled()
    finally:
        os.close(controller)
        os.close(device)
