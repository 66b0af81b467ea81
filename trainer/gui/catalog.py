"""The tests the application can run, each with its engine factory and its view.

Every engine follows the common interface (see :class:`cervitrack.trainer.jpe.JpeTest`):
``start(t_s)`` → prompts, ``update(pose)`` → prompts, ``done``, ``events``, ``trials`` and
``scores()``; optionally ``mark(t_s)``, ``calibration`` and ``gyro_bias_update``.

A :class:`TestSpec` names the view that shows it: ``wall`` (laser wall, relocation marks),
``butterfly`` (moving target) or ``tracing`` (pattern), and whether the eyes are closed during
trials (then the cursor is hidden during relocation and audio cues play).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cervitrack.trainer.jpe import JpeSettings, JpeTest


@dataclass(frozen=True)
class TestSpec:
    """Attributes:
        name: short name (``--test``).
        label: what the user reads.
        view: "wall", "butterfly" or "tracing".
        eyes_closed: trials are done with the eyes closed (blind cursor, audio cues).
        factory: (rate_hz, calibration or None) → engine.
    """

    name: str
    label: str
    view: str
    eyes_closed: bool
    factory: Callable


def _jpe(trials_per_direction: int = 8):
    def make(rate_hz, calibration):
        return JpeTest(JpeSettings(trials_per_direction=trials_per_direction), rate_hz=rate_hz,
                       calibration=calibration)
    return make


def calibration_engine(rate_hz: float):
    """A calibration-only run: the JPE engine's functional calibration (keep still, nod, turn)
    with no trials after it."""
    return JpeTest(JpeSettings(directions=()), rate_hz=rate_hz)


def catalog(trials_per_direction: int = 8) -> dict[str, TestSpec]:
    """The tests available in this build, by name."""
    specs = [
        TestSpec("jpe", "Joint position error: neutral head position", "wall", True,
                 _jpe(trials_per_direction)),
    ]
    return {s.name: s for s in specs}
