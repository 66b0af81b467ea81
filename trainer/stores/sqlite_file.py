"""Opening Cervitrack's SQLite files safely: ours only, private, concurrent-safe, damage named.

One concept: a connection to one of *our* databases. :func:`open_database`

- creates a new file 0600 (and a missing folder 0700) and never changes the mode of a file or
  folder it did not create;
- refuses another program's SQLite file (a database with tables but without our
  ``PRAGMA application_id``) instead of adding tables to it;
- is safe against concurrent first use: the connection waits on a busy database
  (``timeout``), switching to WAL is retried while another process holds the lock, and the schema
  is created or migrated inside ``BEGIN IMMEDIATE`` after re-reading the version, so two
  processes starting at once on a new data folder never both create the tables;
- turns damage (``sqlite3.DatabaseError``) into :class:`StoreDamaged`: one line naming the file,
  the first line of SQLite's integrity check, and the path of a backup copy made of the damaged
  file (the original is never modified).
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from cervitrack.trainer.paths import make_private_dir

#: Seconds a connection waits for a lock held by another process.
BUSY_TIMEOUT_S = 10.0


class StoreError(OSError):
    """A database file cannot be used; the message says why, in one line."""


class StoreDamaged(StoreError):
    """The database file is damaged (SQLite reported corruption).

    Attributes:
        path: the damaged file.
        backup: a copy of it made before anything else was tried, or None.
        integrity: the first line of ``PRAGMA integrity_check`` (or why it could not run).
    """

    def __init__(self, path: Path, backup: Path | None, integrity: str) -> None:
        self.path, self.backup, self.integrity = path, backup, integrity
        where = f"; a copy is at {backup}" if backup else ""
        super().__init__(f"{path} is damaged (SQLite: {integrity}){where}; run "
                         f"`cervitrack store repair` to recover what it holds into a new file")


def integrity_line(path: Path) -> str:
    """The first line of SQLite's ``PRAGMA integrity_check`` on ``path`` (read-only)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            row = db.execute("PRAGMA integrity_check").fetchone()
            return str(row[0]) if row else "no answer"
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)


def backup_copy(path: Path) -> Path | None:
    """Copy a damaged file (and its WAL) beside it as ``NAME.damaged-YYYYmmddTHHMMSS``, 0600."""
    stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        for src, dst in ((path, target), (Path(f"{path}-wal"), Path(f"{target}-wal"))):
            if src.exists() and not dst.exists():
                fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                    shutil.copyfileobj(inp, out)
        return target
    except OSError:
        return None


def damaged(path: Path) -> StoreDamaged:
    """The :class:`StoreDamaged` error for ``path``, with its backup copy made."""
    return StoreDamaged(path, backup_copy(path), integrity_line(path))


def as_store_error(exc: sqlite3.DatabaseError, path: Path, kind: str) -> StoreError:
    """The one-line :class:`StoreError` for a SQLite error on our file: corruption becomes
    :class:`StoreDamaged` (with a backup copy), anything else names SQLite's reason."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in text or "busy" in text:
            return StoreError(f"{path}: the {kind} stayed locked by another program for "
                              f"{BUSY_TIMEOUT_S:.0f} s")
        return StoreError(f"{path}: the {kind} cannot be used ({text})")
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError,
                        sqlite3.InterfaceError)):
        return StoreError(f"{path}: {text}")
    return damaged(path)


def _retry_busy(action: Callable[[], object], deadline_s: float):
    """Run ``action``, retrying while SQLite says the database is locked or busy."""
    delay = 0.01
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline_s:
                raise
            time.sleep(delay)
            delay = min(0.2, delay * 2)


def open_database(path: Path, application_id: int, kind: str,
                  migrate: Callable[[sqlite3.Connection, int], None], schema_version: int,
                  marker_table: str,
                  isolation_level: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None = None
                  ) -> tuple[sqlite3.Connection, int]:
    """A connection to our database at ``path``, created and migrated if needed, and the
    schema version the file had before (0 for a new file).

    Args:
        path: the database file.
        application_id: our 32-bit ``PRAGMA application_id`` for this kind of file.
        kind: what the file is, for messages ("sessions database", "training history").
        migrate: ``migrate(db, version)`` brings the schema from ``version`` to
            ``schema_version``; called inside ``BEGIN IMMEDIATE`` (it must not commit).
        schema_version: the version this Cervitrack writes.
        marker_table: a table every version of this file has (recognises files written
            before the application id was set).
        isolation_level: passed to :func:`sqlite3.connect`.

    Raises:
        StoreError: not our file, a newer schema, or the file cannot be opened.
        StoreDamaged: SQLite reports the file damaged.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a {kind}")
    make_private_dir(path.parent)
    created = False
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        created = True
    except FileExistsError:
        pass
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=isolation_level)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the {kind} ({exc})") from None
    try:
        app_id, version, tables = _identify(db, deadline)
        if app_id not in (0, application_id) or (app_id == 0 and tables
                                                 and marker_table not in tables):
            raise StoreError(f"{path} is not a Cervitrack {kind} (another program's SQLite "
                             f"file?); it was left untouched")
        if version > schema_version:
            raise StoreError(f"{path} has schema version {version}, newer than this Cervitrack "
                             f"reads ({schema_version}): update Cervitrack")
        _retry_busy(lambda: db.execute("PRAGMA journal_mode = WAL"), deadline)
        db.execute("PRAGMA foreign_keys = ON")
        if version < schema_version or app_id == 0:
            _retry_busy(lambda: db.execute("BEGIN IMMEDIATE"), deadline)
            try:
                current = db.execute("PRAGMA user_version").fetchone()[0]  # re-read under lock
                if current < schema_version:
                    migrate(db, current)
                    db.execute(f"PRAGMA user_version = {schema_version}")
                db.execute(f"PRAGMA application_id = {application_id}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
    except StoreError:
        db.close()
        raise
    except sqlite3.DatabaseError as exc:
        db.close()
        raise as_store_error(exc, path, kind) from None
    if created:
        for p in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            if p.exists():
                os.chmod(p, 0o600)
    return db, version


def _identify(db: sqlite3.Connection, deadline: float) -> tuple[int, int, list[str]]:
    """(application_id, user_version, table names) of an open database."""
    def read():
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return app_id, version, tables
    return _retry_busy(read, deadline)
