"""The application window: device, calibration, test, results, research and settings tabs,
the frame clock, keyboard shortcuts and the patient display.

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

Keyboard: Space marks a relocation, R re-zeroes (re-captures the neutral), Esc stops the test,
F toggles fullscreen (of the patient display when it is open).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.calibration_view import CalibrationView
from cervitrack.trainer.gui.catalog import TestSpec
from cervitrack.trainer.gui.device_view import DeviceView
from cervitrack.trainer.gui.frame_clock import FrameClock
from cervitrack.trainer.gui.patient_window import PatientWindow, make_test_views
from cervitrack.trainer.gui.research_view import ResearchView
from cervitrack.trainer.gui.results_view import ResultsView
from cervitrack.trainer.gui.worker import IDLE_STEP_S, PipelineWorker

CALIBRATION_PROMPTS = ("sit_still", "nod", "turn")
#: Tabs that draw the newest samples: frames at the display rate while one is on screen.
LIVE_TABS = ("test", "research")
#: The status line and the text panels (device, calibration) are refreshed this often, s (2 Hz).
TEXT_PERIOD_S = 0.5
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

    TABS = ("device", "calibration", "test", "results", "research", "settings")
    #: Emitted (from the scan thread) with the (spec, label) list a BLE scan found, or an error.
    scan_finished = QtCore.Signal(list, str)

    def __init__(self, settings: AppSettings, catalog: dict, open_worker, specs, audio=None,
                 audio_note: str = "", threaded: bool = True, scanner=None) -> None:
        super().__init__()
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
        outer.addLayout(self._toolbar())
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
        self.device_view.connect_requested.connect(self.connect_device)
        self.device_view.disconnect_requested.connect(self.disconnect_device)
        self.device_view.scan_requested.connect(self.scan)
        self.scan_finished.connect(self._scan_done)
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
        self.research_view = ResearchView(settings.research_window_s)
        self.settings_view = self._settings_tab(audio_note)
        for _name, widget, label in (("device", self.device_view, "Device"),
                                    ("calibration", self.calibration_view, "Calibration"),
                                    ("test", self.test_stack, "Test"),
                                    ("results", self.results_view, "Results"),
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

    # ------------------------------------------------------------------ layout
    def _toolbar(self):
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Test:"))
        self.test_combo = QtWidgets.QComboBox()
        for spec in self.catalog.values():
            self.test_combo.addItem(spec.label, spec.name)
        row.addWidget(self.test_combo, 1)
        self.buttons = {}
        for key, text, slot in (("start", "Start", self.start_test),
                                ("mark", "Mark (Space)", self.mark),
                                ("rezero", "Re-zero (R)", self.rezero),
                                ("stop", "Stop (Esc)", self.abort),
                                ("patient", "Patient display", self.toggle_patient_window)):
            b = QtWidgets.QPushButton(text)
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            row.addWidget(b)
            self.buttons[key] = b
        return row

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
        self.follow_check.toggled.connect(lambda on: setattr(self.settings, "follow", on))
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
                      QtCore.Qt.Key.Key_Escape: self.abort, QtCore.Qt.Key.Key_F: self.toggle_fullscreen}
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
        if isinstance(QtWidgets.QApplication.focusWidget(), (QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)):
            return False
        action()
        return True

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(self.TABS.index(name))

    def _set_running(self, running: bool) -> None:
        self.buttons["start"].setEnabled(self.worker is not None and not running)
        for key in ("mark", "rezero", "stop"):
            self.buttons[key].setEnabled(self.worker is not None and running)
        self.test_combo.setEnabled(not running)
        self.calibration_view.start_button.setEnabled(self.worker is not None and not running)
        self.calibration_view.saved_button.setEnabled(self.worker is not None and not running)
        self.running = running
        self.update_frame_mode()

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
    def connect_device(self, spec: str, protocol: str = "") -> None:
        self.disconnect_device()
        try:
            self.worker = self.open_worker(spec, protocol or None)
        except (ValueError, OSError) as exc:
            self.device_view.show_message(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        self.device_view.show_message("")
        self.device_view.set_connected(True)
        self._set_running(False)
        if self.threaded:  # otherwise the caller steps the worker and draws the frames
            self.worker.on_publish = self._published
            self.worker.start()
            self.frame_clock.start()

    def disconnect_device(self) -> None:
        self.frame_clock.stop()
        if self.worker is not None:
            self.worker.stop()
            self.device_view.refresh(self.worker.feed, self.worker.feed.ring.count)
        self.worker = None
        self.device_view.set_connected(False)
        self._set_running(False)

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
        self._update_sound_warning()
        if self.settings.follow:
            self.show_tab("test")

    def start_calibration(self) -> None:
        if self.worker is None:
            return
        self.current_spec = None
        self.calibration_view.reset()
        self.worker.submit("calibrate")
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

    def abort(self) -> None:
        if self.worker is not None and self.running:
            self.worker.submit("abort")

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
            self.patient_window.wall.reset(self.current_spec.eyes_closed if self.current_spec else True)
            for t in self.wall_view.trials:
                self.patient_window.wall.on_event(t)
            self.patient_window.wall.phase_prompt = self.wall_view.phase_prompt
            for name, view in self.patient_window.views.items():
                view.prompt.setText(self.test_views[name].prompt.text())
            if self.current_spec is not None:
                self.patient_window.show_view(self.current_spec.view)
        self.patient_window.show()

    # ------------------------------------------------------------------ settings
    def set_wall_distance(self, distance_cm: float) -> None:
        self.settings.wall_distance_cm = float(distance_cm)
        for view in self._test_views_all():
            if hasattr(view, "set_distance_cm"):
                view.set_distance_cm(distance_cm)

    def set_trail(self, trail_s: float) -> None:
        self.settings.trail_s = float(trail_s)
        for view in self._test_views_all():
            if hasattr(view, "set_distance_cm"):  # the wall; the target views keep their own
                view.trail_s = float(trail_s)

    def set_blind(self, on: bool) -> None:
        self.settings.blind = bool(on)
        for view in self._test_views_all():
            view.blind = bool(on)

    def set_audio(self, on: bool) -> None:
        self.settings.audio = bool(on)
        if self.audio is not None:
            self.audio.enabled = bool(on)

    def set_voice(self, on: bool) -> None:
        self.settings.voice = bool(on)
        if self.audio is not None:
            self.audio.settings.voice_on = bool(on)

    def set_tones(self, on: bool) -> None:
        self.settings.tones = bool(on)
        if self.audio is not None:
            self.audio.settings.tones_on = bool(on)

    def set_volume(self, percent: int) -> None:
        self.settings.volume = percent / 100.0
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
        prompt = event.get("prompt") if kind == "prompt" else None
        if prompt is not None and self.audio is not None:
            self.audio.on_prompt(prompt, self.current_spec.eyes_closed if self.current_spec else False,
                                 event.get("text", ""))
        if kind == "message":
            self.device_view.show_message(event["text"])
            self.statusBar().showMessage(event["text"], 8000)
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
            s = feed.status
            if s.get("no_frame_warning"):  # wrong protocol: said plainly, instead of the counts
                self.status_label.setText(f"{s.get('spec', '–')}: {s['no_frame_warning']}")
                return
            self.status_label.setText(
                f"{s.get('spec', '–')}: {s.get('state', '–')} · frames {s.get('frames', 0)} · "
                f"rejected {s.get('rejected_frames', 0)} · gaps {s.get('gaps', 0)} · "
                f"test: {feed.state.get('test') or '–'} ({feed.state.get('phase')})")

    def closeEvent(self, event) -> None:
        self.frame_clock.stop()
        app = QtWidgets.QApplication.instance()
        assert app is not None, "windows exist only inside a QApplication"
        app.removeEventFilter(self)
        if self.patient_window is not None:
            self.patient_window.close()
        if self.worker is not None:
            self.worker.stop()
        super().closeEvent(event)
