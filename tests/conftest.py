"""Shared test set-up: offscreen Qt, an isolated user data folder, and the test data folder."""

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
DATA = REPO / "tests" / "data"


@pytest.fixture
def repo_dir() -> Path:
    """The repository root (tests cannot import each other under importlib mode)."""
    return REPO


@pytest.fixture
def data_dir() -> Path:
    """tests/data: real recordings and captures kept in the repository, each with its licence."""
    return DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own CERVITRACK_HOME so no test touches the user's data."""
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path / "cervitrack-home"))
