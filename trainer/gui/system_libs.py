"""The system libraries Qt's X11 (xcb) platform plugin needs, checked before Qt starts.

PySide6's wheels bring Qt itself but not these X11 helper libraries; on a bare Linux (a fresh
Debian or Ubuntu, a container) Qt then aborts the whole process with a C++ message when the
first window opens. Cervitrack checks first and says, in one line, which packages to install.
Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

#: Library name (as ``ctypes.util.find_library`` takes it) → the Debian/Ubuntu package holding
#: it. From Qt's "Qt for X11 Requirements" page and ``ldd`` of PySide6's libqxcb.so.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-shape": "libxcb-shape0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "EGL": "libegl1",
    "fontconfig": "libfontconfig1",
}


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will open windows through the X11 (xcb) plugin here."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0] == "xcb"
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def missing_packages(find=ctypes.util.find_library) -> list[str]:
    """The Debian/Ubuntu packages of the xcb libraries that cannot be found, in table order."""
    return [package for name, package in XCB_LIBRARIES.items() if find(name) is None]


def require_window_libraries(environ=os.environ, platform: str = sys.platform,
                             find=ctypes.util.find_library) -> None:
    """Raise ValueError naming the packages to install when Qt's xcb plugin would abort."""
    if not uses_xcb(environ, platform):
        return
    missing = missing_packages(find)
    if missing:
        raise ValueError("Qt cannot open a window: system libraries are missing (Debian/Ubuntu: "
                         f"sudo apt-get install {' '.join(missing)}; see docs/walkthrough.md)")
