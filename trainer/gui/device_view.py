"""The device panel: choose (or scan for) a device, connect, and watch the link.

The choices are the simulator, the serial ports the system lists, UDP input and, after a BLE
scan (run in its own thread), the BLE peripherals found; any spec can also be typed. The
protocol is "automatic" (the device profile's, or OHT/1 for serial) or chosen.

Shows the link's honest state (:func:`cervitrack.trainer.gui.worker.link_state`: streaming,
stale with its age, no data, reconnecting, lost, disconnected), the measured sample rate over the
last 2 s of sample times (only while streaming), the nominal rate, frames, rejected frames, gaps, frames lost on the
link where the source knows it, the battery where the device reports it, and the age of the
newest sample (in sample time).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

RATE_WINDOW_S = 2.0


def protocol_names() -> list[str]:
    from cervitrack.firmware_bridge.protocols import DECODERS

    return sorted(DECODERS)


def measured_rate_hz(t_s: np.ndarray) -> float:
    """Samples per second over the sample times t_s (N,), NaN for fewer than 2 samples."""
    t = t_s[np.isfinite(t_s)]
    if len(t) < 2 or t[-1] <= t[0]:
        return float("nan")
    return (len(t) - 1) / float(t[-1] - t[0])


class DeviceView(QtWidgets.QWidget):
    """``connect_requested(spec)``, ``disconnect_requested()`` and ``scan_requested()`` are
    emitted by the buttons; the Scan button only exists when a scanner is given."""

    connect_requested = QtCore.Signal(str, str)
    disconnect_requested = QtCore.Signal()
    scan_requested = QtCore.Signal()

    FIELDS = (("state", "Link"), ("device", "Device"), ("rate", "Sample rate"),
              ("frames", "Frames"), ("rejected_frames", "Rejected frames"), ("gaps", "Gaps"),
              ("lost_frames", "Frames lost on the link"), ("battery", "Battery"),
              ("age", "Newest sample"))

    def __init__(self, specs, can_scan: bool = False, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        title = QtWidgets.QLabel("Device")
        title.setStyleSheet("font-size: 18px; font-weight: bold;")
        layout.addWidget(title)
        row = QtWidgets.QHBoxLayout()
        self.combo = QtWidgets.QComboBox()
        self.combo.setEditable(True)  # any spec: serial:PORT, ble:ADDRESS_OR_NAME, udp:PORT
        self.combo.setToolTip("Choose a device, or type serial:PORT, ble:ADDRESS_OR_NAME or udp:PORT")
        self.set_specs(specs)
        row.addWidget(self.combo, 1)
        row.addWidget(QtWidgets.QLabel("protocol"))
        self.protocol = QtWidgets.QComboBox()
        self.protocol.addItem("automatic", "")
        for name in protocol_names():
            self.protocol.addItem(name, name)
        row.addWidget(self.protocol)
        self.scan_button = QtWidgets.QPushButton("Scan")
        self.scan_button.clicked.connect(self.scan_requested.emit)
        self.combo.setObjectName("device_choice")
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.connect_button.setObjectName("connect")
        self.connect_button.clicked.connect(self._toggle)
        for b in (self.scan_button, self.connect_button):
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            row.addWidget(b)
        layout.addLayout(row)
        # Only once it has a parent: a parentless widget made visible is a window of its own.
        self.scan_button.setVisible(can_scan)
        box = QtWidgets.QGroupBox("Link")
        grid = QtWidgets.QGridLayout(box)
        self.values = {}
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #a00;")
        for i, (key, label) in enumerate(self.FIELDS):
            grid.addWidget(QtWidgets.QLabel(label), i, 0)
            value = QtWidgets.QLabel("–")
            value.setStyleSheet("font-weight: bold;")
            grid.addWidget(value, i, 1)
            self.values[key] = value
        grid.setColumnStretch(1, 1)
        layout.addWidget(box)
        layout.addWidget(self.message)
        help_text = QtWidgets.QLabel(
            "Wear the sensor firmly on the headband. Rejected frames failed their checksum or "
            "plausibility check; gaps are interruptions of the stream (each one is marked in "
            "the data, and a trial with a gap is redone).")
        help_text.setWordWrap(True)
        help_text.setStyleSheet("color: #555;")
        layout.addWidget(help_text)
        layout.addStretch(1)
        self.connected = False

    #: The first entry: nothing is chosen until the person chooses (never the simulator by default).
    PLACEHOLDER = "Choose a device…"

    def set_specs(self, specs) -> None:
        current = self.current_spec() if self.combo.count() else ""
        self.combo.clear()
        self.combo.addItem(self.PLACEHOLDER, "")
        for spec, label in specs:
            self.combo.addItem(f"{label}  [{spec}]", spec)
        index = self.combo.findData(current) if current else 0
        self.combo.setCurrentIndex(max(index, 0))

    def set_recent(self, devices) -> None:
        """Offer the devices used last (newest first: [{"spec", "protocol"}]) at the top of the
        list, "(last used)", and preselect the newest with its protocol; nothing connects
        until the person presses Connect."""
        for n, device in enumerate(devices):
            spec = device["spec"]
            old = self.combo.findData(spec)
            label = self.combo.itemText(old).rsplit("  [", 1)[0] if old >= 0 else spec
            if old >= 0:
                self.combo.removeItem(old)
            self.combo.insertItem(1 + n, f"{label} (last used)  [{spec}]", spec)
        if devices:
            self.combo.setCurrentIndex(1)
            index = self.protocol.findData(devices[0]["protocol"] or "")
            self.protocol.setCurrentIndex(max(index, 0))

    def select_spec(self, spec: str) -> None:
        index = self.combo.findData(spec)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def current_spec(self) -> str:
        """The chosen spec, or the typed one (text in [brackets] or the whole text); "" when
        nothing is chosen."""
        text = self.combo.currentText().strip()
        if text == self.PLACEHOLDER:
            return ""
        index = self.combo.findText(text)
        if index >= 0 and self.combo.itemData(index):
            return self.combo.itemData(index)
        if text.endswith("]") and "[" in text:
            return text[text.rindex("[") + 1:-1]
        return text

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def set_scanning(self, scanning: bool) -> None:
        self.scan_button.setEnabled(not scanning)
        self.scan_button.setText("Scanning…" if scanning else "Scan")

    def _toggle(self) -> None:
        if self.connected:
            self.disconnect_requested.emit()
        else:
            self.connect_requested.emit(self.current_spec(), self.protocol.currentData() or "")

    def set_connected(self, connected: bool) -> None:
        self.connected = connected
        self.connect_button.setText("Disconnect" if connected else "Connect")
        self.combo.setEnabled(not connected)
        self.protocol.setEnabled(not connected)

    def refresh(self, feed, count: int, force: bool = False) -> None:
        """The link's figures (the window calls it a few times a second: relayouting labels
        at the display rate would cost more than drawing the plots)."""
        from cervitrack.trainer.gui.worker import link_text

        s = feed.status
        link = s.get("link", s.get("state", "disconnected"))
        self.values["state"].setText(link_text(s))
        colour = {"streaming": "#070"}.get(link, "#a00")
        self.values["state"].setStyleSheet(f"font-weight: bold; color: {colour};")
        self.values["device"].setText(s.get("spec", "–") + (f" ({s['last_error']})" if s.get("last_error") else ""))
        t = feed.ring.channel("t_s", feed.samples_for(RATE_WINDOW_S), count)
        rate = measured_rate_hz(t) if link == "streaming" else float("nan")
        nominal = s.get("nominal_rate_hz")
        self.values["rate"].setText(("–" if not np.isfinite(rate) else f"{rate:.1f} Hz")
                                    + (f"  (nominal {nominal:g} Hz)" if nominal else ""))
        for key in ("frames", "rejected_frames", "gaps", "lost_frames"):
            self.values[key].setText(str(s[key]) if key in s else "not reported")
        battery = s.get("battery_pct")
        self.values["battery"].setText("not reported by this device" if battery is None else f"{battery:.0f} %")
        age_s = s.get("age_s", float("nan"))
        if s.get("samples") and np.isfinite(age_s):
            self.values["age"].setText(f"{age_s * 1e3:.0f} ms old" if age_s < 2 else f"{age_s:.1f} s old")
        else:
            self.values["age"].setText("no samples yet")
