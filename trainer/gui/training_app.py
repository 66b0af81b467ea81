"""Open, drive and photograph the training window (``cervitrack train`` with a display).

- :func:`open_training_window`: the window with its pipeline worker for a device spec (``sim``:
  the simulated headset worn by the virtual trainee, who does the movements; you answer);
- :class:`SimAnswers` and :func:`drive`: answer the window's questions as a virtual trainee
  would and step simulated time faster than real time (tests and screenshots);
- :func:`render_training_screenshot`: a PNG of the window mid-drill or at the summary, with a
  few simulated days of history so the progress figure has something to show.
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
                         protocol: str | None = None, plan_for_session=None, audio=None):
    """The training window (not shown) and its :class:`TrainingWorker` (not started)."""
    from cervitrack.trainer.gui.sources import open_source
    from cervitrack.trainer.gui.training_window import (
        TrainingSimSource,
        TrainingWindow,
        TrainingWorker,
    )

    if device == "sim":
        source = TrainingSimSource(sim_config if sim_config is not None else SimConfig())
    else:
        source = open_source(device, sim_config, protocol)
    worker = TrainingWorker(source)
    return TrainingWindow(worker, store, patient, today, plan_for_session=plan_for_session, audio=audio)


class SimAnswers:
    """Answers like a virtual trainee: every safety question "no" (unless ``screen_yes`` names
    one), the ratings in ``ratings`` in turn (the last one repeated; the first is the rating
    before the session), the headache diary ``headache_nrs``, and self-estimates from the
    simulated patient's own perception of its error."""

    def __init__(self, ratings=(SymptomRating(1),), headache_nrs: int = 0, screen_yes: tuple[str, ...] = ()):
        self.ratings = list(ratings)
        self.headache_nrs = headache_nrs
        self.screen_yes = screen_yes
        self.n_ratings = 0

    def _screen(self, questions) -> dict[str, bool]:
        return {q.key: q.key in self.screen_yes for q in questions}

    def answer(self, window) -> None:
        """Answer whatever the window is asking now (nothing when it asks nothing)."""
        page = window.pages.currentWidget()
        if page is window.first_screen:
            window.submit_screen("first_run", self._screen(safety.FIRST_RUN_QUESTIONS))
        elif page is window.daily_screen:
            window.submit_screen("daily", self._screen(safety.DAILY_QUESTIONS))
        elif page is window.rating_page:
            rating = self.ratings[min(self.n_ratings, len(self.ratings) - 1)]
            self.n_ratings += 1
            window.submit_rating(rating, self.headache_nrs if window.stage == "before" else None)
        elif page is window.drill_page and window.drill_page.estimate_box.isVisible():
            window.answer_estimate(window.worker.source.patient.estimate())


def drive(window, answers: SimAnswers | None, until, max_sim_s: float = 900.0, frame_s: float = FRAME_S) -> int:
    """Step simulated time frame by frame (worker then window), answering with ``answers``,
    until ``until(window)`` is true; returns the number of frames. RuntimeError when the moment
    is not reached within ``max_sim_s``."""
    worker = window.worker
    frames = 0
    while not until(window):
        if worker.t_s >= max_sim_s:
            raise RuntimeError(f"the training window did not reach the moment within {max_sim_s:.0f} s")
        if answers is not None:
            answers.answer(window)
        worker.step_to(worker.t_s + frame_s)
        window.tick()
        frames += 1
    return frames


def short_plan(plan, level: int | None = None):
    """A one-block session (no warm-up, two tries per direction): the screenshots' and
    tests' session."""
    return replace(plan, level=level or plan.level, blocks=("relocation",), relocation_blocks=1,
                   reps_per_direction=2)


def render_training_screenshot(path, moment: str = "drill", seed: int | None = 1, history_days: int = 6,
                               level: int = 2) -> Path:
    """Save a PNG of the training window: ``moment`` "drill" (the wall after a few tries, at
    the "where do you think you are?" question, the dot still hidden) or "summary" (the end, with the progress figure).

    ``history_days`` simulated days come first (the virtual trainee, in a temporary history),
    so the progress figure shows a trend; the window's session is the next day, at ``level``."""
    from cervitrack.trainer.gui.application import qt_app
    from cervitrack.trainer.training.simulate import (
        SIM_PLAN,
        SIM_RATE_HZ,
        SIM_START_DATE,
        simulate_program,
    )
    from cervitrack.trainer.training.store import TrainingStore

    if moment not in ("drill", "summary"):
        raise ValueError(f"unknown screenshot moment {moment!r} (drill, summary)")
    qt_app(offscreen=True)
    with tempfile.TemporaryDirectory() as folder, TrainingStore(Path(folder) / "training.db") as store:
        patient = SIM_PLAN.patient
        if history_days:
            simulate_program(history_days, store, seed=seed or 1)
        today = (dt.date.fromisoformat(SIM_START_DATE) + dt.timedelta(days=history_days)).isoformat()
        cfg = SimConfig(seed=int(np.random.SeedSequence([seed or 1, 99]).generate_state(1)[0]),
                        sensor=SensorConfig(rate_hz=SIM_RATE_HZ))
        window = open_training_window("sim", store, patient, today, cfg,
                                      plan_for_session=lambda plan: short_plan(plan, level))
        window.show()
        answers = SimAnswers(ratings=(SymptomRating(2), SymptomRating(2)))
        if moment == "drill":
            def ready(w):
                tried = sum(1 for t in w.engine.relocation_trials() if t["valid"]) if w.engine else 0
                return tried >= 3 and w.drill_page.estimate_box.isVisible()
        else:
            def ready(w):
                return w.stage == "summary"
        drive(window, answers, ready)
        window.tick()
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
    window = open_training_window(device, store, patient, today, sim_config, protocol, plan_for_session, audio)
    window.on_finished = lambda record: store_clinical(device, window, record)
    window.show()
    freeze_heap()
    window.worker.start()
    window.timer.start(int(FRAME_S * 1000))
    app.exec()
    return 0
