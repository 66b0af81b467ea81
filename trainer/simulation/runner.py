"""Runs a test against a device source, step by step, on the samples' time.

:class:`SimSession` wires the simulated headset and virtual patient to the pipeline and a test
engine: every ``step_s`` of simulated time it collects what the link delivered, processes it,
hands the poses to the engine, and passes the engine's prompts to the virtual patient. It is
deterministic for a given configuration. :func:`true_trial_errors` compares each trial with the
simulator's ground truth over the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.live.pipeline import Pipeline, PoseBatch
from cervitrack.trainer.simulation.virtual_patient import VirtualPatient


@dataclass
class StepResult:
    """What one step produced: the pose batch, the prompts issued, transport items."""

    t_s: float
    pose: PoseBatch
    prompts: list = field(default_factory=list)
    items: list = field(default_factory=list)


class ItemSource(Protocol):
    """What :meth:`SimSession.step` reads device items from."""

    def advance(self, until_s: float) -> list: ...


class SimSession:
    """A test engine driven by the simulated headset and virtual patient.

    Args:
        cfg: simulator settings.
        engine: a test engine with ``start(t_s)``, ``update(pose)`` and ``done``.
        step_s: simulated time per step, s.
        max_duration_s: give up after this much simulated time.
        patient_factory: callable (PatientConfig, Generator) → patient; VirtualPatient by
            default (the training program passes its learning trainee).
    """

    def __init__(self, cfg: SimConfig, engine, step_s: float = 0.1,
                 max_duration_s: float = 3600.0, patient_factory=VirtualPatient) -> None:
        self.cfg = cfg
        root = np.random.SeedSequence([cfg.seed, 0x7E57])
        self.patient = patient_factory(cfg.patient, np.random.default_rng(root))
        self.device = SimulatedHeadset(cfg, self.patient)
        #: Where step() reads device items from: the headset, or a stand-in with the same
        #: ``advance(until_s)`` (a rescore replays a recording through it).
        self.items_from: ItemSource = self.device
        self.pipeline = Pipeline(make_decoder(self.device.protocol))
        self.engine = engine
        self.step_s = step_s
        self.max_duration_s = max_duration_s
        self.t_s = 0.0
        self.started = False
        self.item_log: list | None = None
        #: Callables ``observer(session, step_result)`` run after every step (recording, LSL).
        self.step_observers: list = []
        self._bias_applied = None

    def step(self) -> StepResult:
        """Advance one step of simulated time."""
        self.t_s = round(self.t_s + self.step_s, 9)
        items = self.items_from.advance(self.t_s)
        if self.item_log is not None:
            self.item_log.extend(items)
        pose = self.pipeline.process(items)
        prompts = []
        if not self.started and len(pose):
            self.started = True
            prompts = self.engine.start(float(pose.t_s[-1]))
        elif self.started:
            prompts = self.engine.update(pose)
            check = getattr(self.engine, "check_signal", None)
            if check is not None and not len(pose):
                check(self.t_s)  # no sample this step: a lost signal pauses the test
        if getattr(self.engine, "calibration", None) is not None and self.pipeline.calibration is None:
            self.pipeline.calibration = self.engine.calibration
        bias = getattr(self.engine, "gyro_bias_update", None)
        if bias is not None and bias is not self._bias_applied:
            self.pipeline.set_gyro_bias(bias)
            self._bias_applied = bias
        for prompt in prompts:
            self.patient.on_prompt(prompt, self.t_s)
        result = StepResult(self.t_s, pose, prompts, items)
        for observer in self.step_observers:
            observer(self, result)
        return result

    def run(self) -> None:
        """Run until the engine is done (or max_duration_s)."""
        while not self.engine.done and self.t_s < self.max_duration_s:
            self.step()
        if not self.engine.done:
            raise RuntimeError(f"the test did not finish within {self.max_duration_s:.0f} s of simulated time")


def true_trial_errors(device: SimulatedHeadset, trial: dict) -> dict[str, float] | None:
    """The ground-truth error of a trial over the frames its windows used.

    The truth is the mean true head orientation over the frames (by counter) of the reference
    and relocation windows; the error is their relative rotation in head axes, decomposed as
    the measurement is.
    """
    if "ref_window" not in trial:
        return None
    truth = device.truth
    ref = truth.between(trial["ref_window"]["seq_first"], trial["ref_window"]["seq_last"])
    ret = truth.between(trial["ret_window"]["seq_first"], trial["ret_window"]["seq_last"])
    q_err = quat.relative(quat.mean(ref.q_world_head), quat.mean(ret.q_world_head))
    angles = kinematics.head_angles_deg(q_err)
    return {k: float(angles[k]) for k in ("axial", "flexion", "lateral", "global")}
