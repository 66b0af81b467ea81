"""On a bare Linux, a missing xcb library is named in one line instead of Qt aborting.

Seen on a fresh machine: ``cervitrack app`` with a display aborted inside Qt ("xcb-cursor0 or
libxcb-cursor0 is needed to load the Qt xcb platform plugin"; libxcb-icccm4 and libxcb-keysyms1
were missing too).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cervitrack.trainer.gui import system_libs


def test_the_check_applies_to_x11_only():
    assert system_libs.uses_xcb({"DISPLAY": ":0"}, "linux")
    assert not system_libs.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not system_libs.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert system_libs.uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not system_libs.uses_xcb({"DISPLAY": ":0"}, "darwin")


def test_missing_libraries_are_named_by_their_packages():
    present = {"xcb-image", "xcb-render-util", "xcb-shape", "xcb-xkb", "xkbcommon-x11", "EGL",
               "fontconfig"}

    def find(name):
        return f"lib{name}.so" if name in present else None

    assert system_libs.missing_packages(find) == ["libxcb-cursor0", "libxcb-icccm4",
                                                  "libxcb-keysyms1"]
    try:
        system_libs.require_window_libraries({"DISPLAY": ":0"}, "linux", find)
    except ValueError as exc:
        message = str(exc)
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message
    system_libs.require_window_libraries({"DISPLAY": ":0"}, "linux", lambda n: "lib.so")


def test_the_app_says_it_in_one_line_and_exits_2(tmp_path):
    """The installed command, with a display and a library hidden: one line, no Qt abort."""
    script = (
        "import ctypes.util, sys\n"
        "real = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda n: None if n == 'xcb-cursor' else real(n) or 'x'\n"
        "from cervitrack.trainer.cli import main\n"
        "sys.exit(main(['app', '--device', 'sim']))\n")
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":99", "CERVITRACK_HOME": str(tmp_path),
           "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "libxcb-cursor0" in lines[0]
    assert Path(tmp_path).is_dir()
