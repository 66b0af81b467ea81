"""Results survive a broken store (issue 16): ``cervitrack test`` writes the result document to
a private side file before it writes the sessions store; when the store then fails, the results
are printed, the side file is named and the store's one-line error follows (exit 2)."""

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

CERVITRACK = str(Path(__file__).parents[1] / ".venv" / "bin" / "cervitrack")


def run(tmp_path, *argv):
    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home")}
    return subprocess.run([CERVITRACK, *map(str, argv)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)


def test_results_of_a_test_survive_a_store_that_refuses_the_write(tmp_path):
    first = run(tmp_path, "test", "rom", "--device", "sim", "--trials", 1, "--seed", 1)
    assert first.returncode == 0, first.stderr
    results = tmp_path / "home" / "results"
    assert not list(results.glob("*.json"))  # stored: no second copy left behind
    # The store now refuses new sessions (as a full disk or a failing file would, mid-run).
    db = sqlite3.connect(tmp_path / "home" / "sessions.sqlite3")
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON sessions BEGIN "
               "SELECT RAISE(ABORT, 'database or disk is full'); END")
    db.commit()
    db.close()

    second = run(tmp_path, "test", "jpe", "--device", "sim", "--trials", 1, "--seed", 2, "--json",
                 "--patient", "p7")
    assert second.returncode == 2
    printed = json.loads(second.stdout)
    assert printed["scores"]["directions"] and "Traceback" not in second.stderr
    side = list(results.glob("*-jpe-p7.json"))
    assert len(side) == 1 and str(side[0]) in second.stderr
    assert "cervitrack: error: " in second.stderr and "disk is full" in second.stderr
    saved = json.loads(side[0].read_text())
    assert saved["scores"] == printed["scores"] and saved["patient"] == "p7"
    assert stat.S_IMODE(side[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(results.stat().st_mode) == 0o700
