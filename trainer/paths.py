"""Where Cervitrack keeps user data: ``$CERVITRACK_HOME`` or the platform's user data dir.

The folder is created with mode 0700 (owner only): it holds health data.
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
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    return path


#: The patient id used when none is given, by the tests (sessions store) and the training
#: program alike: it says that no identity was recorded.
DEFAULT_PATIENT = "anonymous"
