"""What the installed Cervitrack can run: optional drills whose engines live elsewhere.

Butterfly tracking is scored by the clinical tests' tracking engine
(:class:`cervitrack.trainer.clinical.butterfly.ButterflyTest`, issue 5). The training program includes
the tracking block only when that engine is importable, so the program runs either way (the
block is left out and the session lists it under ``skipped_blocks``).
"""

from __future__ import annotations

import importlib

#: A tracking repetition in a training session: one run at the patient's level, s (shorter
#: than the test's 20 s: practice, not assessment; a design choice).
TRACKING_DURATION_S = 15.0


def tracking_factory():
    """A callable (calibration, level, rate_hz) → tracking engine, or None when unavailable."""
    try:
        module = importlib.import_module("cervitrack.trainer.clinical.butterfly")
    except ImportError:
        return None
    test_cls = getattr(module, "ButterflyTest", None)
    settings_cls = getattr(module, "ButterflySettings", None)
    if test_cls is None or settings_cls is None:
        return None

    def make(calibration, level: str, rate_hz: float):
        settings = settings_cls(levels=(level,), repetitions=1, duration_s=TRACKING_DURATION_S)
        return test_cls(settings, rate_hz=rate_hz, calibration=calibration)

    return make


def available_blocks(blocks) -> tuple[str, ...]:
    """``blocks`` without the ones this installation cannot run."""
    return tuple(b for b in blocks if b != "tracking" or tracking_factory() is not None)
