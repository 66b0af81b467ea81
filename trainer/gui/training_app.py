"""Open, drive and photograph the training window (``cervitrack train`` with a display).

- :func:`open_training_window`: the window with its pipeline worker for a device spec (``sim``:
  the simulated headset worn by the virtual trainee, who does the movements; you answer);
- :class:`SimTrainee` and :func:`drive`: answer the window's questions as a virtual trainee
  would, by clicking and pressing keys on what is shown, and step simulated time faster than
  real time (tests and screenshots);
- :func:`render_training_screenshot`: a PNG of the window at any of its :data:`MOMENTS`, with
  a few simulated days of history so the summary has something to show.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.training import safety
from cervitrack.trainer.training.symptoms import SymptomRating

#: Simulated time per displayed frame when stepping (30 frames per second).
FRAME_S = 1 / 30


def open_training_window(device: str, store, patient: str, today: str, sim_config: SimConfig | None = None,
                         protocol: str | None = None, plan_for_session=None, audio=None, clinical: bool = False):
    """The training window (not shown) and its :class:`TrainingWorker` (not started).
    ``clinical``: a finished session also goes into the clinical store, as on the command line."""
    from cervitrack.trainer.gui.sources import open_source
    from cervitrack.trainer.gui.training_window import TrainingWindow
    from cervitrack.trainer.gui.training_worker import TrainingSimSource, TrainingWorker

    if device == "sim":
        source = TrainingSimSource(sim_config if sim_config is not None else SimConfig())
    else:
        source = open_source(device, sim_config, protocol)
    # A real device keeps its good calibrations and is offered them next time (the Yes/No card);
    # the simulator's are not kept.
    worker = TrainingWorker(source, save_calibrations=not source.simulated)
    window = TrainingWindow(worker, store, patient, today, plan_for_session=plan_for_session, audio=audio)
    if clinical:
        window.on_finished = lambda record: store_clinical(device, window, record)
    return window


def find(page, name: str):
    """The visible widget called ``name`` on ``page`` (what a person sees), or None."""
    from PySide6 import QtWidgets

    for w in page.findChildren(QtWidgets.QWidget, name):
        if w.isVisible():
            return w
    return None


class SimTrainee:
    """Answers the window's questions as a virtual trainee would, by clicking and pressing keys
    on what is shown (``click(widget)``, ``key(widget, qt_key)``; QTest by default, qtbot in
    tests): Start; every safety question "No" unless its words match a key in ``screen_yes``;
    the ratings in ``ratings`` in turn (the first one before the session, the last one
    repeated); the headache diary ``headache_nrs``; Confirm on every review; and "where do you
    think you are?" with the arrow keys, from the simulated patient's own sense of its error."""

    def __init__(self, ratings=None, headache_nrs: int = 0, screen_yes: tuple[str, ...] = (),
                 click=None, key=None):
        from PySide6 import QtCore
        from PySide6.QtTest import QTest

        self.ratings = list(ratings) if ratings else [SymptomRating(1)]
        self.headache_nrs = headache_nrs
        self.screen_yes = screen_yes
        self.n_ratings = 0
        self.click = click or (lambda w: QTest.mouseClick(w, QtCore.Qt.MouseButton.LeftButton))
        self.key = key or (lambda w, k: QTest.keyClick(w, k))
        self.clicked: list[str] = []

    def _press(self, page, name: str) -> None:
        widget = find(page, name)
        if widget is None:
            raise RuntimeError(f"the trainee looked for {name!r} on the {page.objectName()!r} page and did not see it")
        self.clicked.append(name)
        self.click(widget)

    def rating(self) -> SymptomRating:
        return self.ratings[min(self.n_ratings, len(self.ratings) - 1)]

    def answer(self, window) -> None:
        """Answer whatever the window is asking now (nothing when it asks nothing)."""
        from PySide6 import QtCore

        page = window.pages.currentWidget()
        name = page.objectName()
        title = find(page, "title").text() if find(page, "title") is not None else ""
        if name == "welcome":
            self._press(page, "start")
        elif name == "question":
            words = title.lower()
            screen = {q.key for q in safety.FIRST_RUN_QUESTIONS if q.text[1:].lower() in words}
            if "feel sick" in words and words.endswith("now?"):
                yes = self.rating().nausea
            elif "double vision" in words and words.endswith("now?"):
                yes = bool(self.rating().red_flags)
            else:
                yes = bool(screen & set(self.screen_yes))
            self._press(page, "yes" if yes else "no")
        elif name == "rating":
            words = title.lower()
            value = (self.headache_nrs if "headache" in words else
                     self.rating().dizziness_nrs if "dizzy" in words else self.rating().pain_nrs)
            self._press(page, f"nrs-{value}")
            self._press(page, "next")
        elif name == "review":
            step = find(page, "step").text()
            if not step.startswith(("Safety", "Today")):
                self.n_ratings += 1
            self._press(page, "confirm")
        elif name == "drill" and find(page, "pad") is not None:
            arrow = {"left": QtCore.Qt.Key.Key_Left, "right": QtCore.Qt.Key.Key_Right, "up": QtCore.Qt.Key.Key_Up,
                     "down": QtCore.Qt.Key.Key_Down, "on_target": QtCore.Qt.Key.Key_Space}
            self.clicked.append("estimate")
            self.key(page, arrow[window.worker.source.patient.estimate()])


