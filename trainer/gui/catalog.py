"""The tests the application can run, each with its engine factory and its view.

Every engine follows the common interface (see :class:`cervitrack.trainer.clinical.jpe.JpeTest`):
``start(t_s)`` → prompts, ``update(pose)`` → prompts, ``done``, ``events``, ``trials`` and
``scores()``; optionally ``mark(t_s)``, ``calibration`` and ``gyro_bias_update``.

A :class:`TestSpec` names the view that shows it: ``wall`` (laser wall, relocation marks),
``butterfly`` (moving target) or ``tracing`` (pattern), and whether the eyes are closed during
trials (then the cursor is hidden during relocation and audio cues play).

When the clinical test protocols (:mod:`cervitrack.trainer.clinical.presets`) are installed, every
preset they ship (and the user's own) is offered; otherwise only the neutral-head JPE test.
Presets that need data the application does not have (a target set as a share of a stored
range of motion) are left out rather than shown and failing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest

#: Test kind → (view, eyes closed during trials).
KIND_VIEWS = {"jpe": ("wall", True), "thp": ("wall", True), "rom": ("wall", False),
              "butterfly": ("butterfly", False), "trace": ("tracing", False)}


@dataclass(frozen=True)
class TestSpec:
    """Attributes:
        name: short name (``--test``).
        label: what the user reads.
        view: "wall", "butterfly" or "tracing".
        eyes_closed: trials are done with the eyes closed (blind cursor, audio cues).
        factory: (rate_hz, calibration or None) → engine.
        kind: the test kind (jpe, thp, rom, butterfly, trace).
    """

    name: str
    label: str
    view: str
    eyes_closed: bool
    factory: Callable
    kind: str = "jpe"


def _jpe(trials_per_direction: int = 8):
    def make(rate_hz, calibration):
        return JpeTest(JpeSettings(trials_per_direction=trials_per_direction), rate_hz=rate_hz,
                       calibration=calibration)
    return make


def calibration_engine(rate_hz: float):
    """A calibration-only run: the JPE engine's functional calibration (keep still, nod, turn)
    with no trials after it."""
    return JpeTest(JpeSettings(directions=()), rate_hz=rate_hz)


def has_protocols() -> bool:
    return importlib.util.find_spec("cervitrack.trainer.clinical.presets") is not None


def _preset_specs(trials_per_direction: int) -> list[TestSpec]:
    from cervitrack.trainer.clinical import presets as protocols
    specs = []
    for preset in protocols.load_available()[0]:  # a bad user preset is skipped (app warns)
        if preset.settings.get("target_rom_share") is not None:
            continue  # needs the patient's stored range of motion
        view, eyes_closed = KIND_VIEWS.get(preset.test, (None, False))
        if view is None:
            continue
        overrides = {"trials_per_direction": trials_per_direction} if preset.test in ("jpe", "thp") else {}

        def make(rate_hz, calibration, preset=preset, overrides=overrides):
            return protocols.build_engine(preset, rate_hz, overrides, calibration)

        title = protocols.title_for(preset, protocols.settings_from_table(
            preset.test, {**preset.settings, **overrides}, f"preset {preset.name}"))
        specs.append(TestSpec(preset.name, title, view, eyes_closed, make, preset.test))
    return specs


def catalog(trials_per_direction: int = 8) -> dict[str, TestSpec]:
    """The tests available in this build, by name (``jpe`` first)."""
    if has_protocols():
        specs = _preset_specs(trials_per_direction)
        specs.sort(key=lambda s: (s.name != "jpe", list(KIND_VIEWS).index(s.kind), s.name))
    else:
        specs = [TestSpec("jpe", "Joint position error: neutral head position", "wall", True,
                          _jpe(trials_per_direction))]
    return {s.name: s for s in specs}
