"""A training session with a real device source (``--device serial:…``, ``ble:…``,
``replay:…``): the person wears the sensor, reads the prompts and answers the questions on the
command line. Uses the device sources (:mod:`cervitrack.trainer.devices`) when they are
installed; otherwise says so in one line.
"""

from __future__ import annotations

import importlib

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.samples import SampleBatch, concat
from cervitrack.trainer.pipeline import Pipeline
from cervitrack.trainer.training import cli_flow
from cervitrack.trainer.training.session import TrainingSession

QUIET = {"trial_recorded", "estimate", "rate_symptoms"}


def open_device(spec: str, seed=None):
    """Open a device source by its spec (real time); ValueError when device sources are not
    installed (:mod:`cervitrack.trainer.devices`)."""
    try:
        devices = importlib.import_module("cervitrack.trainer.devices")
    except ImportError:
        raise ValueError(f"device {spec!r}: device sources are not available in this build; "
                         "use --device sim") from None
    return devices.open_device(spec, speed=1.0, seed=seed)


def _poses(pipeline: Pipeline, items):
    """Pose batches for one poll: byte chunks and gaps through the decoder, sample batches
    (sources without raw bytes) straight into the chain."""
    poses = []
    raw = [i for i in items if not isinstance(i, SampleBatch)]
    if raw:
        poses.append(pipeline.process(raw))
    batches = [i for i in items if isinstance(i, SampleBatch)]
    if batches:
        poses.append(pipeline.process_samples(concat(batches)))
    return poses


def run_device_session(source, engine: TrainingSession, ask, say) -> bool:
    """Run ``engine`` on ``source`` until done; False if the source ended first."""
    pipeline = Pipeline(make_decoder(source.protocol)) if source.protocol else None
    if pipeline is None:
        raise ValueError("this device source delivers no decodable stream")
    started = False
    for items in source.polls():
        for pose in _poses(pipeline, items):
            if len(pose) == 0:
                continue
            if not started:
                prompts, started = engine.start(float(pose.t_s[-1])), True
            else:
                prompts = engine.update(pose)
            if engine.calibration is not None and pipeline.calibration is None:
                pipeline.calibration = engine.calibration
            if engine.gyro_bias_update is not None:
                pipeline.set_gyro_bias(engine.gyro_bias_update)
            for p in prompts:
                if p.kind not in QUIET:
                    say(f"[{p.kind}] {p.text}")
            question = engine.question
            if question:
                value = cli_flow.ask_rating(ask) if question == "rate_symptoms" else cli_flow.ask_estimate(ask)
                for p in engine.answer(float(pose.t_s[-1]), question, value):
                    if p.kind not in QUIET:
                        say(f"[{p.kind}] {p.text}")
        if engine.done:
            return True
    return engine.done
