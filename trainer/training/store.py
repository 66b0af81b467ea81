"""The training history in SQLite: plans, screenings, sessions, trials, ratings, diary.

One file, ``training.db`` in the data dir (:func:`cervitrack.trainer.paths.data_dir`; the
simulation writes ``training-sim.db`` beside it so it never mixes with real history).
Conventions: WAL journal (a crash never corrupts the history), the file created with mode 0600
(health data, owner only; SQLite gives the WAL and shared-memory files the same mode), and a
versioned schema (``PRAGMA user_version``; a newer file than this code knows is refused with a
clear error rather than misread).

Dates are ISO dates (``YYYY-MM-DD``) of the day trained; ``day`` is the program day (1 = first).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.stores.sqlite_file import StoreError, open_database
from cervitrack.trainer.training.plan import Plan, plan_from_dict

SCHEMA_VERSION = 2
#: ``PRAGMA application_id`` of a training history ("CVTT").
APPLICATION_ID = 0x43565454
__all__ = ["StoreError", "TrainingStore", "default_path"]
DB_NAME = "training.db"
SIM_DB_NAME = "training-sim.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id INTEGER PRIMARY KEY, patient TEXT NOT NULL, date TEXT NOT NULL, source TEXT NOT NULL,
    plan_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS screenings (
    id INTEGER PRIMARY KEY, patient TEXT NOT NULL, date TEXT NOT NULL, kind TEXT NOT NULL,
    positive INTEGER NOT NULL, flags_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, patient TEXT NOT NULL, date TEXT NOT NULL, day INTEGER NOT NULL,
    level INTEGER NOT NULL, level_next INTEGER NOT NULL, level_reason TEXT NOT NULL,
    mode TEXT NOT NULL, stopped INTEGER NOT NULL, reason TEXT,
    pain_before INTEGER NOT NULL, pain_after INTEGER NOT NULL, max_pain_rise INTEGER NOT NULL,
    dizziness_max INTEGER NOT NULL, ae_deg REAL, n_trials INTEGER NOT NULL,
    estimate_agreement REAL, summary_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    session_id INTEGER NOT NULL REFERENCES sessions(id), block INTEGER NOT NULL,
    idx INTEGER NOT NULL, direction TEXT NOT NULL, task TEXT NOT NULL, vision TEXT NOT NULL,
    amplitude_deg REAL NOT NULL, valid INTEGER NOT NULL, signed_error_deg REAL,
    abs_error_deg REAL, global_error_deg REAL, actual TEXT, estimate TEXT, kr INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
    session_id INTEGER NOT NULL REFERENCES sessions(id), block INTEGER NOT NULL,
    pain_nrs INTEGER NOT NULL, dizziness_nrs INTEGER NOT NULL, nausea INTEGER NOT NULL,
    red_flags_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS diary (
    patient TEXT NOT NULL, date TEXT NOT NULL, headache_nrs INTEGER NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (patient, date));
CREATE INDEX IF NOT EXISTS sessions_patient_date ON sessions(patient, date);
"""
#: Version 2: the stops (a positive safety check, no training today, a stopped session) with
#: their reason, so a relaunch the same day shows the stop instead of offering training again.
_SCHEMA_2 = """
CREATE TABLE stops (
    id INTEGER PRIMARY KEY, patient TEXT NOT NULL, date TEXT NOT NULL, kind TEXT NOT NULL,
    reason TEXT NOT NULL, flags_json TEXT NOT NULL, detail_json TEXT NOT NULL);
CREATE INDEX stops_patient_date ON stops(patient, date);
"""


def _migrate(db: sqlite3.Connection, version: int) -> None:
    """Create the schema in a new file, or bring an older one up to date (inside
    open_database's transaction): version 1 → 2 adds the stops."""
    script = (_SCHEMA if version == 0 else "") + (_SCHEMA_2 if version < 2 else "")
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def default_path(simulation: bool = False) -> Path:
    return data_dir() / (SIM_DB_NAME if simulation else DB_NAME)


