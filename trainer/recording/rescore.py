"""Re-run a recorded test on its recording: the replay must give exactly the live scores.

:func:`replay_test` rebuilds the test engine from the recording's header (``test.settings``),
and drives :class:`~cervitrack.trainer.simulation.runner.SimSession`'s own step loop with the recorded
pipeline steps as the device (and no virtual patient: the recorded stream already holds the
patient's movements). Manual marks, the one input the stream does not hold, are recorded as
events and given back after the same step. The pipeline and the engine are deterministic, so
every pose, event, trial and score equals the live run's.
"""

from __future__ import annotations

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.signal.stillness import StillnessParams
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.live.pipeline import Pipeline
from cervitrack.trainer.simulation.runner import SimSession


class _RecordedDevice:
    """Stands in for the simulated headset: each ``advance`` returns the next recorded step."""

    def __init__(self, source) -> None:
        self.protocol = source.protocol
        self._polls = source.polls()
        self.exhausted = False

    def advance(self, until_s: float) -> list:
        try:
            return next(self._polls)
        except StopIteration:
            self.exhausted = True
            return []


class _NoPatient:
    """The recorded stream already holds the patient's reactions; prompts go nowhere."""

    def on_prompt(self, prompt, t_s: float) -> None:
        pass


def recorded_preset(test: dict):
    """The :class:`~cervitrack.trainer.clinical.presets.Preset` a clinical test recording was made
    with (settings table included), or None for other recordings."""
    if not test or not test.get("preset"):
        return None
    from pathlib import Path

    from cervitrack.trainer.clinical import presets as protocols
    return protocols.Preset(**{**test["preset"], "path": Path(test["preset"]["path"])})


def engine_from_metadata(test: dict):
    """The recorded test's engine: from its preset and overrides for a clinical test
    (``cervitrack test``), else a JPE engine with the recorded settings (``cervitrack demo``)."""
    preset = recorded_preset(test)
    if preset is not None:
        from cervitrack.trainer.clinical import presets as protocols
        return protocols.build_engine(preset, float(test.get("rate_hz") or 100.0),
                                      test.get("overrides") or None)
    return jpe_from_metadata(test)


def jpe_from_metadata(test: dict) -> JpeTest:
    """A JPE engine with the recorded settings (defaults for keys not recorded)."""
    if not test or not str(test.get("name", "")).startswith("jpe"):
        raise ValueError("the recording holds no JPE test (record one with "
                         "`cervitrack demo --record PATH`)")
    raw = dict(test.get("settings") or {})
    known = {f.name for f in JpeSettings.__dataclass_fields__.values()}
    kwargs = {k: v for k, v in raw.items() if k in known}
    if "directions" in kwargs:
        kwargs["directions"] = tuple(kwargs["directions"])
    if isinstance(kwargs.get("stillness"), dict):
        kwargs["stillness"] = StillnessParams(**kwargs["stillness"])
    return JpeTest(JpeSettings(**kwargs), rate_hz=float(test.get("rate_hz") or 100.0))


def replay_test(source, engine=None, observers=()) -> SimSession:
    """Run the recorded test from ``source`` (a :class:`~.replay.ReplaySource`).

    Recorded manual marks are given to the engine after the step they followed live.
    Returns the session after the last recorded step (``session.engine`` holds the trials and
    scores; ``session.engine.done`` is False if the recording stops before the test ended).
    """
    meta = source.metadata
    engine = engine if engine is not None else engine_from_metadata(meta.get("test"))
    marks = sorted((int(e["after_step"]), float(e["t_s"])) for e in source.events
                   if e.get("kind") == "mark" and e.get("input") == "manual"
                   and "after_step" in e)
    if not source.protocol:
        raise ValueError("the recording holds no raw device stream to replay")
    step_s = float((meta.get("settings") or {}).get("step_s") or 0.1)
    session = SimSession(load_config(None), engine, step_s=step_s)
    # The same step loop, fed by the recording instead of the simulator.
    recorded = _RecordedDevice(source)
    session.items_from = recorded
    session.patient = _NoPatient()
    if session.pipeline.decoder.name != source.protocol:
        session.pipeline = Pipeline(make_decoder(source.protocol))
    session.step_observers.extend(observers)
    steps = 0
    while not session.engine.done:
        session.step()
        steps += 1
        while marks and marks[0][0] == steps:
            session.engine.mark(marks.pop(0)[1])
        if recorded.exhausted:
            break
    return session
