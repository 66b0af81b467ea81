"""The sessions store: SQLite in the data folder, WAL, owner-only files, versioned schema."""

import json
import sqlite3
import stat

import pytest

from cervitrack.trainer.cli import main
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.stores import sessions as store_mod
from cervitrack.trainer.stores.sessions import SCHEMA_VERSION, Store


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_lives_in_the_data_folder_with_owner_only_permissions():
    with Store() as s:
        assert s.path == data_dir() / "sessions.sqlite3"
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        s.ensure_patient("P-001")
        s.add_session("sim", "P-001")
        wal, shm = s.path.with_name(s.path.name + "-wal"), s.path.with_name(s.path.name + "-shm")
        assert wal.exists() and shm.exists()
        assert {_mode(p) for p in (s.path, wal, shm)} == {0o600}
    assert _mode(data_dir()) == 0o700


def test_patients_sessions_tests_and_trials_round_trip():
    with Store() as s:
        s.ensure_patient("P-001", name="Ann Example", birth_year=1970)
        sid = s.add_session("sim", "P-001", {"name": "OHT-sim"}, {"quality": {"score": 90.0}})
        trials = [{"direction": "flexion", "valid": True, "signed_error_deg": 1.5},
                  {"direction": "flexion", "valid": False, "reason": "gap", "x": float("nan")}]
        tid = s.add_test(sid, "jpe", "jpe", {"trials_per_direction": 2},
                         {"directions": {"flexion": {"ae_deg": 1.5}}}, {"test": "jpe"}, trials)
        s.set_raw_trace(sid, "/data/rec/session.oht")
        rid = s.add_recording(sid, "/data/rec/session.oht", "oht", {"frames": 10})
        assert s.patient("P-001") == {"id": "P-001", "name": "Ann Example", "birth_year": 1970,
                                      "created_utc": s.patient("P-001")["created_utc"]}
        sess = s.sessions("P-001")
        assert [x["id"] for x in sess] == [sid] and sess[0]["tests"] == [{"id": tid, "kind": "jpe", "preset": "jpe", "aborted": None}]
        assert sess[0]["raw_trace_path"] == "/data/rec/session.oht"
        assert sess[0]["software_version"] and sess[0]["device_info"] == {"name": "OHT-sim"}
        test = s.tests(sid)[0]
        assert test["trials"][0]["signed_error_deg"] == 1.5 and test["trials"][1]["x"] is None
        assert s.history("P-001", "jpe")[0]["scores"]["directions"]["flexion"]["ae_deg"] == 1.5
        assert s.recordings(sid)[0]["id"] == rid and s.recordings(sid)[0]["meta"] == {"frames": 10}
        assert s.sessions("someone-else") == []


def test_bad_patient_input_is_refused():
    with Store() as s:
        with pytest.raises(ValueError, match="patient id"):
            s.ensure_patient("  ")
        with pytest.raises(ValueError, match="birth year"):
            s.ensure_patient("P-2", birth_year=1200)


def test_a_version_1_database_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    with store_mod.transaction(db):
        store_mod.MIGRATIONS[0](db)
        db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO patients(id, created_utc) VALUES ('P-old', '2025-01-01T00:00:00+00:00')")
    db.execute("INSERT INTO sessions(patient_id, started_utc, device, software_version) "
               "VALUES ('P-old', '2025-01-01T00:00:00+00:00', 'sim', '0.0.1')")
    db.close()
    with Store(path) as s:
        assert s.previous_version == 1
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        old = s.sessions("P-old")
        assert len(old) == 1 and old[0]["software_version"] == "0.0.1" and old[0]["raw_trace_path"] is None
        assert old[0]["simulated"] is True  # a 'sim' device session is marked simulated by the migration
        assert s.sessions("P-old", simulated=False) == []
        s.set_raw_trace(old[0]["id"], "/x.oht")
        s.add_recording(old[0]["id"], "/x.oht")
        assert s.session(old[0]["id"])["raw_trace_path"] == "/x.oht"


def test_a_failed_migration_leaves_the_database_unchanged(tmp_path, monkeypatch):
    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr(store_mod, "MIGRATIONS", (store_mod.MIGRATIONS[0], broken))
    path = tmp_path / "s.sqlite3"
    with pytest.raises(OSError, match="disk full"):
        Store(path)
    # All steps run in one transaction: a new file stays empty, never half migrated.
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(OSError, match="newer than this"):
        Store(path)


def test_storing_and_listing_open_no_network_socket(monkeypatch, capsys):
    import socket

    from cervitrack.trainer.cli import main

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_socket)
    with Store() as s:
        s.ensure_patient("P-net")
        s.add_test(s.add_session("sim", "P-net"), "jpe", "jpe", {}, {}, {}, [])
    assert main(["sessions", "--simulated", "--json"]) == 0
    assert '"patient_id": "P-net"' in capsys.readouterr().out


def test_simulated_sessions_are_kept_apart_and_patients_are_searchable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path))
    with Store() as s:
        s.ensure_patient("P-real", name="Ada Real")
        s.ensure_patient("P-virtual")
        real = s.add_session("serial:/dev/ttyUSB0", "P-real")
        sim = s.add_session("sim", "P-virtual")
        assert [p["id"] for p in s.patients("ada")] == ["P-real"]
        assert [p["id"] for p in s.patients("")] == ["P-real", "P-virtual"]
        assert [x["id"] for x in s.sessions(simulated=False)] == [real]
        assert [x["id"] for x in s.sessions(simulated=True)] == [sim]
        assert s.session(sim)["simulated"] and not s.session(real)["simulated"]
    assert main(["sessions", "--json"]) == 0
    assert [x["id"] for x in json.loads(capsys.readouterr().out)] == [real]
    assert main(["sessions", "--simulated", "--json"]) == 0
    assert [x["id"] for x in json.loads(capsys.readouterr().out)] == [sim]
    assert main(["sessions"]) == 0
    assert "1 simulated session not listed" in capsys.readouterr().out
