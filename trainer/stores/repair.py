"""Check a damaged SQLite store and recover what it holds into a new file.

:func:`check` runs SQLite's ``integrity_check`` and ``foreign_key_check`` read-only.
:func:`recover` copies every row SQLite can still read into a new database with the same schema,
table by table; where a whole-table read fails on a damaged page it falls back to reading rows
one ``rowid`` at a time, skipping the rows on damaged pages. The damaged file is opened
read-only and never modified. (Python's ``sqlite3`` has no ``.recover``; the ``sqlite3`` shell's
``.recover`` reads even deeper damage but is not installed with Python on every platform.)
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

#: How many missing rowids in a row end the row-by-row read of a table.
MAX_ROWID_RUN_MISSING = 1000


@dataclass
class Recovery:
    """What :func:`recover` read: rows per table, and rows lost on damaged pages."""

    target: Path
    rows: dict = field(default_factory=dict)
    lost: dict = field(default_factory=dict)


def check(path: Path) -> list[str]:
    """SQLite's findings on ``path`` (``["ok"]`` when intact); read-only."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = [str(r[0]) for r in db.execute("PRAGMA integrity_check")]
            fk = db.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    if fk:
        found = [f for f in found if f != "ok"] + [f"{len(fk)} row(s) break a foreign key"]
    return found or ["ok"]


def _schema(src: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows = src.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                       "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid").fetchall()
    return [(str(t), str(n), str(s)) for t, n, s in rows]


def _rows_by_rowid(src, table: str):
    """Rows of ``table`` read one rowid at a time (damaged pages raise and are skipped)."""
    rowid, missing, lost = 0, 0, 0
    while missing < MAX_ROWID_RUN_MISSING:
        rowid += 1
        try:
            row = src.execute(f'SELECT * FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            lost += 1
            missing += 1
            continue
        if row is None:
            missing += 1
            continue
        missing = 0
        yield row
    return lost


def recover(path: Path, target: Path, pragmas: dict[str, int]) -> Recovery:
    """Copy what can be read from ``path`` into the new file ``target`` (created 0600; it must
    not exist). ``pragmas`` (``user_version``, ``application_id``) are set on the new file."""
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose another --out")
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        schema = _schema(src)
    except sqlite3.DatabaseError as exc:
        raise OSError(f"{path}: SQLite cannot read even the schema ({exc}); nothing to "
                      "recover with Python's sqlite3 (try the sqlite3 shell's .recover)") from None
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    out = sqlite3.connect(target, isolation_level=None)
    result = Recovery(target)
    try:
        out.execute("BEGIN")
        for kind, _name, sql in schema:
            if kind == "table":
                out.execute(sql)
        for kind, name, _sql in schema:
            if kind != "table":
                continue
            try:
                rows = src.execute(f'SELECT * FROM "{name}"').fetchall()
                lost = 0
            except sqlite3.DatabaseError:
                gen = _rows_by_rowid(src, name)
                rows = []
                while True:
                    try:
                        rows.append(next(gen))
                    except StopIteration as stop:
                        lost = stop.value or 0
                        break
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                out.executemany(f'INSERT OR IGNORE INTO "{name}" VALUES ({marks})', rows)
            result.rows[name], result.lost[name] = len(rows), lost
        for kind, _name, sql in schema:
            if kind != "table":
                out.execute(sql)
        for key, value in pragmas.items():
            out.execute(f"PRAGMA {key} = {int(value)}")
        out.execute("COMMIT")
    finally:
        out.close()
        src.close()
    return result
