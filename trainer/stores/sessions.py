"""The sessions store: patients, sessions, tests and trials in SQLite (stdlib ``sqlite3``).

The database is ``<data dir>/sessions.sqlite3`` (:func:`cervitrack.trainer.paths.data_dir`;
``CERVITRACK_HOME`` relocates it). It holds health data, so the folder is 0700 and the database
and its ``-wal``/``-shm`` files 0600; it is a local file and nothing listens on the network.
Journal mode is WAL (readers do not block the writer).

Schema (version in ``PRAGMA user_version``; :data:`MIGRATIONS` brings any older file up to date,
in order, each step in one transaction):

- ``patients(id TEXT PK, name, birth_year, created_utc)``: a pseudonymous id, optional name and
  birth year;
- ``sessions(id INTEGER PK, patient_id → patients, started_utc, device, device_info JSON,
  software_version, calibration JSON, sim_config JSON, raw_trace_path, notes)``;
  ``raw_trace_path`` is the session's raw motion recording, if one was made (NULL otherwise);
- ``tests(id INTEGER PK, session_id → sessions, kind, preset, preset_title, settings JSON,
  scores JSON, result JSON, started_utc, raw_trace_path)``;
- ``trials(id INTEGER PK, test_id → tests, idx, item, valid, data JSON)``;
- ``recordings(id INTEGER PK, session_id → sessions, path, format, created_utc, meta JSON)``
  (schema 2): raw recordings attached to a session (:meth:`Store.add_recording`);
- ``sessions.simulated`` (schema 3): 1 when the session ran on the simulated headset and virtual
  patient. Simulated sessions are kept apart from real patients' (``cervitrack sessions`` lists
  them only with ``--simulated``; the report says SIMULATED).

JSON columns hold plain data (NaN is stored as null).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import sqlite3
from pathlib import Path

import cervitrack
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.stores.sqlite_file import (
    StoreDamaged,
    StoreError,
    as_store_error,
    open_database,
)

DB_NAME = "sessions.sqlite3"
#: ``PRAGMA application_id`` of a sessions database ("CVTS").
APPLICATION_ID = 0x43565453
__all__ = ["Store", "StoreDamaged", "StoreError", "plain", "to_json", "now_utc"]


def _run(db: sqlite3.Connection, script: str) -> None:
    """Execute a script statement by statement (``executescript`` would commit the open
    transaction first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _run(db, """
        CREATE TABLE IF NOT EXISTS patients (
            id TEXT PRIMARY KEY,
            name TEXT,
            birth_year INTEGER,
            created_utc TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            patient_id TEXT REFERENCES patients(id),
            started_utc TEXT NOT NULL,
            device TEXT NOT NULL,
            device_info TEXT,
            software_version TEXT NOT NULL,
            calibration TEXT,
            notes TEXT
        );
        CREATE TABLE IF NOT EXISTS tests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            preset TEXT,
            settings TEXT,
            scores TEXT,
            result TEXT,
            started_utc TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS trials (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            test_id INTEGER NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            item TEXT,
            valid INTEGER NOT NULL,
            data TEXT
        );
        CREATE INDEX IF NOT EXISTS sessions_patient ON sessions(patient_id, started_utc);
        CREATE INDEX IF NOT EXISTS tests_session ON tests(session_id);
        CREATE INDEX IF NOT EXISTS trials_test ON trials(test_id, idx);
    """)


def _v2(db: sqlite3.Connection) -> None:
    _run(db, """
        ALTER TABLE sessions ADD COLUMN raw_trace_path TEXT;
        ALTER TABLE sessions ADD COLUMN sim_config TEXT;
        ALTER TABLE tests ADD COLUMN raw_trace_path TEXT;
        ALTER TABLE tests ADD COLUMN preset_title TEXT;
        CREATE TABLE IF NOT EXISTS recordings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            format TEXT,
            created_utc TEXT NOT NULL,
            meta TEXT
        );
        CREATE INDEX IF NOT EXISTS recordings_session ON recordings(session_id);
    """)


def _v3(db: sqlite3.Connection) -> None:
    _run(db, """
        ALTER TABLE sessions ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
        UPDATE sessions SET simulated = 1 WHERE device = 'sim'
    """)


#: Ordered migrations: MIGRATIONS[k] takes a schema at version k to version k + 1.
MIGRATIONS = (_v1, _v2, _v3)
SCHEMA_VERSION = len(MIGRATIONS)


def plain(x):
    """Plain data for JSON: NaN and infinities → None, numpy scalars → Python numbers."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist"):
        return plain(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_json(x) -> str | None:
    return None if x is None else json.dumps(plain(x), allow_nan=False)


def _from_json(text):
    return None if text is None else json.loads(text)


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to :data:`SCHEMA_VERSION` (inside the caller's
    transaction: :func:`~cervitrack.trainer.stores.sqlite_file.open_database`)."""
    for v in range(version, SCHEMA_VERSION):
        MIGRATIONS[v](db)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection):
    """BEGIN … COMMIT, or ROLLBACK on an exception (the connection is in autocommit mode)."""
    db.execute("BEGIN")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _damage_named(method):
    """Turn SQLite's errors inside a store method into one-line :class:`StoreError` s
    (corruption: :class:`StoreDamaged`, with a backup copy)."""
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise as_store_error(exc, self.path, "sessions database") from None
    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


