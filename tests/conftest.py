"""Shared test set-up: offscreen Qt, and the path to ../shared reference data."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests draw the same examples on every run (the suite replays deterministically, like
# the product); set CERVITRACK_HYPOTHESIS=explore to draw fresh examples when hunting bugs.
settings.register_profile("deterministic", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("CERVITRACK_HYPOTHESIS", "deterministic"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CERVITRACK_SHARED", REPO.parent / "shared"))


@pytest.fixture
def repo_dir() -> Path:
    """The repository root (tests cannot import each other under importlib mode)."""
    return REPO


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the repository (CI clones it there)."""
    if not SHARED.is_dir():
        pytest.fail(f"reference data folder {SHARED} is missing; set CERVITRACK_SHARED")
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own CERVITRACK_HOME so no test touches the user's data."""
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path / "cervitrack-home"))
