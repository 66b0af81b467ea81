"""``cervitrack sys-info``: versions of everything a bug report needs."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
from typing import Any

import cervitrack

_PACKAGES = ("numpy", "scipy", "vqf", "bleak", "pyserial", "platformdirs", "pyqtgraph",
             "PySide6-Essentials", "PySide6-Addons", "pylsl")


def collect() -> dict:
    """A dict of platform, Python and dependency versions (None where not installed)."""
    info: dict[str, Any] = {
        "cervitrack": cervitrack.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {},
    }
    for name in _PACKAGES:
        try:
            info["packages"][name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info["packages"][name] = None
    try:
        import pylsl

        info["liblsl"] = pylsl.library_version()
    except Exception:  # pylsl missing or its native library absent
        info["liblsl"] = None
    try:
        from cervitrack.trainer.paths import data_dir

        info["data_dir"] = str(data_dir(create=False))
    except Exception:
        info["data_dir"] = None
    info["audio"] = _audio()
    return info


def _audio() -> dict:
    """The audio output found (each option tried, with why it failed) and the speech back end."""
    from cervitrack.trainer.audio import voice

    try:  # Qt Multimedia (optional extra) plays only inside a Qt application
        from PySide6 import QtCore, QtMultimedia  # noqa: F401

        app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication(["cervitrack"])  # noqa: F841
    except ImportError:
        pass
    return voice.describe()


def run(args) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"cervitrack {info['cervitrack']}")
    print(f"Python     {info['python']} ({info['platform']}, {info['machine']})")
    for name, version in info["packages"].items():
        print(f"{name:<19}{version or 'not installed'}")
    print(f"{'liblsl':<19}{info['liblsl'] or 'not available'}")
    print(f"{'data dir':<19}{info['data_dir']}")
    audio = info["audio"]
    print(f"{'audio output':<19}{audio['output']}")
    for line in audio["tried"]:
        print(f"{'':<19}  tried {line}")
    print(f"{'speech':<19}{audio['speech']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("sys-info", help="print versions for bug reports")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
