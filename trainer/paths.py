"""Where Cervitrack keeps user data: ``$CERVITRACK_HOME`` or the platform's user data dir.

The folder is created with mode 0700 (owner only): it holds health data. An existing folder
(``CERVITRACK_HOME`` may name a shared one) keeps its mode: we never change what we did not
create.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "cervitrack"


def data_dir(create: bool = True) -> Path:
    """The user data directory; created with mode 0700 when ``create``."""
    env = os.environ.get("CERVITRACK_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP_NAME, False))
    if create:
        make_private_dir(path)
    return path


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700; existing folders keep their mode."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by a concurrent process
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask


#: The patient id used when none is given, by the tests (sessions store) and the training
#: program alike: it says that no identity was recorded.
DEFAULT_PATIENT = "anonymous"
def read_text(path: str | Path, what: str = "file") -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped).

    Every failure is one ValueError naming the file: ``FILE: not found``, ``FILE: not UTF-8
    text (byte N)``, ``FILE: <the system's reason>``. ``what`` says what the file is meant to be
    (``"plan file"``), for the message.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{what} {path} not found") from None
    except IsADirectoryError:
        raise ValueError(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise ValueError(f"{what} {path} cannot be read: {(exc.strerror or str(exc)).lower()}") from None
    return decode_text(data, path)


def decode_text(data: bytes, path: str | Path) -> str:
    """``data`` decoded as UTF-8 (BOM dropped); ValueError ``FILE: not UTF-8 text (byte N)``."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def open_private(path: str | Path, mode: str = "w", **kwargs):
    """Open ``path`` for writing; a file we create is created 0600 (owner only), a file that
    exists keeps its mode (we never change the mode of what we did not create). ``mode`` is
    "w", "wb", "a" or "ab"; other arguments go to :func:`open` (encoding, newline)."""
    if mode not in ("w", "wb", "a", "ab"):
        raise ValueError(f"open_private: mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``, created 0600 when new; returns the path."""
    with open_private(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return Path(path)


def write_private_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, created 0600 when new; returns the path."""
    with open_private(path, "wb") as fh:
        fh.write(data)
    return Path(path)
