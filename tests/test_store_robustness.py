"""The stores survive damage and races, stay private, and never touch what is not theirs.

Defects covered (issue 16): a test on a sessions database with 8 KB of garbage in the middle
crashed with a sqlite3.DatabaseError traceback (``sessions`` and ``report`` too); two commands
starting at once on a new data folder failed ~15 % of the time; ``train-plan --db`` on another
program's SQLite file added our tables to it; ``--db FILE`` chmodded any existing file to 0600
before rejecting it; ``CERVITRACK_HOME`` naming an existing shared folder was chmodded to 0700.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat

import pytest

from cervitrack.trainer.cli import main
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.stores.sessions import Store, StoreDamaged, StoreError
from cervitrack.trainer.training.store import TrainingStore


def _filled_store(path, sessions=60):
    with Store(path) as s:
        s.ensure_patient("P1")
        for i in range(sessions):
            sid = s.add_session("sim", "P1", notes="x" * 300)
            s.add_test(sid, "jpe", "jpe", {"n": i}, {"ae": 1.0}, {"r": "y" * 200},
                       [{"direction": "left", "valid": True, "e": 1.0}] * 4)
    with sqlite3.connect(path) as db:  # fold the WAL into the main file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _garble_middle(path, n=8192):
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid: mid + n] = os.urandom(n)
    path.write_bytes(bytes(data))


def test_a_damaged_store_gives_one_line_a_backup_and_no_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path))
    path = _filled_store(tmp_path / "sessions.sqlite3")
    _garble_middle(path)
    before = path.read_bytes()
    assert main(["sessions", "--patient", "P1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is damaged" in err and "store repair" in err
    backups = [p for p in tmp_path.glob("sessions.sqlite3.damaged-*") if not p.name.endswith("-wal")]
    assert backups and backups[0].read_bytes() == before
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert path.read_bytes() == before  # the damaged file itself is untouched


def test_store_check_and_repair_recover_into_a_new_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path))
    path = _filled_store(tmp_path / "sessions.sqlite3")
    assert main(["store", "check"]) == 0
    _garble_middle(path)
    before = path.read_bytes()
    assert main(["store", "check"]) == 1
    assert "damaged" in capsys.readouterr().out
    assert main(["store", "repair"]) == 0
    out = capsys.readouterr().out
    assert "recovered" in out and path.read_bytes() == before
    target = tmp_path / "sessions.recovered-1.sqlite3"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with Store(target) as s:  # the recovered file is a working store
        kept = s.sessions("P1")
        assert 0 < len(kept) <= 60
        assert all(t["kind"] == "jpe" for k in kept for t in k["tests"])


def _open_store(home, barrier, results):
    os.environ["CERVITRACK_HOME"] = home
    barrier.wait()
    try:
        with Store() as s:
            s.ensure_patient(f"P{os.getpid()}")
        with TrainingStore() as t:
            t.save_diary("me", "2026-01-01", 1, "")
        results.put("ok")
    except Exception as exc:  # reported to the parent, which asserts
        results.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_first_use_of_a_new_data_folder_never_fails(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(4):
        home = str(tmp_path / f"home{attempt}")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_store, args=(home, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert sorted(results.get(timeout=5) for _ in procs) == ["ok"] * 4
        with Store(os.path.join(home, "sessions.sqlite3")) as s:
            assert len(s.db.execute("SELECT id FROM patients").fetchall()) == 4


def test_another_programs_sqlite_file_is_refused_and_left_untouched(tmp_path, capsys):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE photos (id INTEGER, name TEXT)")
    os.chmod(foreign, 0o644)
    before = foreign.read_bytes()
    for opener in (Store, TrainingStore):
        with pytest.raises(StoreError, match="not a Cervitrack"):
            opener(foreign)
    assert main(["train-plan", "show", "--db", str(foreign)]) == 2
    assert "not a Cervitrack" in capsys.readouterr().err
    assert foreign.read_bytes() == before
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o644


def test_a_new_store_is_private_an_existing_shared_folder_keeps_its_mode(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    monkeypatch.setenv("CERVITRACK_HOME", str(shared))
    with Store():
        pass
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "sessions.sqlite3").stat().st_mode) == 0o600
    fresh = tmp_path / "a" / "b"
    monkeypatch.setenv("CERVITRACK_HOME", str(fresh))
    assert data_dir() == fresh
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700


def test_store_damaged_is_an_oserror_with_the_paths():
    err = StoreDamaged(__import__("pathlib").Path("/x/s.sqlite3"), None, "malformed")
    assert isinstance(err, OSError) and "/x/s.sqlite3" in str(err)
