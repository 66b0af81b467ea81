"""A training session with a real device source (``--device serial:…``, ``ble:…``,
``replay:…``): the person wears the sensor, reads the prompts and answers the questions on the
command line. Uses the device sources (:mod:`cervitrack.trainer.live.devices`) when they are
installed; otherwise says so in one line.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.signal.samples import SampleBatch, concat
from cervitrack.trainer.live.pipeline import Pipeline
from cervitrack.trainer.training import cli_flow
from cervitrack.trainer.training.session import TrainingSession

QUIET = {"trial_recorded", "estimate", "rate_symptoms", "stop", "done"}  # the end is said by _finish


@dataclass
class OpenedDevice:
    """A device source whose polling has started: ``polls`` continues ``source.polls()``."""

    source: Any  # a device source from cervitrack.trainer.live.devices (duck-typed)
    polls: Iterator

    def close(self) -> None:
        self.source.close()


def open_device(spec: str, seed=None, protocol: str | None = None, baud: int | None = None):
    """Open a device source by its spec (real time); ValueError when device sources are not
    installed (:mod:`cervitrack.trainer.live.devices`). ``protocol`` and ``baud`` as for
    ``cervitrack stream``."""
    try:
        devices = importlib.import_module("cervitrack.trainer.live.devices")
    except ImportError:
        raise ValueError(f"device {spec!r}: device sources are not available in this build; "
                         "use --device sim") from None
    if protocol is not None:
        make_decoder(protocol)  # a bad protocol name is reported before opening a device
    source = devices.open_device(spec, speed=1.0, seed=seed, protocol=protocol, baud=baud)
    # Live transports open the port when polling starts: poll once now, so that a missing
    # device is reported before the questions, and keep that poll's items.
    polls = source.polls()
    try:
        first = next(polls)
    except StopIteration:
        first = []
    except BaseException:
        source.close()
        raise
    return OpenedDevice(source, itertools.chain([first], polls))


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


def run_device_session(device: OpenedDevice, engine: TrainingSession, ask, say, on_prompt=None) -> bool:
    """Run ``engine`` on the device until done; False if the stream ended first.

    ``on_prompt(prompt)`` is called for every prompt (audio cues; the tests' virtual person).
    """
    source = device.source
    pipeline = Pipeline(make_decoder(source.protocol)) if source.protocol else None
    if pipeline is None:
        raise ValueError("this device source delivers no decodable stream")
    started = False
    bias_applied = None

    def emit(prompts):
        for p in prompts:
            if p.kind not in QUIET:
                say(p.text)
            if on_prompt is not None:
                on_prompt(p)

    for items in device.polls:
        for pose in _poses(pipeline, items):
            if len(pose) == 0:
                continue
            if not started:
                prompts, started = engine.start(float(pose.t_s[-1])), True
            else:
                prompts = engine.update(pose)
            if engine.calibration is not None and pipeline.calibration is None:
                pipeline.calibration = engine.calibration
            if engine.gyro_bias_update is not None and engine.gyro_bias_update is not bias_applied:
                pipeline.set_gyro_bias(engine.gyro_bias_update)
                bias_applied = engine.gyro_bias_update
            emit(prompts)
            question = engine.question
            if question:
                value = cli_flow.ask_rating(ask) if question == "rate_symptoms" else cli_flow.ask_estimate(ask)
                emit(engine.answer(float(pose.t_s[-1]), question, value))
        if engine.done:
            return True
    return engine.done