def drive(window, answers: SimTrainee | None, until, max_sim_s: float = 900.0, frame_s: float = FRAME_S) -> int:
    """Step simulated time frame by frame (the worker, then the window's display timer),
    answering with ``answers``, until ``until(window)`` is true; returns the number of frames.
    RuntimeError when the moment is not reached within ``max_sim_s``."""
    worker = window.worker
    frames = 0
    while not until(window):
        if worker.t_s >= max_sim_s:
            raise RuntimeError(f"the training window did not reach the moment within {max_sim_s:.0f} s")
        if answers is not None:
            answers.answer(window)
            if until(window):
                break
        worker.step_to(worker.t_s + frame_s)
        window.timer.timeout.emit()  # one display frame, as the running timer gives it
        frames += 1
    return frames


def short_plan(plan, level: int | None = None):
    """A one-block session (no warm-up, two tries per direction): the screenshots' and
    tests' session."""
    return replace(plan, level=level or plan.level, blocks=("relocation",), relocation_blocks=1,
                   reps_per_direction=2)


#: What ``--screenshot`` can show: moment → (the level trained, None: the simulated history's;
#: what the page is).
MOMENTS = {
    "welcome": (None, "the welcome card: disclaimer and today's level"),
    "question": (None, "a safety question card (first run: one of 19)"),
    "review": (None, "the check of the safety answers before they count"),
    "rating": (None, "a 0-10 rating card with a value chosen and read back"),
    "rating-stop": (None, "a rating that stops training, asking for confirmation"),
    "drill": (2, "an eyes-closed drill at the 'where do you think you are?' question (keys and pad)"),
    "drill-open": (1, "an eyes-open (laser) drill"),
    "after": (None, "the rating card after a block"),
    "stop": (None, "a session stopped for pain: what to do next"),
    "summary": (None, "the summary: today in one sentence, the last sessions against the goal"),
    "details": (None, "the research progress figure behind 'Details'"),
}


