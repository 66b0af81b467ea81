"""The static checks (ruff and mypy, `.ci/static`) find nothing.

This is how CI runs them: `.ci/run` runs the README's test command, and this test runs the checks
once, with the ruff and mypy of the environment running pytest (the `test` extra installs them).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_ruff_and_mypy_report_nothing(repo_dir):
    env = os.environ | {"CERVITRACK_VENV_BIN": str(Path(sys.executable).parent)}
    run = subprocess.run(["bash", str(repo_dir / ".ci" / "static")], capture_output=True,
                         text=True, env=env, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All checks passed!" in run.stdout
    assert "Success: no issues found" in run.stdout
