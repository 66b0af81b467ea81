"""Shared test set-up: offscreen Qt, and the path to ../shared reference data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
