"""The application window: device, patient, calibration, test, results, research and settings
tabs, the frame clock, keyboard shortcuts and the patient display.

A guided flow with one primary action at a time: connect → patient → calibrate → choose a test →
run ("trial 3 of 8", time left) → results → report. Every finished test is stored in a session
of the chosen patient (:mod:`cervitrack.trainer.stores.sessions`, the result documents of
:func:`cervitrack.trainer.clinical.results.result_document`, as ``cervitrack test`` stores them);
the report (PDF or HTML), a raw-stream recording (.cvtrec) and its CSV export are made from
the application. Nothing that would discard a running test (closing, Esc, Stop, reconnecting)
happens without a confirmation. The simulator is never a default, and while it is in use every
view says SIMULATED.

The window is a thin consumer: :meth:`AppWindow.tick`, run by the
:class:`~cervitrack.trainer.gui.frame_clock.FrameClock` at the display rate, drains the feed's events, then redraws only the
visible view from ring-buffer views. It never touches the pipeline or the engine; it sends
commands to the worker.

Idle costs nothing (:meth:`AppWindow.frame_mode`): frames at the display rate only while a
view that draws the newest samples is on screen (test, research, or the patient display);
on the other tabs a few frames a second and one on each event; none while the window (and
the patient display) is minimised or hidden, where the events are still dispatched (prompts
are spoken). Without a test and without a live view the pipeline thread steps 5 times a
second instead of at every link event (every sample is still read and kept).

Keyboard: Space marks a relocation, R re-zeroes (re-captures the neutral), Esc asks to stop
the test (or leaves fullscreen), F toggles fullscreen (of the patient display when it is open).
In the patient display Esc only leaves fullscreen; stopping a test is the therapist's Stop
button (or S), with a confirmation.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.clinical.names import display_name
from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.calibration_view import CalibrationView
from cervitrack.trainer.gui.catalog import TestSpec
from cervitrack.trainer.gui.device_view import DeviceView
from cervitrack.trainer.gui.frame_clock import FrameClock
from cervitrack.trainer.gui.patient_view import PatientView
from cervitrack.trainer.gui.patient_window import PatientWindow, make_test_views
from cervitrack.trainer.gui.research_view import ResearchView
from cervitrack.trainer.gui.results_view import ResultsView
from cervitrack.trainer.gui.worker import IDLE_STEP_S, PipelineWorker, link_text
from cervitrack.trainer.stores.app_state import AppState, remember_device, save_settings
from cervitrack.trainer.stores.sessions import Store

#: The guided flow's steps (the tab each one lives on, and what the person reads).
FLOW = (("device", "1 Connect"), ("patient", "2 Patient"), ("calibration", "3 Calibrate"),
        ("test", "4 Test"), ("results", "5 Results"), ("report", "6 Report"))
SIMULATED_TEXT = "SIMULATED: simulated headset and virtual patient, no person is measured"
PRIMARY_STYLE = ("QPushButton { background: #1565c0; color: white; font-weight: bold; padding: 5px 12px; }"
                 "QPushButton:disabled { background: #9db3cc; color: #eeeeee; }")

CALIBRATION_PROMPTS = ("sit_still", "nod", "turn")
#: Tabs that draw the newest samples: frames at the display rate while one is on screen.
LIVE_TABS = ("test", "research")
#: The status line and the text panels (device, calibration) are refreshed this often, s (2 Hz).
TEXT_PERIOD_S = 0.5
#: Settings are written once a control rests this long, ms (a dragged slider writes once).
SAVE_DELAY_MS = 400
_WINDOW_EVENTS = (QtCore.QEvent.Type.WindowStateChange, QtCore.QEvent.Type.Show, QtCore.QEvent.Type.Hide)


@dataclass
class AppSettings:
    """User settings (units in the names).

    Attributes:
        display_hz: redraw rate of the views, Hz.
        wall_distance_cm: distance of the virtual wall, cm (90 cm in the laser protocols).
        trail_s: length of the cursor trail, s.
        blind: hide the cursor during relocation in eyes-closed tests.
        audio: sound in eyes-closed tests (cue tones and spoken instructions).
        voice: speak every instruction of an eyes-closed test.
        tones: play the short tone cues (go, come back, recorded, done).
        volume: loudness of the cues and the voice, 0–1.
        research_window_s: time window of the research plots, s.
        follow: switch tabs to follow the test (calibration → test → results).
        frame_schedule: "fixed" (frames on a fixed grid at display_hz) or "data" (a frame when
            new samples are published, at most at display_hz); see
            :mod:`cervitrack.trainer.gui.frame_clock`.
    """

    display_hz: float = 60.0
    wall_distance_cm: float = 90.0
    trail_s: float = 1.5
    blind: bool = True
    audio: bool = True
    voice: bool = True
    tones: bool = True
    volume: float = 0.8
    research_window_s: float = 10.0
    follow: bool = True
    frame_schedule: str = "fixed"


class AppWindow(QtWidgets.QMainWindow):
    """Args:
        settings: the user settings.
        catalog: test name → TestSpec.
        open_worker: (spec, protocol or None) → a PipelineWorker (not started).
        specs: (spec, label) device choices.
        audio: an :class:`~cervitrack.trainer.gui.audio.AudioCues` (or None: no sound).
        audio_note: which output plays the sound, or why there is none (shown in the settings).
        threaded: start each worker's thread on connect (False: the caller steps it).
        scanner: callable → (spec, label) list, or None when no scan is possible.
    """

    TABS = ("device", "patient", "calibration", "test", "results", "research", "settings")
    #: Emitted (from the scan thread) with the (spec, label) list a BLE scan found, or an error.
    scan_finished = QtCore.Signal(list, str)

    def __init__(self, settings: AppSettings, catalog: dict, open_worker, specs, audio=None,
                 audio_note: str = "", threaded: bool = True, scanner=None, store_factory=Store,
                 remembered: AppState | None = None, events=None) -> None:
        super().__init__()
        #: The events file (an :class:`~cervitrack.trainer.recording.events_file.EventsFile`) that
        #: another program follows, or None.
        self.events = events
        #: What the app remembers between runs (devices used last, settings); None: nothing.
        self.remembered = remembered
        self._connected_as: tuple[str, str] | None = None  # (spec, protocol) not yet remembered
        self._save_timer = QtCore.QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._save_settings)
        self.store_factory = store_factory
        self.patient_id: str | None = None
        self.session_id: int | None = None
        self.last_test_id: int | None = None
        self.recordings: list[str] = []
        self.recording = False
        self.running = False
        self.calibrating = False
        self.settings = settings
        self.catalog = catalog
        self.open_worker = open_worker
        self.audio = audio
        self.threaded = threaded
        self.scanner = scanner
        self.base_specs = list(specs)
        self.worker: PipelineWorker | None = None
        self.patient_window: PatientWindow | None = None
        self.current_spec: TestSpec | None = None
        self.frames = 0
        self.setWindowTitle("Cervitrack")
        style.configure_pyqtgraph()
        central = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(central)
        self.simulated_banner = style.simulated_banner(SIMULATED_TEXT, "simulated_banner", 15)
        outer.addWidget(self.simulated_banner)
        self.flow_label = QtWidgets.QLabel("")
        self.flow_label.setObjectName("flow")
        self.next_label = QtWidgets.QLabel("")
        self.next_label.setObjectName("next_step")
        self.next_label.setStyleSheet("font-size: 14px; font-weight: bold; color: #1565c0;")
        flow_row = QtWidgets.QHBoxLayout()
        flow_row.addWidget(self.flow_label)
        flow_row.addWidget(self.next_label, 1)
        outer.addLayout(flow_row)
        outer.addLayout(self._toolbar())
        self.link_banner = QtWidgets.QLabel("")
        self.link_banner.setObjectName("link_banner")
        self.link_banner.setStyleSheet("background: #fff0c0; color: #7a4b00; font-weight: bold; padding: 3px;")
        self.link_banner.setVisible(False)
        outer.addWidget(self.link_banner)
        # Said before the first eyes-closed task (not only in the settings) when nothing can play.
        self.sound_warning = QtWidgets.QLabel("")
        self.sound_warning.setWordWrap(True)
        self.sound_warning.setStyleSheet("background: #fff3cd; color: #6b4d00; padding: 6px; font-weight: bold;")
        self.sound_warning.setVisible(False)
        outer.addWidget(self.sound_warning)
        self.test_combo.currentIndexChanged.connect(self._update_sound_warning)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.device_view = DeviceView(specs, can_scan=scanner is not None)
        if remembered is not None:
            self.device_view.set_recent(remembered.devices)
        self.device_view.connect_requested.connect(self.connect_device)
        self.device_view.disconnect_requested.connect(self.disconnect_device)
        self.device_view.scan_requested.connect(self.scan)
        self.scan_finished.connect(self._scan_done)
        self.patient_view = PatientView(store_factory)
        self.patient_view.patient_chosen.connect(self.set_patient)
        self.calibration_view = CalibrationView()
        self.calibration_view.start_requested.connect(self.start_calibration)
        self.calibration_view.use_saved_requested.connect(self.use_saved_calibration)
        self.view_kinds = {spec.view for spec in catalog.values()} | {"wall"}
        self.test_views = make_test_views(settings.wall_distance_cm, settings.trail_s, settings.blind,
                                          self.view_kinds)
        self.wall_view = self.test_views["wall"]
        self.test_stack = QtWidgets.QStackedWidget()
        for view in self.test_views.values():
            self.test_stack.addWidget(view)
        self.results_view = ResultsView()
        self.results_page = self._results_page()
        self.research_view = ResearchView(settings.research_window_s)
        self.settings_view = self._settings_tab(audio_note)
        for _name, widget, label in (("device", self.device_view, "Device"),
                                    ("patient", self.patient_view, "Patient"),
                                    ("calibration", self.calibration_view, "Calibration"),
                                    ("test", self.test_stack, "Test"),
                                    ("results", self.results_page, "Results"),
                                    ("research", self.research_view, "Research"),
                                    ("settings", self.settings_view, "Settings")):
            self.tabs.addTab(widget, label)
        outer.addWidget(self.tabs, 1)
        safety = QtWidgets.QLabel(style.SAFETY_TEXT)
        safety.setStyleSheet("color: #a00;")
        safety.setWordWrap(True)
        outer.addWidget(safety)
        self.setCentralWidget(central)
        self.status_label = QtWidgets.QLabel("")
        self.statusBar().addWidget(self.status_label, 1)
        self._shortcuts()
        self.frame_clock = FrameClock(1.0 / settings.display_hz, self.tick, settings.frame_schedule,
                                      on_change=self.dispatch_events, parent=self)
        self._text_wall_s = -float("inf")
        self.tabs.currentChanged.connect(self.update_frame_mode)
        self.resize(1200, 860)
        self._set_running(False)
        self._update_sound_warning()
        self.show_tab("device")
        if remembered is not None and remembered.problem:
            self.statusBar().showMessage(remembered.problem, 15000)

    # ------------------------------------------------------------------ layout
    def _toolbar(self):
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Test:"))
        self.test_combo = QtWidgets.QComboBox()
        self.test_combo.setObjectName("test_choice")
        for spec in self.catalog.values():
            self.test_combo.addItem(display_name(spec.name, spec.label, spec.kind), spec.name)
        row.addWidget(self.test_combo, 1)
        self.buttons = {}
        for key, text, slot in (("start", "Start", lambda: self.start_test()),
                                ("mark", "Mark (Space)", self.mark),
                                ("rezero", "Re-zero (R)", self.rezero),
                                ("stop", "Stop test (S)", self.ask_abort),
                                ("record", "Record raw stream…", self.toggle_recording),
                                ("patient", "Patient display", self.toggle_patient_window)):
            b = QtWidgets.QPushButton(text)
            b.setObjectName(key)
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            row.addWidget(b)
            self.buttons[key] = b
        outer = QtWidgets.QVBoxLayout()
        outer.addLayout(row)
        info = QtWidgets.QHBoxLayout()
        self.start_reason = QtWidgets.QLabel("")
        self.start_reason.setObjectName("start_reason")
        self.start_reason.setStyleSheet("color: #a00;")
        self.progress_label = QtWidgets.QLabel("")
        self.progress_label.setObjectName("progress")
        self.progress_label.setStyleSheet("font-weight: bold;")
        info.addWidget(self.start_reason, 1)
        info.addWidget(self.progress_label)
        outer.addLayout(info)
        return outer

    def _results_page(self):
        page = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.results_view, 1)
        row = QtWidgets.QHBoxLayout()
        self.stored_label = QtWidgets.QLabel("Nothing stored yet.")
        self.stored_label.setObjectName("stored")
        self.stored_label.setWordWrap(True)
        self.report_button = QtWidgets.QPushButton("Make report (PDF or HTML)…")
        self.report_button.setObjectName("report_button")
        self.report_button.clicked.connect(self.ask_report_path)
        self.export_button = QtWidgets.QPushButton("Export recording (CSV)…")
        self.export_button.setObjectName("export_button")
        self.export_button.clicked.connect(self.ask_export_folder)
        for b in (self.report_button, self.export_button):
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        row.addWidget(self.stored_label, 1)
        row.addWidget(self.export_button)
        row.addWidget(self.report_button)
        v.addLayout(row)
        return page

    def _settings_tab(self, audio_note: str):
        w = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(w)
        self.distance_spin = QtWidgets.QDoubleSpinBox()
        self.distance_spin.setRange(30.0, 400.0)
        self.distance_spin.setSuffix(" cm")
        self.distance_spin.setValue(self.settings.wall_distance_cm)
        self.distance_spin.valueChanged.connect(self.set_wall_distance)
        self.trail_spin = QtWidgets.QDoubleSpinBox()
        self.trail_spin.setRange(0.0, 10.0)
        self.trail_spin.setSuffix(" s")
        self.trail_spin.setValue(self.settings.trail_s)
        self.trail_spin.valueChanged.connect(self.set_trail)
        self.blind_check = QtWidgets.QCheckBox("Hide the cursor while the eyes are closed; show the result after")
        self.blind_check.setChecked(self.settings.blind)
        self.blind_check.toggled.connect(self.set_blind)
        can_play = self.audio is not None and self.audio.player is not None
        self.audio_check = QtWidgets.QCheckBox("Sound in eyes-closed tests")
        self.audio_check.setChecked(self.settings.audio and can_play)
        self.audio_check.setEnabled(can_play)
        self.audio_check.toggled.connect(self.set_audio)
        self.voice_check = QtWidgets.QCheckBox("Speak every instruction")
        self.voice_check.setChecked(self.settings.voice)
        self.voice_check.setEnabled(can_play)
        self.voice_check.toggled.connect(self.set_voice)
        self.tones_check = QtWidgets.QCheckBox("Short tones (go, come back, recorded, done)")
        self.tones_check.setChecked(self.settings.tones)
        self.tones_check.setEnabled(can_play)
        self.tones_check.toggled.connect(self.set_tones)
        self.volume_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(round(100 * self.settings.volume))
        self.volume_slider.setEnabled(can_play)
        self.volume_slider.valueChanged.connect(self.set_volume)
        self.follow_check = QtWidgets.QCheckBox("Switch tabs to follow the test")
        self.follow_check.setChecked(self.settings.follow)
        self.follow_check.toggled.connect(self.set_follow)
        form.addRow("Virtual wall distance", self.distance_spin)
        form.addRow("Cursor trail", self.trail_spin)
        form.addRow("Blind mode", self.blind_check)
        form.addRow("Sound", self.audio_check)
        form.addRow("Voice", self.voice_check)
        form.addRow("Tones", self.tones_check)
        form.addRow("Volume", self.volume_slider)
        self.audio_note = QtWidgets.QLabel(f"Audio output: {audio_note or 'none'}")
        self.audio_note.setWordWrap(True)
        form.addRow("", self.audio_note)
        form.addRow("Tabs", self.follow_check)
        form.addRow("Display rate", QtWidgets.QLabel(f"{self.settings.display_hz:g} Hz"))
        return w

    def _shortcuts(self) -> None:
        """Space, R, Esc and F act in this window and the patient display, whatever has the
        focus, except while typing in a number or text field."""
        self._keys = {QtCore.Qt.Key.Key_Space: self.mark, QtCore.Qt.Key.Key_R: self.rezero,
                      QtCore.Qt.Key.Key_Escape: self.escape, QtCore.Qt.Key.Key_S: self.ask_abort,
                      QtCore.Qt.Key.Key_F: self.toggle_fullscreen}
        app = QtWidgets.QApplication.instance()
        assert app is not None, "windows exist only inside a QApplication"
        app.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() in _WINDOW_EVENTS and obj is self.patient_window:
            QtCore.QTimer.singleShot(0, self.update_frame_mode)  # once the state has changed
        if event.type() != QtCore.QEvent.Type.KeyPress or event.isAutoRepeat():
            return False
        action = self._keys.get(event.key())
        if action is None or event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier:
            return False
        if not isinstance(obj, QtWidgets.QWidget) or obj.window() not in (self, self.patient_window):
            return False
        typing = (QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)
        if isinstance(QtWidgets.QApplication.focusWidget(), typing) or isinstance(obj, typing):
            return False  # keys typed into a field are the field's
        if QtWidgets.QApplication.activeModalWidget() is not None:
            return False  # a question or a file dialog is open: its keys are its own
        if obj.window() is self.patient_window and event.key() == QtCore.Qt.Key.Key_Escape:
            # In the patient display Esc only leaves fullscreen; it never stops the test.
            if self.patient_window.isFullScreen():
                self.patient_window.showNormal()
            return True
        action()
        return True

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(self.TABS.index(name))

    # ------------------------------------------------------------------ flow
    def confirm(self, title: str, text: str, yes: str, no: str) -> bool:
        """Ask before something discards work: a QMessageBox whose safe answer is the default."""
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, text, parent=self)
        box.setObjectName("confirm")
        yes_button = box.addButton(yes, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        no_button = box.addButton(no, QtWidgets.QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no_button)
        box.setEscapeButton(no_button)
        box.exec()
        return box.clickedButton() is yes_button

    def link_ready(self) -> tuple[bool, str]:
        """Whether a test can start on the link now, and why not."""
        if self.worker is None:
            return False, "Connect a device first."
        s = self.worker.feed.status
        link = s.get("link", "no data")
        if not s.get("samples"):
            return False, f"No valid sample from the device yet (link: {link_text(s)}); a test cannot start."
        if link != "streaming":
            return False, f"The link is {link_text(s)}: wait until it streams again."
        return True, ""

    def _set_running(self, running: bool) -> None:
        self.running = running
        if not running:
            self.calibrating = False
            self.progress_label.setText("")
        self._update_flow()
        self.update_frame_mode()

    def _update_flow(self) -> None:
        """Enable what can be done now; one primary (blue) action: the next step."""
        running = self.running
        connected = self.worker is not None
        ready, why = self.link_ready()
        can_start = connected and ready and not running and self.patient_id is not None
        self.buttons["start"].setEnabled(can_start)
        for key in ("mark", "rezero", "stop"):
            self.buttons[key].setEnabled(connected and running)
        self.buttons["record"].setEnabled(connected)
        self.test_combo.setEnabled(not running)
        self.calibration_view.start_button.setEnabled(connected and ready and not running)
        self.calibration_view.saved_button.setEnabled(connected and ready and not running)
        self.report_button.setEnabled(self.session_id is not None and not running)
        self.export_button.setEnabled(bool(self.recordings) and not self.recording)
        if running:
            reason = ""
        elif self.patient_id is None:
            reason = "Start needs a patient: choose or create one on the Patient tab."
        else:
            reason = "" if ready else why
        self.start_reason.setText(reason)
        worker = self.worker
        calibrated = worker is not None and worker.calibration is not None
        if worker is None or not worker.feed.status.get("samples"):
            step, text, primary = "device", "Next: choose the device and connect.", self.device_view.connect_button
        elif self.patient_id is None:
            step, text, primary = "patient", "Next: choose or create the patient.", self.patient_view.create_button
        elif running:
            step, text, primary = ("calibration" if self.calibrating else "test"), "Test in progress.", self.buttons["stop"]
        elif not calibrated:
            step, text, primary = "calibration", "Next: calibrate (keep still, nod, turn).", self.calibration_view.start_button
        elif self.last_test_id is None:
            step, text, primary = "test", "Next: choose a test and press Start.", self.buttons["start"]
        else:
            step, text, primary = "report", "Next: make the report, or run another test.", self.report_button
        if (step, text) == getattr(self, "_flow_shown", None):
            return
        self._flow_shown = (step, text)
        self.flow_step = step
        self.flow_label.setText("  →  ".join(f"<b><u>{label}</u></b>" if key == step else label
                                             for key, label in FLOW))
        self.next_label.setText(text)
        previous: QtWidgets.QPushButton | None = getattr(self, "_primary", None)
        if primary is not previous:
            if previous is not None:
                previous.setStyleSheet("")
            primary.setStyleSheet(PRIMARY_STYLE)
            self._primary = primary

    def set_patient(self, patient_id: str) -> None:
        """Choose who is tested; their tests go into a new session from now on."""
        if patient_id != self.patient_id:
            self.session_id = None
            self.last_test_id = None
        self.patient_id = patient_id
        self.patient_view.set_patient(patient_id)
        self.stored_label.setText(f"Patient {patient_id}: each finished test is stored in this session.")
        self._update_flow()
        if self.settings.follow and self.worker is not None and self.worker.calibration is None:
            self.show_tab("calibration")

    # ------------------------------------------------------------------ idle costs nothing
    def frame_mode(self) -> str:
        """"live" while a view drawing the newest samples is on screen, "paused" while nothing
        is (this window and the patient display minimised or hidden), else "idle" (see
        :mod:`cervitrack.trainer.gui.frame_clock`)."""
        pw = self.patient_window
        patient_seen = pw is not None and pw.isVisible() and not pw.isMinimized()
        main_seen = self.isVisible() and not self.isMinimized()
        if not (main_seen or patient_seen):
            return "paused"
        live_tab = self.TABS[self.tabs.currentIndex()] in LIVE_TABS
        return "live" if patient_seen or live_tab else "idle"

    def update_frame_mode(self, *_) -> None:
        """Set the frame clock's mode and the pipeline thread's pace to what is on screen."""
        if not hasattr(self, "frame_clock"):
            return  # still being built
        mode = self.frame_mode()
        self.frame_clock.set_mode(mode)
        if self.worker is not None:
            self.worker.set_pace(IDLE_STEP_S if mode != "live" and not self.running else 0.0)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.WindowStateChange:
            self.update_frame_mode()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.update_frame_mode()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.update_frame_mode()

    def _published(self) -> None:
        """Called in the pipeline thread after it published: every time while a live view is
        on screen, else only when something changed (events)."""
        worker = self.worker
        if worker is not None and (self.frame_clock.mode == "live" or worker.feed.events):
            self.frame_clock.notify()

    # ------------------------------------------------------------------ device
    def _ask_discard(self, doing: str, verb: str) -> bool:
        """True when nothing runs, or the person agrees to discard the running test."""
        if not self.running or getattr(self, "_ending", False):
            return True
        what = "calibration" if self.calibrating else "test"
        return self.confirm(f"Discard the running {what}?",
                            f"A {what} is running. {doing} discards it: its trials so far are not stored.",
                            f"Discard and {verb}", f"Keep the {what}")

    def connect_device(self, spec: str, protocol: str = "") -> None:
        if not spec:
            self.device_view.show_message("Choose a device first (the simulator is at the end of the list).")
            return
        if not self._ask_discard("Connecting again", "reconnect"):
            return
        self.disconnect_device(ask=False)
        try:
            self.worker = self.open_worker(spec, protocol or None)
        except (ValueError, OSError) as exc:
            self.device_view.show_message(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        simulated = bool(getattr(self.worker.source, "simulated", False))
        self._connected_as = None if simulated else (spec, protocol or "")
        self.session_id = None  # a new device connection is a new session
        self.last_test_id = None
        self.device_view.show_message(
            "SIMULATED: a virtual patient wears a simulated headset; results are marked as simulated "
            "and kept apart from real patients'." if simulated else "")
        self.set_simulated(simulated)
        self.calibration_view.reset_idle("No calibration is active on this connection: calibrate, or use "
                                         "the saved one.")
        self.device_view.set_connected(True)
        self._set_running(False)
        if self.threaded:  # otherwise the caller steps the worker and draws the frames
            self.worker.on_publish = self._published
            self.worker.start()
            self.frame_clock.start()

    def disconnect_device(self, ask: bool = True) -> None:
        if ask and not self._ask_discard("Disconnecting", "disconnect"):
            return
        self.frame_clock.stop()
        if self.worker is not None:
            self.worker.stop()
            self.device_view.refresh(self.worker.feed, self.worker.feed.ring.count, force=True)
            self.status_label.setText(f"{self.worker.source.spec}: {link_text(self.worker.feed.status)}")
            self._drain_recording_events()
        self.worker = None
        self.recording = False
        self.buttons["record"].setText("Record raw stream…")
        self.link_banner.setVisible(False)
        self.device_view.set_connected(False)
        self._set_running(False)

    def set_simulated(self, simulated: bool) -> None:
        """Say SIMULATED in every view while the simulator is the device."""
        self.simulated = simulated
        self.simulated_banner.setVisible(simulated)
        self.setWindowTitle("Cervitrack · SIMULATED" if simulated else "Cervitrack")
        if self.patient_window is not None:
            self.patient_window.set_simulated(simulated)

    def scan(self) -> None:
        """BLE scan in its own thread (it takes seconds); results arrive by a queued signal."""
        import threading

        def run():
            try:
                found, error = self.scanner(), ""
            except OSError as exc:  # Bluetooth off or missing: a message for the user
                found, error = [], str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.scan_finished.emit(found, error)

        self.device_view.set_scanning(True)
        threading.Thread(target=run, name="cervitrack-ble-scan-ui", daemon=True).start()

    def _scan_done(self, found: list, error: str) -> None:
        self.device_view.set_scanning(False)
        self.device_view.set_specs(self.base_specs + [tuple(f) for f in found])
        self.device_view.show_message(error or (f"{len(found)} Bluetooth devices found." if found
                                                else "No Bluetooth device found."))

    # ------------------------------------------------------------------ commands
    def start_test(self, name: str | None = None) -> None:
        if self.worker is None:
            return
        ready, why = self.link_ready()
        if not ready:
            self.start_reason.setText(why)
            self.statusBar().showMessage(why, 8000)
            return
        if not self._ask_discard("Starting another test", "start"):
            return
        name = name or self.test_combo.currentData()
        spec = self.current_spec = self.catalog[name]
        self.test_combo.setCurrentIndex(list(self.catalog).index(name))
        self.test_stack.setCurrentWidget(self.test_views[spec.view])
        if self.patient_window is not None:
            self.patient_window.show_view(spec.view)
        for view in self._test_views_all():
            view.reset(spec.eyes_closed)
        self.results_view.reset()
        self.calibration_view.reset()
        self.worker.submit("test", name)
        self._set_running(True)
        self.progress_label.setText("")
        if self.patient_id is None:
            self.statusBar().showMessage("No patient chosen: this test will not be stored.", 8000)
        self._update_sound_warning()
        if self.settings.follow:
            self.show_tab("test")

    def start_calibration(self) -> None:
        if self.worker is None:
            return
        ready, why = self.link_ready()
        if not ready:
            self.calibration_view.score_label.setText(why)
            return
        self.current_spec = None
        self.calibration_view.reset()
        self.worker.submit("calibrate")
        self.calibrating = True
        self._set_running(True)
        if self.settings.follow:
            self.show_tab("calibration")

    def use_saved_calibration(self) -> None:
        if self.worker is not None:
            self.worker.submit("use_saved")

    def _test_views_all(self):
        views = list(self.test_views.values())
        if self.patient_window is not None:
            views.extend(self.patient_window.views.values())
        return views

    def mark(self) -> None:
        if self.worker is not None and self.running:
            self.worker.submit("mark")

    def rezero(self) -> None:
        if self.worker is not None:
            self.worker.submit("rezero")

    def abort(self, reason: str = "stopped by the examiner") -> None:
        if self.worker is not None and self.running:
            self.worker.submit("abort", reason)

    def end_now(self, why: str) -> None:
        """End without questions (the system ends the application: nobody is there to answer).
        A running test is stopped as Stop does, its trials done stored, marked aborted."""
        from cervitrack.trainer.gui.signals import wait_until

        app = QtWidgets.QApplication.instance()
        if self.running and not self.calibrating and app is not None:
            self.abort(f"stopped: the application was ended ({why})")

            def settled() -> bool:
                self.dispatch_events()
                return not self.running

            wait_until(app, settled)
        self.discard_and_close()

    def discard_and_close(self) -> None:
        """Close without a question: what runs is discarded (a one-shot screenshot, or the
        system ending the application after :meth:`end_now` kept what it could)."""
        self._ending = True
        self.close()

    def ask_abort(self) -> None:
        """Stop the running test or calibration, after a confirmation."""
        if self.worker is None or not self.running:
            return
        if self.calibrating:
            ok = self.confirm("Cancel the calibration?", "Cancel the calibration? The previous calibration "
                              "(if any) stays in use.", "Cancel the calibration", "Keep calibrating")
        else:
            ok = self.confirm("Stop the test?", "Stop the test now? The trials done so far are stored, "
                              "with the test marked aborted.", "Stop the test", "Keep testing")
        if ok:
            self.abort()

    def escape(self) -> None:
        """Esc in the main window: leave fullscreen, else ask to stop what runs."""
        if self.isFullScreen():
            self.showNormal()
        else:
            self.ask_abort()

    def toggle_fullscreen(self) -> None:
        w = self.patient_window if self.patient_window is not None and self.patient_window.isVisible() else self
        w.showNormal() if w.isFullScreen() else w.showFullScreen()

    def toggle_patient_window(self) -> None:
        if self.patient_window is not None and self.patient_window.isVisible():
            self.patient_window.close()
            return
        if self.patient_window is None:
            s = self.settings
            self.patient_window = PatientWindow(s.wall_distance_cm, s.trail_s, s.blind, self.view_kinds)
            self.patient_window.set_simulated(getattr(self, "simulated", False))
            self.patient_window.wall.reset(self.current_spec.eyes_closed if self.current_spec else True)
            for t in self.wall_view.trials:
                self.patient_window.wall.on_event(t)
            self.patient_window.wall.phase_prompt = self.wall_view.phase_prompt
            for name, view in self.patient_window.views.items():
                view.prompt.setText(self.test_views[name].prompt.text())
            if self.current_spec is not None:
                self.patient_window.show_view(self.current_spec.view)
        self.patient_window.show()

    # ------------------------------------------------------------------ store, report, recording
    def _store_result(self, event: dict) -> None:
        """Store a finished test as ``cervitrack test`` does: a session (made at the first test of
        this patient on this connection) and the result document with its trials."""
        doc = event["doc"]
        if self.patient_id is None:
            self.stored_label.setText("Not stored: no patient was chosen for this test.")
            return
        cfg = getattr(self.worker.source, "cfg", None) if self.worker is not None else None
        from cervitrack.trainer.stores.results_file import save_result_file

        try:  # on disk before the store is touched: a failing store loses nothing
            side_file: Path | None = save_result_file({**doc, "patient": self.patient_id}, doc["test"],
                                                      self.patient_id)
        except (OSError, ValueError):
            side_file = None  # the store may still take it; said below if it does not
        try:
            with self.store_factory() as store:
                if self.session_id is None:
                    from cervitrack.firmware_bridge.sim.config import as_dict

                    store.ensure_patient(self.patient_id)  # chosen in this window: it exists; kept safe

                    self.session_id = store.add_session(
                        doc["device"], self.patient_id, event.get("device_info"), event.get("calibration"),
                        as_dict(cfg) if cfg is not None else None, simulated=bool(doc.get("simulated")))
                    for path in self.recordings:
                        store.add_recording(self.session_id, path, "cvtrec")
                elif event.get("calibration") is not None:
                    store.set_calibration(self.session_id, event["calibration"])
                self.last_test_id = store.add_test(
                    self.session_id, doc["test"], doc["preset"], doc["settings"], doc["scores"],
                    {k: v for k, v in doc.items() if k != "trials"}, doc["trials"],
                    preset_title=doc["preset_title"])
        except (OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            kept = (f" Its results are saved in {side_file}." if side_file is not None
                    else " Its results could not be saved either: note them now.")
            self.stored_label.setText(f"The test could not be stored in the sessions store ({first}).{kept}")
            return
        if side_file is not None:
            side_file.unlink(missing_ok=True)  # stored: no second copy of the health data
        tag = " (SIMULATED)" if doc.get("simulated") else ""
        stopped = f" Aborted: {doc['aborted']}." if doc.get("aborted") else ""
        self.stored_label.setText(f"Stored{tag}: {display_name(doc['preset'], doc['preset_title'])} "
                                  f"as test {self.last_test_id} of session {self.session_id}, patient {self.patient_id}."
                                  + stopped)
        self._update_flow()

    def _file_dialog(self, name: str, title: str, start: str, filters: str, save: bool, folder: bool = False):
        dialog = QtWidgets.QFileDialog(self, title, start, filters)
        dialog.setObjectName(name)
        dialog.setOption(QtWidgets.QFileDialog.Option.DontUseNativeDialog, True)
        if folder:
            dialog.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
            dialog.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly, True)
        if save:
            dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        return dialog

    def ask_report_path(self) -> None:
        if self.session_id is None:
            return
        start = str(Path.home() / f"cervitrack-{self.patient_id}-session-{self.session_id}.pdf")
        dialog = self._file_dialog("report_dialog", "Save the report", start,
                                   "PDF report (*.pdf);;HTML report (*.html)", save=True)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(self.write_report)
        dialog.open()

    def write_report(self, path: str) -> None:
        from cervitrack.trainer.report.document import write_report

        if self.session_id is None:
            return
        try:
            with self.store_factory() as store:
                out = write_report(self.session_id, path, store)
        except (OSError, ValueError) as exc:
            self.stored_label.setText(f"The report could not be written: {exc}")
            return
        self.stored_label.setText(f"Report written: {out}")
        self.statusBar().showMessage(f"Report written: {out}", 8000)

    def toggle_recording(self) -> None:
        if self.worker is None:
            return
        if self.recording:
            self.worker.submit("stop_recording")
            return
        from cervitrack.trainer import paths

        folder = paths.data_dir() / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        n = len(list(folder.glob("*.cvtrec"))) + 1
        dialog = self._file_dialog("record_dialog", "Record the raw stream to", str(folder / f"recording-{n:03d}.cvtrec"),
                                   "Cervitrack recording (*.cvtrec)", save=True)
        dialog.setDefaultSuffix("cvtrec")
        dialog.fileSelected.connect(self._start_recording)
        dialog.open()

    def _start_recording(self, path: str) -> None:
        if self.worker is not None:
            self.worker.submit("record", path)

    def _on_recording(self, event: dict) -> None:
        self.recording = bool(event["on"])
        self.buttons["record"].setText("Stop recording" if self.recording else "Record raw stream…")
        if not self.recording and event.get("path"):
            path = event["path"]
            self.recordings.append(path)
            if self.session_id is not None:
                try:
                    with self.store_factory() as store:
                        store.add_recording(self.session_id, path, "cvtrec")
                        store.set_raw_trace(self.session_id, path)
                except OSError as exc:
                    self.statusBar().showMessage(f"The recording could not be registered: {exc}", 8000)
            self.stored_label.setText(f"Recording saved: {path}")
        else:
            self.statusBar().showMessage(f"Recording the raw stream to {event.get('path')}", 8000)
        self._update_flow()

    def _drain_recording_events(self) -> None:
        if self.worker is None:
            return
        for event in self.worker.feed.drain_events():
            if event.get("kind") == "recording":
                self._on_recording(event)

    def ask_export_folder(self) -> None:
        if not self.recordings:
            return
        dialog = self._file_dialog("export_dialog", "Export the recording as CSV into", str(Path.home()),
                                   "", save=False, folder=True)
        dialog.fileSelected.connect(self.export_recording)
        dialog.open()

    def export_recording(self, folder: str) -> None:
        from cervitrack.trainer.recording.decode import decode_recording
        from cervitrack.trainer.recording.export_csv import export_csv
        from cervitrack.trainer.recording.reader import load

        try:
            recording = load(self.recordings[-1])
            decoded = decode_recording(recording)
            if not len(decoded.samples):
                raise ValueError("the recording holds no samples")
            try:
                out = export_csv(decoded, recording, folder)
            except FileExistsError:
                stem = Path(recording.path).stem
                if not self.confirm("Replace the exported files?",
                                    f"{stem}.csv, {stem}_events.csv and {stem}.json are already in "
                                    f"{folder}. Replace them?", "Replace them", "Keep them"):
                    self.stored_label.setText(f"Not exported: the files in {folder} are kept.")
                    return
                out = export_csv(decoded, recording, folder, overwrite=True)
        except (OSError, ValueError) as exc:
            self.stored_label.setText(f"The export failed: {exc}")
            return
        self.stored_label.setText("Exported: " + ", ".join(str(p) for p in out))

    # ------------------------------------------------------------------ settings
    def set_wall_distance(self, distance_cm: float) -> None:
        self.settings.wall_distance_cm = float(distance_cm)
        self._settings_changed()
        for view in self._test_views_all():
            if hasattr(view, "set_distance_cm"):
                view.set_distance_cm(distance_cm)

    def set_follow(self, on: bool) -> None:
        self.settings.follow = bool(on)
        self._settings_changed()

    def set_trail(self, trail_s: float) -> None:
        self.settings.trail_s = float(trail_s)
        self._settings_changed()
        for view in self._test_views_all():
            if hasattr(view, "set_distance_cm"):  # the wall; the target views keep their own
                view.trail_s = float(trail_s)

    def set_blind(self, on: bool) -> None:
        self.settings.blind = bool(on)
        self._settings_changed()
        for view in self._test_views_all():
            view.blind = bool(on)

    def set_audio(self, on: bool) -> None:
        self.settings.audio = bool(on)
        self._settings_changed()
        if self.audio is not None:
            self.audio.enabled = bool(on)

    def set_voice(self, on: bool) -> None:
        self.settings.voice = bool(on)
        self._settings_changed()
        if self.audio is not None:
            self.audio.settings.voice_on = bool(on)

    def set_tones(self, on: bool) -> None:
        self.settings.tones = bool(on)
        self._settings_changed()
        if self.audio is not None:
            self.audio.settings.tones_on = bool(on)

    def set_volume(self, percent: int) -> None:
        self.settings.volume = percent / 100.0
        self._settings_changed()
        if self.audio is not None:
            self.audio.settings.volume = percent / 100.0

    def _update_sound_warning(self, *_) -> None:
        """Show the no-sound warning while an eyes-closed test is selected or running."""
        spec = self.current_spec if self.running and self.current_spec else self.catalog.get(self.test_combo.currentData())
        text = self.audio.warning() if self.audio is not None else None
        if self.audio is None:
            text = "No sound: audio is not set up in this window. The eyes-closed tests speak their instructions."
        show = bool(spec is not None and spec.eyes_closed and text)
        self.sound_warning.setText(text or "")
        self.sound_warning.setVisible(show)

    # ------------------------------------------------------------------ frame
    def _dispatch(self, event: dict, count: int) -> None:
        kind = event.get("kind")
        if self.events is not None:
            self.events.event(event)
        prompt = event.get("prompt") if kind == "prompt" else None
        if prompt is not None and self.audio is not None:
            self.audio.on_prompt(prompt, self.current_spec.eyes_closed if self.current_spec else False,
                                 event.get("text", ""))
        if kind == "message":
            if event.get("link_restored") and event.get("calibrated"):
                event = {**event, "text": event["text"] + " Press R to re-zero if it moved."}
            self.device_view.show_message(event["text"])
            self.statusBar().showMessage(event["text"], 8000)
            if event.get("link_restored"):
                self.calibration_view.show_link_restored(event["text"], bool(event.get("calibrated")))
        if kind == "result":
            self._store_result(event)
            return
        if kind == "recording":
            self._on_recording(event)
            return
        if kind == "calibration_kept":
            self.calibration_view.on_event(event, count)
        if prompt in CALIBRATION_PROMPTS or kind in ("calibration", "calibration_loaded") or (prompt == "redo" and self.calibration_view.step):
            self.calibration_view.on_event(event, count)
            if self.settings.follow and prompt in CALIBRATION_PROMPTS:
                self.show_tab("calibration")
        if prompt == "recenter" and self.settings.follow and self.tabs.currentIndex() == self.TABS.index("calibration"):
            self.show_tab("test")
        if kind == "test_start":
            assert self.worker is not None, "events come from the running worker"
            for view in self._test_views_all():
                if hasattr(view, "set_settings"):
                    view.set_settings(self.worker.feed.state.get("settings", {}))
        for view in self._test_views_all():
            view.on_event(event)
        if kind in ("test_end", "aborted") or prompt == "done":
            if kind == "aborted" and self.calibrating:
                self.calibration_view.on_event({"kind": "calibration_cancelled"}, count)
            self._set_running(False)
            if self.settings.follow and kind == "test_end" and self.current_spec is not None:
                self.show_tab("results")

    def dispatch_events(self) -> None:
        """The published events only, nothing drawn (the frame clock calls it while paused:
        prompts are still spoken and the test's state followed)."""
        if self.worker is not None:
            feed = self.worker.feed
            count = feed.ring.count
            for event in feed.drain_events():
                self._dispatch(event, count)

    def tick(self) -> None:
        """One display frame: events, then the visible views, from one ring count."""
        if self.worker is None:
            return
        feed = self.worker.feed
        count = feed.ring.count
        for event in feed.drain_events():
            self._dispatch(event, count)
        now = time.perf_counter()
        text_due = now - self._text_wall_s >= TEXT_PERIOD_S - 0.02  # a timer a little early
        if text_due:
            self._text_wall_s = now
        # Minimised, with the patient display open: only that one is drawn.
        name = self.TABS[self.tabs.currentIndex()] if not self.isMinimized() else ""
        if name == "device":
            if text_due:
                self.device_view.refresh(feed, count)
        elif name == "calibration":
            if text_due:
                self.calibration_view.refresh(feed, count)
        elif name == "test":
            # The stack holds the test views in this order.
            list(self.test_views.values())[self.test_stack.currentIndex()].refresh(feed, count)
        elif name == "results":
            self.results_view.show_state(feed.state)
        elif name == "research":
            self.research_view.refresh(feed, count)
        if self.patient_window is not None and self.patient_window.isVisible():
            self.patient_window.refresh(feed, count)
        self.frames += 1
        if text_due:
            self._refresh_status(feed)

    def _remember_device(self) -> None:
        """A real device whose link delivered samples is offered first at the next start."""
        if self._connected_as is None or self.remembered is None:
            return
        spec, protocol = self._connected_as
        self._connected_as = None
        try:
            self.remembered = remember_device(spec, protocol)
        except OSError as exc:
            self.statusBar().showMessage(f"The device could not be remembered: {exc.strerror or exc}", 8000)

    def _settings_changed(self) -> None:
        if self.remembered is not None:
            self._save_timer.start()  # one write once the slider or spin box rests

    def _save_settings(self) -> None:
        try:
            self.remembered = save_settings(dataclasses.asdict(self.settings))
        except OSError as exc:
            self.statusBar().showMessage(f"The settings could not be saved: {exc.strerror or exc}", 8000)

    def _refresh_status(self, feed) -> None:
        s = feed.status
        if s.get("samples") and self._connected_as is not None:
            self._remember_device()
        sim = "SIMULATED · " if s.get("simulated") else ""
        if s.get("no_frame_warning"):  # wrong protocol: said plainly, instead of the counts
            self.status_label.setText(f"{sim}{s.get('spec', '–')}: {s['no_frame_warning']}")
        else:
            self.status_label.setText(
                f"{sim}{s.get('spec', '–')}: {link_text(s)} · frames {s.get('frames', 0)} · "
                f"rejected {s.get('rejected_frames', 0)} · gaps {s.get('gaps', 0)} · "
                + (f"test: {display_name(feed.state.get('test'))} ({feed.state.get('phase')})"
                   if feed.state.get("test") else "no test running"))
        link = s.get("link")
        problem = link not in ("streaming", None) and s.get("samples")
        if problem:
            what = "the running trial cannot be scored until it is back" if self.running else "wait for it before a test"
            self.link_banner.setText(f"Signal {link_text(s)}: no data from the headset; {what}.")
        self.link_banner.setVisible(bool(problem))
        for view in self._test_views_all():
            if hasattr(view, "set_link_note"):
                view.set_link_note(f"Signal {link_text(s)}: waiting for the headset" if problem else "")
        self._update_progress(feed)
        self._update_flow()

    def _update_progress(self, feed) -> None:
        state = feed.state
        if not self.running or self.calibrating or state.get("kind") == "calibration":
            self.progress_label.setText("")
            return
        done = sum(1 for t in state.get("trials", ()) if t.get("valid"))
        total = state.get("total_items")
        unit = "trial" if state.get("kind") in ("jpe", "thp", "rom") else "run"
        if not total:
            self.progress_label.setText(f"{unit} {done + 1}")
            return
        text = f"{unit} {min(done + 1, total)} of {total}"
        elapsed = feed.status.get("t_s", 0.0) - state.get("t0_s", 0.0)
        if done and np.isfinite(elapsed) and elapsed > 0:
            left = elapsed / done * (total - done)
            text += f" · about {int(left // 60)}:{int(left % 60):02d} left"
        self.progress_label.setText(text)

    def closeEvent(self, event) -> None:
        if not self._ask_discard("Closing", "close"):
            event.ignore()
            return
        self.frame_clock.stop()
        if self._save_timer.isActive():  # a setting changed just before closing
            self._save_timer.stop()
            self._save_settings()
        app = QtWidgets.QApplication.instance()
        assert app is not None, "windows exist only inside a QApplication"
        app.removeEventFilter(self)
        if self.patient_window is not None:
            self.patient_window.close()
        if self.worker is not None:
            self.worker.stop()
        if self.events is not None:
            self.events.close()
        self.running = self.calibrating = False  # whatever ran was discarded, as agreed
        super().closeEvent(event)
