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
