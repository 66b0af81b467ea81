"""A test's result document kept beside the sessions store, written before the store is touched.

A test a person has just performed must not be lost because the sessions store is damaged,
locked or on a full disk. :func:`save_result_file` writes the result document as JSON to
``<data dir>/results/<UTC stamp>-<kind>-<patient>.json`` (file 0600, a folder we create 0700)
*before* the store is written; when storing then fails, the command prints the results, says
where this file is and prints the store's one-line error.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path

from cervitrack.trainer.paths import data_dir, make_private_dir
from cervitrack.trainer.stores.sessions import plain


def results_dir() -> Path:
    """``<data dir>/results`` (created 0700 when missing)."""
    folder = data_dir() / "results"
    make_private_dir(folder)
    return folder


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-.")[:40] or "x"


def save_result_file(doc: dict, kind: str, patient: str, now: _dt.datetime | None = None) -> Path:
    """Write ``doc`` (plain JSON data: numbers, strings, lists, dicts) to a new private file in
    :func:`results_dir`; return its path. Never overwrites: a name taken already gets ``-2``,
    ``-3``... ``now`` is the time to stamp (default the current UTC time)."""
    stamp = (now or _dt.datetime.now(_dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    folder = results_dir()
    text = json.dumps(plain(doc), indent=1, allow_nan=False, default=str) + "\n"
    base = f"{stamp}-{_slug(kind)}-{_slug(patient)}"
    for n in range(1, 1000):
        path = folder / (f"{base}.json" if n == 1 else f"{base}-{n}.json")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path
    raise OSError(f"{folder}: no free name for {base}.json")


def unstored_message(path: Path, error: BaseException) -> str:
    """The lines said when the store failed after the result file was written."""
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return (f"cervitrack: the results above are NOT in the sessions store; they are saved in "
            f"{path}\ncervitrack: error: {first}")
