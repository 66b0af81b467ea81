"""What the installed Cervitrack can run: optional drills whose engines live elsewhere.

Butterfly tracking is scored by the clinical tests' tracking engine (issue 5). The training
program includes the tracking block only when that engine is importable, so the program runs
either way (the block is left out of the plan and the session says so).
"""

from __future__ import annotations

import importlib


def tracking_engine_class():
    """The Butterfly tracking engine class, or None when it is not available."""
    try:
        module = importlib.import_module("cervitrack.trainer.tracking_test")
    except ImportError:
        return None
    return getattr(module, "TrackingTest", None)


def available_blocks(blocks) -> tuple[str, ...]:
    """``blocks`` without the ones this installation cannot run."""
    return tuple(b for b in blocks if b != "tracking" or tracking_engine_class() is not None)