def _names_damage(cls):
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("__"):
            setattr(cls, name, _damage_named(value))
    return cls


@_names_damage
class Store:
    """The sessions database.

    Args:
        path: database file; default ``<data dir>/sessions.sqlite3``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / DB_NAME
        self.db, self.previous_version = open_database(
            self.path, APPLICATION_ID, "sessions database", migrate, SCHEMA_VERSION,
            marker_table="patients", isolation_level=None)
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ patients
    def ensure_patient(self, patient_id: str, name: str | None = None,
                       birth_year: int | None = None) -> dict:
        """The patient with this pseudonymous id, created if new (name/birth year updated when
        given)."""
        if not patient_id or not str(patient_id).strip():
            raise ValueError("the patient id must not be empty")
        if birth_year is not None and not 1900 <= int(birth_year) <= 2100:
            raise ValueError(f"birth year {birth_year} is not plausible")
        with transaction(self.db):
            self.db.execute("INSERT OR IGNORE INTO patients(id, created_utc) VALUES (?, ?)",
                            (patient_id, now_utc()))
            if name is not None:
                self.db.execute("UPDATE patients SET name = ? WHERE id = ?", (name, patient_id))
            if birth_year is not None:
                self.db.execute("UPDATE patients SET birth_year = ? WHERE id = ?",
                                (int(birth_year), patient_id))
        row = self.patient(patient_id)
        assert row is not None, "inserted above"
        return row

    def patient(self, patient_id: str) -> dict | None:
        row = self.db.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        return dict(row) if row else None

    def patients(self, search: str = "") -> list[dict]:
        """Patients whose id or name contains ``search`` (case-insensitive), by id, each with
        ``sessions``: how many sessions they have."""
        like = f"%{search.strip()}%"
        rows = self.db.execute(
            "SELECT p.*, (SELECT COUNT(*) FROM sessions s WHERE s.patient_id = p.id) AS sessions "
            "FROM patients p WHERE p.id LIKE ? OR IFNULL(p.name, '') LIKE ? ORDER BY p.id",
            (like, like)).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ sessions
    def add_session(self, device: str, patient_id: str | None = None, device_info=None,
                    calibration=None, sim_config=None, started_utc: str | None = None,
                    notes: str | None = None, simulated: bool | None = None) -> int:
        """A new session; ``simulated`` None: simulated when the device is ``sim``."""
        if simulated is None:
            simulated = device == "sim"
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT INTO sessions(patient_id, started_utc, device, device_info, "
                "software_version, calibration, sim_config, notes, simulated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (patient_id, started_utc or now_utc(), device, to_json(device_info),
                 cervitrack.__version__, to_json(calibration), to_json(sim_config), notes,
                 int(bool(simulated))))
        assert cur.lastrowid is not None, "set by the INSERT"
        return cur.lastrowid

    def set_calibration(self, session_id: int, calibration) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE sessions SET calibration = ? WHERE id = ?",
                            (to_json(calibration), session_id))

    def set_raw_trace(self, session_id: int, path: str | Path | None) -> None:
        """Attach the path of the session's raw motion recording (None clears it)."""
        with transaction(self.db):
            self.db.execute("UPDATE sessions SET raw_trace_path = ? WHERE id = ?",
                            (None if path is None else str(path), session_id))

    def add_recording(self, session_id: int, path: str | Path, fmt: str | None = None,
                      meta=None) -> int:
        """Register a raw recording of a session (the recorder's files)."""
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT INTO recordings(session_id, path, format, created_utc, meta) "
                "VALUES (?, ?, ?, ?, ?)", (session_id, str(path), fmt, now_utc(), to_json(meta)))
        assert cur.lastrowid is not None, "set by the INSERT"
        return cur.lastrowid

    def recordings(self, session_id: int) -> list[dict]:
        rows = self.db.execute("SELECT * FROM recordings WHERE session_id = ? ORDER BY id",
                               (session_id,)).fetchall()
        return [{**dict(r), "meta": _from_json(r["meta"])} for r in rows]

    def _session_row(self, row) -> dict:
        out = dict(row)
        for k in ("device_info", "calibration", "sim_config"):
            out[k] = _from_json(out.get(k))
        out["simulated"] = bool(out.get("simulated"))
        return out

    def session(self, session_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else self._session_row(row)

    def sessions(self, patient_id: str | None = None, simulated: bool | None = None) -> list[dict]:
        """Sessions, oldest first, each with ``tests``: a list of {id, kind, preset, aborted}
        (``aborted``: why the test was stopped early, None when it finished).
        ``simulated``: only simulated (True) or only real (False) sessions; None: both."""
        where: list[str] = []
        params: list[str | int] = []
        if patient_id is not None:
            where.append("patient_id = ?")
            params.append(patient_id)
        if simulated is not None:
            where.append("simulated = ?")
            params.append(int(bool(simulated)))
        rows = self.db.execute("SELECT * FROM sessions" + (" WHERE " + " AND ".join(where) if where else "")
                               + " ORDER BY started_utc, id", params).fetchall()
        out = []
        for row in rows:
            s = self._session_row(row)
            s["tests"] = [{"id": r["id"], "kind": r["kind"], "preset": r["preset"],
                           "aborted": (_from_json(r["result"]) or {}).get("aborted")}
                          for r in self.db.execute("SELECT id, kind, preset, result FROM tests "
                                                   "WHERE session_id = ? ORDER BY id", (s["id"],))]
            out.append(s)
        return out

    # ------------------------------------------------------------------ tests and trials
    def add_test(self, session_id: int, kind: str, preset: str | None, settings, scores,
                 result, trials: list[dict], preset_title: str | None = None,
                 raw_trace_path: str | None = None) -> int:
        """Store a finished test with its trials (one transaction)."""
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT INTO tests(session_id, kind, preset, preset_title, settings, scores, "
                "result, started_utc, raw_trace_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, kind, preset, preset_title, to_json(settings), to_json(scores),
                 to_json(result), now_utc(), raw_trace_path))
            assert cur.lastrowid is not None, "set by the INSERT"
            test_id = cur.lastrowid
            self.db.executemany(
                "INSERT INTO trials(test_id, idx, item, valid, data) VALUES (?, ?, ?, ?, ?)",
                [(test_id, i, tr.get("key", tr.get("direction")), int(bool(tr.get("valid"))),
                  to_json(tr)) for i, tr in enumerate(trials)])
        return test_id

    def tests(self, session_id: int) -> list[dict]:
        rows = self.db.execute("SELECT * FROM tests WHERE session_id = ? ORDER BY id",
                               (session_id,)).fetchall()
        out = []
        for r in rows:
            t = dict(r)
            for k in ("settings", "scores", "result"):
                t[k] = _from_json(t[k])
            t["trials"] = [_from_json(x["data"]) for x in self.db.execute(
                "SELECT data FROM trials WHERE test_id = ? ORDER BY idx", (t["id"],))]
            out.append(t)
        return out

    def history(self, patient_id: str, kind: str) -> list[dict]:
        """Every stored test of a kind for a patient, oldest first: {session_id, started_utc,
        test_id, preset, scores}."""
        rows = self.db.execute(
            "SELECT s.id AS session_id, s.started_utc, t.id AS test_id, t.preset, t.scores "
            "FROM tests t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.patient_id = ? AND t.kind = ? ORDER BY s.started_utc, t.id",
            (patient_id, kind)).fetchall()
        return [{**dict(r), "scores": _from_json(r["scores"])} for r in rows]

    def latest_rom(self, patient_id: str) -> dict | None:
        """The per-direction maxima (deg) of the patient's latest ROM test, or None."""
        hist = self.history(patient_id, "rom")
        if not hist:
            return None
        per = hist[-1]["scores"]["directions"]
        return {d: v["max_deg"] for d, v in per.items() if v.get("max_deg") is not None}
