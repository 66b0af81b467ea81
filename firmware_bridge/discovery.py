"""Finding devices: serial ports and a BLE scan, each with the device kind it recognises.

Serial ports are recognised from the USB vendor/product id (or, for Bluetooth SPP ports, the
description); BLE peripherals from the advertised name and service UUIDs through the device
profiles (:mod:`cervitrack.firmware_bridge.profiles`); a Nordic UART Service without a known
name is reported as such. A recognition is a hint for
``--protocol``, not a guarantee: many boards share the same USB-serial chip.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: USB (VID, PID or None for any) → (kind, protocol hint, note). Ids from the vendors' published
#: lists (WCH, Silicon Labs, FTDI, Espressif, Arduino, Adafruit).
USB_IDS: list[tuple[int, int | None, str, str | None, str]] = [
    (0x1A86, 0x7523, "usb-serial CH340", None,
     "WitMotion USB units and many Arduino clones use this chip"),
    (0x1A86, 0x55D4, "usb-serial CH9102", None, "WitMotion USB-C units and ESP32 boards"),
    (0x10C4, 0xEA60, "usb-serial CP210x", None, "ESP32 dev boards (reference firmware) and others"),
    (0x0403, None, "usb-serial FTDI", None,
     "FTDI holds bytes up to 16 ms unless low-latency mode is on (done automatically on Linux)"),
    (0x303A, None, "esp32 native USB", "reference", "the reference firmware speaks OHT/1"),
    (0x2341, None, "arduino", None, "reference firmware or a text sketch"),
    (0x239A, None, "adafruit board", None, "reference firmware or a text sketch"),
]


def recognise_serial(vid: int | None, pid: int | None, description: str = "",
                     device: str = "") -> dict:
    """Kind, protocol hint and note for a serial port (kind "unknown" when not recognised)."""
    text = f"{description} {device}".lower()
    if "bluetooth" in text or "rfcomm" in text:
        return {"kind": "bluetooth-spp", "protocol_hint": "witmotion-serial",
                "note": "Bluetooth serial port (e.g. WitMotion BWT901CL); opens slowly"}
    for v, p, kind, hint, note in USB_IDS:
        if vid == v and (p is None or pid == p):
            return {"kind": kind, "protocol_hint": hint, "note": note}
    return {"kind": "unknown", "protocol_hint": None, "note": ""}


def serial_ports(list_ports=None) -> list[dict]:
    """The serial ports the OS lists, recognised. ``list_ports``: ``serial.tools.list_ports``
    or a stand-in with ``comports()``."""
    if list_ports is None:
        from serial.tools import list_ports
    out = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        entry = {"device": port.device, "description": port.description or "",
                 "vid": port.vid, "pid": port.pid,
                 "manufacturer": getattr(port, "manufacturer", None),
                 "serial_number": getattr(port, "serial_number", None)}
        entry.update(recognise_serial(port.vid, port.pid, entry["description"], port.device))
        out.append(entry)
    return out


def recognise_ble(name: str | None, service_uuids=()) -> dict:
    """Profile key and protocol for an advertisement (None when not recognised)."""
    from cervitrack.firmware_bridge import profiles

    services = {str(u).lower() for u in service_uuids or ()}
    profile = profiles.profile_for_name(name) or profiles.profile_for_service(services)
    if profile is not None:
        return {"kind": profile.key, "protocol_hint": profile.protocol}
    if profiles.NUS_SERVICE in services:
        return {"kind": "nordic-uart", "protocol_hint": None}
    return {"kind": "unknown", "protocol_hint": None}


def ble_scan(timeout_s: float = 5.0, scanner=None) -> list[dict]:
    """Scan for BLE peripherals for ``timeout_s`` seconds, strongest signal first.

    Raises:
        LinkUnavailable: Bluetooth is off, missing or not permitted (patient-friendly message).
        LinkError: the scan failed for another reason.
    """
    from cervitrack.firmware_bridge.transports.base import LinkError, LinkUnavailable
    from cervitrack.firmware_bridge.transports.ble import LoopThread, friendly_unavailable

    if scanner is None:
        from bleak import BleakScanner as scanner
    from bleak.exc import BleakBluetoothNotAvailableError

    loop = LoopThread("cervitrack-ble-scan")
    try:
        found = loop.run(scanner.discover(timeout=timeout_s, return_adv=True), timeout_s + 10.0)
    except BleakBluetoothNotAvailableError as exc:
        raise LinkUnavailable(friendly_unavailable(exc)) from None
    except OSError as exc:  # Linux: no BlueZ / D-Bus socket; other systems: no adapter
        raise LinkError("no Bluetooth service was found on this computer "
                        f"({exc.strerror or exc})") from None
    except Exception as exc:  # backend errors (BleakError, D-Bus errors) all mean "cannot scan"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LinkError(f"Bluetooth scan failed: {reason}") from None
    finally:
        loop.stop()
    out = []
    for device, adv in found.values():
        name = adv.local_name or device.name
        entry = {"name": name, "address": device.address, "rssi_dbm": adv.rssi,
                 "service_uuids": sorted(str(u).lower() for u in adv.service_uuids)}
        entry.update(recognise_ble(name, adv.service_uuids))
        out.append(entry)
    return sorted(out, key=lambda e: -(e["rssi_dbm"] if e["rssi_dbm"] is not None else -999))