def render_training_screenshot(path, moment: str = "drill", seed: int | None = 1, history_days: int = 6,
                               level: int | None = None, size: tuple[int, int] = (1280, 720)) -> Path:
    """Save a PNG of the training window at ``moment`` (a key of :data:`MOMENTS`), ``size``
    (width, height) px.

    ``history_days`` simulated days come first (the virtual trainee, in a temporary history),
    so the summary's picture shows a trend; the window's session is the next day. ``question``
    and ``review`` show the first run (no history: the 19 first-run questions). The virtual trainee clicks
    through the cards (:class:`SimTrainee`)."""
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    from cervitrack.trainer.gui.application import qt_app
    from cervitrack.trainer.training.simulate import (
        SIM_PLAN,
        SIM_RATE_HZ,
        SIM_START_DATE,
        simulate_program,
    )
    from cervitrack.trainer.training.store import TrainingStore

    if moment not in MOMENTS:
        raise ValueError(f"unknown screenshot moment {moment!r} ({', '.join(MOMENTS)})")
    qt_app(offscreen=True)
    level = level or MOMENTS[moment][0]
    if moment in ("question", "review"):
        history_days = 0  # the first run: the 19 first-run questions

    def session_plan(plan):
        return short_plan(plan, level or plan.level)

    with tempfile.TemporaryDirectory() as folder, TrainingStore(Path(folder) / "training.db") as store:
        patient = SIM_PLAN.patient
        if history_days:
            simulate_program(history_days, store, seed=seed or 1)
        today = (dt.date.fromisoformat(SIM_START_DATE) + dt.timedelta(days=history_days)).isoformat()
        cfg = SimConfig(seed=int(np.random.SeedSequence([seed or 1, 99]).generate_state(1)[0]),
                        sensor=SensorConfig(rate_hz=SIM_RATE_HZ))
        window = open_training_window("sim", store, patient, today, cfg, plan_for_session=session_plan)
        window.resize(*size)
        window.show()
        pain_after = 4 if moment == "stop" else 2
        answers = SimTrainee(ratings=(SymptomRating(2), SymptomRating(pain_after)))

        def on(name):
            return lambda w: w.pages.currentWidget().objectName() == name

        def click(name):
            QTest.mouseClick(find(window.pages.currentWidget(), name), QtCore.Qt.MouseButton.LeftButton)

        if moment == "welcome":
            drive(window, None, on("welcome"))
        elif moment == "question":
            drive(window, answers, on("question"))
        elif moment == "review":
            drive(window, answers, on("review"))
        elif moment in ("rating", "rating-stop"):
            drive(window, answers, lambda w: on("rating")(w) and "pain" in find(w.rating_card, "title").text())
            click("nrs-8" if moment == "rating-stop" else "nrs-3")
        elif moment == "drill":
            def ready(w):
                tried = sum(1 for t in w.engine.relocation_trials() if t["valid"]) if w.engine else 0
                return tried >= 3 and find(w.drill_page, "pad") is not None
            drive(window, answers, ready)
        elif moment == "drill-open":
            drive(window, answers, lambda w: w.engine is not None and w.drill_page.wall.tries.get("rotation_right"))
            drive(window, answers, lambda w: w.drill_page.wall.phase_prompt == "drill_return")
        elif moment == "after":
            drive(window, answers, lambda w: w.stage == "session" and on("rating")(w))
        elif moment in ("stop",):
            drive(window, answers, on("stopped"))
        else:
            drive(window, answers, on("summary"))
            if moment == "details":
                click("details")
        window.timer.timeout.emit()
        QtCore.QCoreApplication.processEvents()  # the layout settles as on a running display
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(path))
        window.worker.stop()
        window.close()
    if not ok:
        raise OSError(f"could not write {path}")
    return path


def store_clinical(device: str, window, record: dict) -> None:
    """The session also goes into the clinical store, as on the command line."""
    from cervitrack.trainer.stores.sessions import Store
    from cervitrack.trainer.training.clinical_link import store_training_session

    with Store() as clinical:
        store_training_session(clinical, device, window.plan, window.engine, record)


def run_training_gui(device: str, store, patient: str, today: str, sim_config: SimConfig | None = None,
                     protocol: str | None = None, plan_for_session=None) -> int:
    """Open the training window on the display and run until it is closed."""
    from cervitrack.trainer.gui.application import freeze_heap, qt_app, tune_threads
    from cervitrack.trainer.gui.audio import make_audio

    app = qt_app()
    tune_threads()
    audio = make_audio()
    window = open_training_window(device, store, patient, today, sim_config, protocol, plan_for_session, audio,
                                  clinical=True)
    window.show()
    freeze_heap()
    start_training_window(window)
    app.exec()
    return 0


def start_training_window(window) -> None:
    """Run a training window as ``cervitrack train`` does: its pipeline thread reading the
    device, its display timer at FRAME_S."""
    window.worker.start()
    window.timer.start(int(FRAME_S * 1000))