class TrainingStore:
    """Open (creating if needed) a training history file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.db, _ = open_database(self.path, APPLICATION_ID, "training history", _migrate,
                                   SCHEMA_VERSION, marker_table="plans")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ plans
    def save_plan(self, plan: Plan, date: str, source: str) -> None:
        """Store a new version of the patient's plan (``source``: who set it and how)."""
        with self.db:
            self.db.execute("INSERT INTO plans (patient, date, source, plan_json) VALUES (?, ?, ?, ?)",
                            (plan.patient, date, source, json.dumps(plan.as_dict())))

    def plan(self, patient: str) -> Plan | None:
        row = self.db.execute("SELECT plan_json FROM plans WHERE patient = ? ORDER BY id DESC LIMIT 1",
                              (patient,)).fetchone()
        return None if row is None else plan_from_dict(json.loads(row[0]))

    def plan_history(self, patient: str) -> list[dict]:
        rows = self.db.execute("SELECT date, source, plan_json FROM plans WHERE patient = ? ORDER BY id",
                               (patient,)).fetchall()
        return [{"date": d, "source": s, "plan": json.loads(p)} for d, s, p in rows]

    # ------------------------------------------------------------------ screening
    def save_screening(self, patient: str, date: str, kind: str, positive: bool, flags) -> None:
        with self.db:
            self.db.execute("INSERT INTO screenings (patient, date, kind, positive, flags_json) VALUES (?, ?, ?, ?, ?)",
                            (patient, date, kind, int(positive), json.dumps(list(flags))))

    def first_run_screening(self, patient: str) -> dict | None:
        """The latest first-run screen, or None if never done."""
        row = self.db.execute("SELECT date, positive, flags_json FROM screenings WHERE patient = ? AND kind = "
                              "'first_run' ORDER BY id DESC LIMIT 1", (patient,)).fetchone()
        return None if row is None else {"date": row[0], "positive": bool(row[1]), "flags": json.loads(row[2])}

    # ------------------------------------------------------------------ stops
    def save_stop(self, patient: str, date: str, kind: str, reason: str, flags=(), detail: dict | None = None) -> None:
        """Record a stop: ``kind`` "first_run" or "daily" (a positive safety check),
        "readiness" (no training today) or "session" (a stopped session); ``reason`` its key
        (the symptom rule's reason, or "screen"); ``flags`` the questions answered yes."""
        with self.db:
            self.db.execute("INSERT INTO stops (patient, date, kind, reason, flags_json, detail_json) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (patient, date, kind, reason, json.dumps(list(flags)), json.dumps(detail or {})))

    def stops(self, patient: str, date: str | None = None) -> list[dict]:
        """The patient's stops (of one ``date`` if given), oldest first."""
        sql = "SELECT date, kind, reason, flags_json, detail_json FROM stops WHERE patient = ?"
        args: tuple = (patient,)
        if date is not None:
            sql, args = sql + " AND date = ?", (patient, date)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [{"date": d, "kind": k, "reason": r, "flags": json.loads(f), "detail": json.loads(x)}
                for d, k, r, f, x in rows]

    # ------------------------------------------------------------------ sessions
    def save_session(self, patient: str, date: str, day: int, record: dict, trials=(), ratings=()) -> int:
        """Store a session record (see simulate/day records), its trials and ratings."""
        with self.db:
            cur = self.db.execute(
                "INSERT INTO sessions (patient, date, day, level, level_next, level_reason, mode, stopped, "
                "reason, pain_before, pain_after, max_pain_rise, dizziness_max, ae_deg, n_trials, "
                "estimate_agreement, summary_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (patient, date, day, record["level"], record["level_next"], record["level_reason"],
                 record["mode"], int(record["stopped"]), record.get("reason"), record["pain_before"],
                 record["pain_after"], record["max_pain_rise_nrs"], record["dizziness_max"],
                 record.get("ae_deg"), record["n_trials"], record.get("estimate_agreement"),
                 json.dumps(record)))
            sid = cur.lastrowid
            assert sid is not None, "set by the INSERT"
            self.db.executemany(
                "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(sid, t["block"], t["index"], t["direction"], t["task"], t["vision"], t["amplitude_deg"],
                  int(t["valid"]), t.get("signed_error_deg"), t.get("abs_error_deg"),
                  t.get("error_deg", {}).get("global"), t.get("actual"), t.get("estimate"), int(t["kr"]))
                 for t in trials])
            self.db.executemany(
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                [(sid, b, r.pain_nrs, r.dizziness_nrs, int(r.nausea), json.dumps(list(r.red_flags)))
                 for b, r in ratings])
        return sid

    def update_session_level(self, session_id: int, record: dict) -> None:
        """Set the level decision of a stored session (decided after storing it)."""
        with self.db:
            self.db.execute("UPDATE sessions SET level_next = ?, level_reason = ?, summary_json = ? WHERE id = ?",
                            (record["level_next"], record["level_reason"], json.dumps(record), session_id))

    def sessions(self, patient: str) -> list[dict]:
        """The patient's session records, oldest first."""
        rows = self.db.execute("SELECT id, date, day, summary_json FROM sessions WHERE patient = ? ORDER BY date, id",
                               (patient,)).fetchall()
        return [{**json.loads(s), "id": i, "date": d, "day": day} for i, d, day, s in rows]

    def trials(self, patient: str) -> list[dict]:
        """All relocation trials with their session's date and day, oldest first."""
        rows = self.db.execute(
            "SELECT t.session_id, s.date, s.day, s.level, t.direction, t.task, t.vision, t.valid, t.abs_error_deg, "
            "t.signed_error_deg FROM trials t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.patient = ? ORDER BY s.date, s.id, t.block, t.idx", (patient,)).fetchall()
        keys = ("session_id", "date", "day", "level", "direction", "task", "vision", "valid", "abs_error_deg",
                "signed_error_deg")
        return [dict(zip(keys, r)) for r in rows]

    def delete_patient(self, patient: str) -> None:
        """Remove every record of a patient (used to restart a simulation)."""
        with self.db:
            for table in ("trials", "ratings"):
                self.db.execute(f"DELETE FROM {table} WHERE session_id IN "
                                "(SELECT id FROM sessions WHERE patient = ?)", (patient,))
            for table in ("sessions", "plans", "screenings", "diary", "stops"):
                self.db.execute(f"DELETE FROM {table} WHERE patient = ?", (patient,))

    # ------------------------------------------------------------------ diary
    def save_diary(self, patient: str, date: str, headache_nrs: int, note: str = "") -> None:
        """Record (or replace) the day's headache intensity, 0-10 (0: no headache)."""
        if isinstance(headache_nrs, bool) or not isinstance(headache_nrs, int) or not 0 <= headache_nrs <= 10:
            raise ValueError(f"headache intensity must be a whole number from 0 to 10, got {headache_nrs!r}")
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO diary VALUES (?, ?, ?, ?)", (patient, date, headache_nrs, note))

    def diary(self, patient: str) -> list[dict]:
        rows = self.db.execute("SELECT date, headache_nrs, note FROM diary WHERE patient = ? ORDER BY date",
                               (patient,)).fetchall()
        return [{"date": d, "headache_nrs": h, "note": n} for d, h, n in rows]
