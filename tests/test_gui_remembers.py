"""The application remembers, between runs, the real device used last (with its protocol) and
the settings; never the simulator. Driven by clicks and typing, against the emulated opentrack
sender on UDP 127.0.0.1 (`cervitrack emulate`), with a second window as the next day's start.
"""

import json
import shutil
import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets  # the pinned binding, before pyqtgraph

from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.gui.application import make_window
from cervitrack.trainer.stores.app_state import (
    load_state,
    remember_device,
    save_settings,
    state_path,
)

LEFT = QtCore.Qt.MouseButton.LeftButton
CERVITRACK = shutil.which("cervitrack", path=str(Path(sys.executable).parent)) or "cervitrack"


def start(qtbot):
    window = make_window(player=RecordingOutput(), save_calibrations=False)  # remembered settings
    qtbot.addWidget(window)
    window.resize(1100, 800)
    window.show()
    return window


def close(window):
    QtWidgets.QApplication.sendEvent(window, QtGui.QCloseEvent())


def test_the_next_start_offers_the_last_device_and_keeps_the_settings(qtbot, person, udp_sender):
    spec = f"udp:{udp_sender()}"
    # First run: nothing chosen; the person types the device and picks its protocol.
    window = start(qtbot)
    combo = person.find(window, QtWidgets.QComboBox, "device_choice")
    assert combo.currentText() == "Choose a device…"
    protocol = window.device_view.protocol
    qtbot.keyClicks(protocol, "opentrack-udp")  # a closed list: typing selects the entry
    assert protocol.currentText() == "opentrack-udp"
    person.connect(window, spec)
    # Settings changed by hand: the wall at 150 cm, no spoken instructions, volume 50 %.
    person.click_tab(window, "Settings")
    distance = window.distance_spin
    qtbot.mouseClick(distance, LEFT)
    qtbot.keyClick(distance.lineEdit(), QtCore.Qt.Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(distance.lineEdit(), "150")
    qtbot.keyClick(distance.lineEdit(), QtCore.Qt.Key.Key_Return)
    voice = window.voice_check
    qtbot.mouseClick(voice, LEFT, pos=QtCore.QPoint(8, voice.height() // 2))
    slider = window.volume_slider
    qtbot.mouseClick(slider, LEFT)  # focus; then the keys a person uses
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_Home)
    for _ in range(5):
        qtbot.keyClick(slider, QtCore.Qt.Key.Key_PageUp)  # +10 % each
    assert slider.value() == 50 and not voice.isChecked() and distance.value() == 150.0
    person.click_tab(window, "Device")
    qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "connect"), LEFT)  # disconnect
    close(window)
    saved = json.loads(state_path().read_text(encoding="utf-8"))
    assert saved["devices"] == [{"spec": spec, "protocol": "opentrack-udp"}]
    assert saved["settings"]["wall_distance_cm"] == 150.0 and saved["settings"]["volume"] == 0.5
    assert oct(state_path().stat().st_mode & 0o777) == "0o600"

    # Next start: the device is offered first with its protocol; one click connects.
    window = start(qtbot)
    combo = person.find(window, QtWidgets.QComboBox, "device_choice")
    assert combo.currentText() == f"{spec} (last used)  [{spec}]"
    assert window.device_view.protocol.currentText() == "opentrack-udp"
    assert window.distance_spin.value() == 150.0 and not window.voice_check.isChecked()
    assert window.volume_slider.value() == 50 and window.audio.settings.volume == 0.5
    assert window.wall_view.distance_cm == 150.0
    person.click(person.find(window, QtWidgets.QPushButton, "connect"))  # nothing typed
    qtbot.waitUntil(lambda: window.device_view.values["state"].text().startswith("streaming"), timeout=15_000)
    assert not window.simulated_banner.isVisible()
    # The simulator, chosen by typing "sim", is used but never remembered.
    qtbot.mouseClick(person.find(window, QtWidgets.QPushButton, "connect"), LEFT)  # disconnect
    person.connect(window, "sim")
    assert window.simulated_banner.isVisible()
    close(window)
    assert [d["spec"] for d in load_state().devices] == [spec]


def test_a_damaged_or_strange_memory_file_starts_from_the_defaults(qtbot, person):
    path = state_path()
    path.write_bytes(b"\xff{ not json")
    window = start(qtbot)
    assert person.find(window, QtWidgets.QComboBox, "device_choice").currentText() == "Choose a device…"
    assert "damaged" in window.statusBar().currentMessage()
    assert window.distance_spin.value() == 90.0
    close(window)
    # Values of the wrong type or out of range, and the simulator, are ignored.
    path.write_text(json.dumps({"devices": [{"spec": "sim"}, {"spec": 5}, {"spec": "serial:/dev/ttyUSB0"}],
                                "settings": {"volume": 7.0, "wall_distance_cm": "far", "blind": 1,
                                             "trail_s": 2.5, "unknown": True}}))
    state = load_state()
    assert state.devices == [{"spec": "serial:/dev/ttyUSB0", "protocol": ""}]
    assert state.settings == {"trail_s": 2.5} and state.problem == ""


def test_the_list_keeps_the_five_newest_real_devices_newest_first():
    for n in range(7):
        remember_device(f"udp:{5000 + n}", "opentrack-udp")
    remember_device("udp:5003", "opentrack-udp")
    remember_device("sim")
    assert [d["spec"] for d in load_state().devices] == ["udp:5003", "udp:5006", "udp:5005", "udp:5004", "udp:5002"]
    save_settings({"volume": 0.25, "follow": False, "display_hz": 30.0})
    assert load_state().settings == {"volume": 0.25, "follow": False}
