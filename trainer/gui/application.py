"""Building and running the application, and rendering screenshots offscreen.

:func:`run_app` opens the window, connects the device and (optionally) starts a test; the
pipeline runs in its own thread at real-time pace. :func:`render_screenshot` runs the
simulated device faster than real time in the calling thread, drives the window frame by
frame, and saves a PNG of one view once the virtual patient has reached a moment that shows
it well (:data:`VIEWS`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

# The test engines, the pipeline, pyqtgraph and the views take seconds to import: they are
# imported where they are used, so that :func:`run_app` shows its starting window first.
if TYPE_CHECKING:
    from cervitrack.firmware_bridge.sim.config import SimConfig
    from cervitrack.trainer.gui.worker import PipelineWorker

#: Screenshot views: name → (tab, what to run, when to stop).
VIEWS = {
    "device": "the device panel after a few seconds of streaming",
    "calibration": "the calibration wizard with its quality score",
    "wall": "the laser wall during a JPE test, with relocation marks",
    "blind": "the laser wall during an eyes-closed relocation (cursor hidden)",
    "results": "the results of a finished JPE test",
    "research": "live angles, gyro and accelerometer traces",
    "patient": "the large patient display",
    "settings": "the settings",
    "butterfly": "Butterfly-style tracking: the moving target and the cursor (needs the clinical tests)",
    "tracing": "pattern tracing: the figure-eight and its band (needs the clinical tests)",
}
#: Views that need a test of the clinical protocols, and that test's preset.
VIEW_TESTS = {"butterfly": "butterfly", "tracing": "trace-figure8"}


def available_views() -> list[str]:
    """The screenshot views this build can show (tests it does not have are left out)."""
    from cervitrack.trainer.gui.catalog import catalog

    tests = catalog(1)
    return [v for v in VIEWS if v not in VIEW_TESTS or VIEW_TESTS[v] in tests]


#: Python's thread switch interval in the application, s. The default 5 ms lets the GUI thread
#: hold the GIL for up to 5 ms while the pipeline thread has samples waiting (and the other way
#: round); 1 ms lowers the sample-to-screen latency (bench/gui.py measures both).
SWITCH_INTERVAL_S = 0.001


def tune_threads() -> None:
    """Set the thread switch interval for a responsive pipeline thread."""
    import sys

    sys.setswitchinterval(SWITCH_INTERVAL_S)


def freeze_heap() -> None:
    """Collect once, then move every object alive (Qt wrappers, pyqtgraph, numpy, the window)
    to the garbage collector's permanent generation (``gc.freeze``): later full collections
    scan only what the session allocates. Call it once the window is built. Without it, full
    collections paused both threads for 50-75 ms, twice a minute (bench/gui.py with a
    ``gc.callbacks`` timer); docs/gui.md gives the figure after."""
    import gc

    gc.collect()
    gc.freeze()


def qt_app(offscreen: bool = False):
    """The QApplication (created once); ``offscreen`` selects the offscreen platform when no
    application exists yet."""
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6 import QtGui, QtWidgets  # the pinned binding, imported before pyqtgraph

    app = QtGui.QGuiApplication.instance()
    if app is not None and not isinstance(app, QtWidgets.QApplication):
        raise RuntimeError("a QGuiApplication already exists in this process; windows need a QApplication")
    return app or QtWidgets.QApplication(["cervitrack"])


def make_window(sim_config: SimConfig | None = None, trials_per_direction: int = 8,
                settings=None, threaded: bool = True, player=None, save_calibrations: bool = True,
                speed: float = 1.0, events_path=None):
    """The application window (not shown), with its worker factory and its voice.

    ``speed``: simulated seconds per wall second of a simulated device in the threaded mode
    (tests run the virtual patient faster than real time).
    ``player``: the audio output (None: the best one found here, or none with the reason;
    tests pass a :class:`~cervitrack.trainer.audio.outputs.RecordingOutput`);
    ``save_calibrations``: keep good calibrations per device in the user data folder;
    ``events_path``: the events file (:mod:`cervitrack.trainer.recording.events_file`), or None."""
    from cervitrack.trainer.gui.audio import make_audio
    from cervitrack.trainer.gui.catalog import catalog as make_catalog
    from cervitrack.trainer.gui.main_window import AppSettings, AppWindow
    from cervitrack.trainer.gui.sources import (
        available_specs,
        ble_scan_specs,
        can_scan_ble,
        open_source,
    )
    from cervitrack.trainer.gui.worker import PipelineWorker
    from cervitrack.trainer.stores.app_state import load_state

    remembered = load_state()
    settings = settings or AppSettings(**remembered.settings)
    tests = make_catalog(trials_per_direction)
    audio = make_audio(player, settings.voice, settings.tones, settings.volume, settings.audio)
    note = audio.note

    def open_worker(spec: str, protocol: str | None = None) -> PipelineWorker:
        source = open_source(spec, sim_config, protocol)
        return PipelineWorker(source, catalog=tests, save_calibrations=save_calibrations,
                              speed=speed if source.simulated else 1.0)

    events = None
    if events_path is not None:
        from cervitrack.trainer.recording.events_file import EventsFile

        events = EventsFile(events_path, force=True)  # the command refused an existing file
    return AppWindow(settings, tests, open_worker, available_specs(), audio, note, threaded=threaded,
                     scanner=ble_scan_specs if can_scan_ble() else None, remembered=remembered,
                     events=events)


def run_app(device: str | None = None, test: str | None = None, sim_config: SimConfig | None = None,
            trials_per_direction: int = 8, fullscreen: bool = False, protocol: str | None = None,
            patient: str | None = None, events_path=None) -> int:
    """Open the application; connect ``device`` (None: the person chooses in the device panel;
    the simulator only when asked for), choose ``patient`` and start ``test`` (once the link
    delivers samples) when given.

    A starting window is on screen within a fraction of a second, before the heavy imports;
    the application window replaces it once built. ValueError (an unknown ``test``) closes it
    first. Closing the starting window cancels the start (returns 0)."""
    app = qt_app()
    from cervitrack.trainer.gui import first_window
    from cervitrack.trainer.gui.starting_window import StartingWindow

    first_window.install(app)
    starting = StartingWindow(device)
    starting.show()
    starting.step("Loading the test engines…")
    tune_threads()
    from cervitrack.trainer.gui.catalog import catalog

    tests = catalog(trials_per_direction)
    if test is not None and test not in tests:
        starting.close()
        raise ValueError(f"unknown test {test!r} (available: {', '.join(tests)})")
    if starting.cancelled:
        return 0
    starting.step("Loading the views…")
    from cervitrack.trainer.gui import main_window  # noqa: F401  (pyqtgraph and the views)

    if starting.cancelled:
        return 0
    starting.step("Building the window…")
    window = make_window(sim_config, trials_per_direction, events_path=events_path)
    if starting.cancelled:
        window.close()
        return 0
    if starting.isMaximized():
        window.showMaximized()
    else:
        window.setGeometry(starting.geometry())  # where the person sees (or moved) it
        window.show()
    starting.close()
    freeze_heap()
    if device:
        window.device_view.select_spec(device)
        window.connect_device(device, protocol or "")
    if patient:
        from cervitrack.trainer.stores.sessions import Store

        with Store() as store:
            store.ensure_patient(patient)
        window.patient_view.refresh()
        window.set_patient(patient)
    if test and window.worker is not None:
        start_when_streaming(window, test)
    if fullscreen:
        window.toggle_patient_window()
        window.toggle_fullscreen()
    from cervitrack.trainer.gui.signals import end_on_signals

    end_on_signals(app, window.end_now)
    first_window.app_ready(app)
    app.exec()
    return 0


def start_when_streaming(window, test: str) -> None:
    """Start ``test`` once the link has delivered samples (a test cannot start before)."""
    from PySide6 import QtCore

    timer = QtCore.QTimer(window)

    def attempt():
        if window.worker is None:
            timer.stop()
        elif window.link_ready()[0]:
            timer.stop()
            window.start_test(test)

    timer.timeout.connect(attempt)
    timer.start(100)


def _stop_condition(view: str, total_trials: int):
    """(test to start or "calibrate" or None, predicate(window, feed, phase_age_s) → ready);
    phase_age_s is the simulated time since the current prompt."""
    def trials(feed):
        return [t for t in feed.state.get("trials", ()) if t.get("valid")]

    some = max(1, min(6, total_trials - 1))  # trials on the wall before the picture
    conditions = {
        "device": (None, lambda w, f, age: f.status.get("t_s", 0) >= 5.0),
        "calibration": ("calibrate", lambda w, f, age: w.calibration_view.result is not None),
        "wall": ("jpe", lambda w, f, age: len(trials(f)) >= some and w.wall_view.phase_prompt == "recenter"),
        "blind": ("jpe", lambda w, f, age: len(trials(f)) >= some // 2 and w.wall_view.phase_prompt == "return"),
        "results": ("jpe", lambda w, f, age: f.state.get("done", False)),
        "research": ("jpe", lambda w, f, age: len(trials(f)) >= 1 and w.wall_view.phase_prompt == "move"
                     and age >= 2.5),
        "patient": ("jpe", lambda w, f, age: len(trials(f)) >= some and w.wall_view.phase_prompt == "recenter"),
        "settings": (None, lambda w, f, age: f.status.get("t_s", 0) >= 1.0),
        "butterfly": ("butterfly", lambda w, f, age: w.test_views["butterfly"].trajectory is not None
                      and f.status.get("t_s", 0) - w.test_views["butterfly"].t_start_s >= 7.0),
        "tracing": ("trace-figure8", lambda w, f, age: f.state.get("phase") == "trace" and age >= 6.0),
    }
    return conditions[view]


def render_screenshot(view: str, path, sim_config: SimConfig | None = None,
                      trials_per_direction: int = 3, frame_s: float = 1 / 30,
                      max_sim_s: float = 900.0, window=None, player=None, seed: int | None = None) -> Path:
    """Run the simulator faster than real time, then save a PNG of ``view`` at ``path``.

    ``sim_config`` None: the default simulator (with ``seed``), with raw gyro and accelerometer
    output for the research view."""
    views = available_views()
    if view not in views:
        raise ValueError(f"unknown view {view!r} (views: {', '.join(views)})")
    qt_app(offscreen=True)
    from cervitrack.trainer.gui.main_window import AppSettings

    if sim_config is None:
        from cervitrack.firmware_bridge.sim.config import config_from_dict

        # Without a configuration the research view gets a raw (gyro + acc) sensor to show.
        sim_config = config_from_dict({"sensor": {"output": "raw"}} if view == "research" else {}, seed=seed)

    own = window is None  # a window made here is closed here, once its picture is taken
    if window is None:
        window = make_window(sim_config, trials_per_direction, AppSettings(follow=False),
                             threaded=False, player=player, save_calibrations=False)
    window.show()
    window.device_view.select_spec("sim")
    window.connect_device("sim")
    t_s = 0.0
    while not window.worker.feed.status.get("samples") and t_s < 5.0:
        t_s += frame_s  # a test starts only on a link that has delivered samples
        window.worker.step_to(t_s)
        window.tick()
    tab = {"wall": "test", "blind": "test", "patient": "test", "butterfly": "test",
           "tracing": "test"}.get(view, view)
    window.show_tab(tab)
    start, ready = _stop_condition(view, 4 * trials_per_direction)
    if start == "calibrate":
        window.start_calibration()
    elif start is not None:
        window.start_test(start)
    if view == "patient":
        window.toggle_patient_window()
    worker = window.worker
    last_prompt, phase_t_s = None, 0.0
    while t_s < max_sim_s:
        t_s += frame_s
        worker.step_to(t_s)
        window.tick()
        phase = worker.feed.state.get("phase")
        if phase != last_prompt:
            last_prompt = phase
            phase_t_s = t_s
        if ready(window, worker.feed, t_s - phase_t_s):
            break
    else:
        raise RuntimeError(f"the {view} view did not reach its screenshot moment in {max_sim_s:.0f} s")
    window.tick()
    target = window.patient_window if view == "patient" else window
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not target.grab().save(str(path)):
            raise OSError(f"could not write {path}")
    finally:
        if own:
            window.discard_and_close()
    return path
