"""The pipeline thread of a training session, without any window (Qt-free): the training
window (:mod:`cervitrack.trainer.gui.training_window`) and ``cervitrack train --terminal`` on a
real device (:mod:`cervitrack.trainer.commands._train_live`) drive the same worker.

- :class:`TrainingSimSource`: the simulated headset worn by the virtual trainee;
- :class:`TrainingWorker`: a :class:`~cervitrack.trainer.gui.worker.PipelineWorker` running a
  :class:`~cervitrack.trainer.training.session.TrainingSession`; its questions are published
  in the feed state and answered with worker commands; a lost signal is published as a message
  (the engine's words) and as ``paused`` in the feed state.
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.trainer.gui.sources import SimSource
from cervitrack.trainer.gui.worker import PipelineWorker
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import TrainingPatient


class TrainingSimSource(SimSource):
    """The simulated headset worn by the virtual trainee
    (:class:`~cervitrack.trainer.training.sim_patient.TrainingPatient`, which follows drill
    prompts)."""

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        root = np.random.SeedSequence([cfg.seed, 0x7E57])
        self.patient = TrainingPatient(cfg.patient, np.random.default_rng(root))
        self.device = SimulatedHeadset(cfg, self.patient, keep_truth_s=self.TRUTH_S)


class TrainingWorker(PipelineWorker):
    """The pipeline thread running a training session. Extra commands: ("session", engine),
    ("answer", kind, value), ("stop_now",). The feed state carries ``question`` (the open
    question or None) and ``question_id`` (increases with every new question)."""

    def _cmd_session(self, engine: TrainingSession) -> None:
        self._begin(engine, None)
        self.feed.state = {**self.feed.state, "test": "training", "kind": "training", "question": None,
                           "question_id": 0}

    def _deliver(self, prompts, engine) -> None:
        for prompt in prompts:
            self.source.on_prompt(prompt, self.t_s)
            self._follow_reference(prompt, engine)
        self._publish_engine(engine)

    def _cmd_answer(self, kind: str, value) -> None:
        engine = self.engine
        if engine is None or engine.question != kind:
            return  # already answered, or the session has ended (a stop)
        self._deliver(engine.answer(float(self.last_sample_t_s), kind, value), engine)

    def _cmd_stop_now(self) -> None:
        engine = self.engine
        if engine is not None and not engine.done:
            t = float(self.last_sample_t_s) if np.isfinite(self.last_sample_t_s) else float(self.t_s)
            self._deliver(engine.stop_now(t), engine)

    def _publish_engine(self, engine) -> None:
        new = engine.events[self._events_seen:]
        question = engine.question
        state = self.feed.state
        if not new and state.get("phase") == engine.phase and state.get("question") == question:
            return
        self._events_seen += len(new)
        for event in new:
            self.feed.push_event(event)
            if event.get("kind") in ("pause", "resume"):
                # A lost signal is said, never hidden (as PipelineWorker does for the tests).
                self.feed.push_event({"t_s": event["t_s"], "kind": "message", "text": event["text"],
                                      "about": event["kind"]})
        asked = sum(1 for e in new if e.get("kind") == "prompt" and e.get("prompt") in ("estimate", "rate_symptoms"))
        self.feed.state = {**state, "phase": engine.phase, "done": engine.done, "question": question,
                           "question_id": state.get("question_id", 0) + asked,
                           "calibrated": self.calibration is not None, "paused": engine.paused}
