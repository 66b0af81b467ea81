"""Device profiles: the data a BLE or serial transport needs to talk to each device family.

Everything here comes from the manufacturers' documents cited per device in docs/devices/ (section numbers below). UUIDs
are always full 128-bit strings, lower case: bleak expands 16-bit UUIDs with the Bluetooth SIG
base ``…-0000-1000-8000-00805f9b34fb``, which does **not** match WitMotion's
``…-00805f9a34fb`` base (WitMotion's BLE 5.0 protocol manual (WT901BLECL)).

A :class:`BleProfile` lists its start and stop commands as :class:`GattWrite` items: bytes to
write to a characteristic, in order, after notifications on ``notify_uuid`` are enabled (Movella
DOT requires notify first, Movella DOT BLE Services Specification; MetaWear enables the CCCD first, MbientLab MetaWear-SDK-Cpp unit tests). A :class:`SerialProfile`
gives a serial protocol's default line settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cervitrack.firmware_bridge.protocols.reference import CMD_START, CMD_STOP, encode_command


@dataclass(frozen=True)
class GattWrite:
    """One command: ``data`` written to characteristic ``char_uuid`` (128-bit, lower case)."""

    char_uuid: str
    data: bytes
    with_response: bool = False


@dataclass(frozen=True)
class BleProfile:
    """How to recognise, start and stop one BLE device family.

    Attributes:
        key: profile name (``witmotion-ble``, ``movella-dot``, ``metamotion``, ``oht-nus``...).
        protocol: the decoder name (``--protocol``) for the notified bytes.
        service_uuid, notify_uuid, write_uuid: full 128-bit UUIDs, lower case.
        start: commands to send after enabling notifications, in order.
        stop: commands that stop streaming, in order.
        name_patterns: regular expressions matched (``re.search``, case-insensitive) against the
            advertised name to recognise the device.
        nominal_rate_hz: the rate the start commands select (or the factory default).
        notes: caveats, with **[UNVERIFIED]** where the reference marks them so.
    """

    key: str
    protocol: str
    service_uuid: str
    notify_uuid: str
    write_uuid: str
    start: tuple[GattWrite, ...]
    stop: tuple[GattWrite, ...]
    name_patterns: tuple[str, ...]
    nominal_rate_hz: float
    notes: str = ""

    def matches_name(self, name: str | None) -> bool:
        """True when the advertised ``name`` matches one of :attr:`name_patterns`."""
        if not name:
            return False
        return any(re.search(p, name, re.IGNORECASE) for p in self.name_patterns)


@dataclass(frozen=True)
class SerialProfile:
    """Default line settings for a serial protocol.

    Attributes:
        protocol: the decoder name.
        baud: default baud rate (8N1).
        rtscts: hardware flow control.
        notes: caveats.
    """

    protocol: str
    baud: int
    rtscts: bool = False
    notes: str = ""


def _witmotion(short: str) -> str:
    return f"0000{short}-0000-1000-8000-00805f9a34fb"


def _dot(short: str) -> str:
    return f"1517{short}-4947-11e9-8646-d663bd873d93"


def _mbient(short: str) -> str:
    return f"326a{short}-85cb-9195-d9dd-464cfbbae75a"


def _nus(short: str) -> str:
    return f"6e40{short}-b5a3-f393-e0a9-e50e24dcca9e"


# WitMotion BLE 5.0 (WitMotion's BLE 5.0 protocol manual (WT901BLECL)): streams 0x61 packets as soon as notifications are enabled.
WITMOTION_SERVICE = _witmotion("ffe5")
WITMOTION_NOTIFY = _witmotion("ffe4")
WITMOTION_WRITE = _witmotion("ffe9")
#: Optional WitMotion commands (WitMotion's serial protocol manual (WIT standard protocol); WitMotion's BLE 5.0 protocol manual (WT901BLECL)), 5 bytes each, no checksum, written to FFE9.
WITMOTION_COMMANDS = {
    "unlock": bytes.fromhex("FFAA6988B5"),
    "save": bytes.fromhex("FFAA000000"),
    "rate_100hz": bytes.fromhex("FFAA030900"),
    "six_axis": bytes.fromhex("FFAA240100"),
    "add_quaternion": bytes.fromhex("FFAA021E02"),
    "poll_quaternion": bytes.fromhex("FFAA275100"),
    "poll_mag": bytes.fromhex("FFAA273A00"),
    "poll_temperature": bytes.fromhex("FFAA274000"),
    "poll_battery": bytes.fromhex("FFAA276400"),
}

# Movella DOT (Movella DOT BLE Services Specification).
DOT_CONTROL = _dot("1002")
DOT_MEASUREMENT = _dot("2001")
DOT_LONG_PAYLOAD = _dot("2002")
DOT_MEDIUM_PAYLOAD = _dot("2003")
DOT_SHORT_PAYLOAD = _dot("2004")
DOT_SERVICE = _dot("2000")
#: Payload mode → notify characteristic. Modes 3 (medium) and 5 (short) are stated in Movella DOT BLE Services Specification; the
#: others are chosen by their size (short 20 B, medium 40 B) **[UNVERIFIED]**.
DOT_MODE_CHARACTERISTIC = {
    2: DOT_MEDIUM_PAYLOAD, 3: DOT_MEDIUM_PAYLOAD, 4: DOT_SHORT_PAYLOAD, 5: DOT_SHORT_PAYLOAD,
    7: DOT_MEDIUM_PAYLOAD, 16: DOT_MEDIUM_PAYLOAD,
    # Custom Mode 5 (44 B) on the long payload: shiven01/movella-dot logs/movella_multi_sensor.log
    # @ a292163fe78bcb80ec463be5119fa823916e80d0 ("subscribed to long payload notifications").
    26: DOT_LONG_PAYLOAD,
}

# MetaMotion R/RL/C, BMI160 (MbientLab MetaWear-SDK-Cpp unit tests): NDOF quaternion stream, bytes from the SDK unit tests.
METAWEAR_SERVICE = _mbient("9000")
METAWEAR_COMMAND = _mbient("9001")
METAWEAR_NOTIFY = _mbient("9006")
METAWEAR_START_NDOF = tuple(bytes.fromhex(h) for h in (
    "19020113", "0303280C", "13032800", "1504040E", "150306", "190701",
    "03020100", "13020100", "15020100", "030101", "130101", "150101", "19030800", "190101"))
METAWEAR_STOP = tuple(bytes.fromhex(h) for h in (
    "190100", "1903007F", "030100", "130100", "150100", "03020001", "13020001", "15020001",
    "190700"))
#: IMU_PLUS (mode 2, no magnetometer): the NDOF sequence with mode byte 2 and without the
#: magnetometer (0x15) lines. Derived from MbientLab MetaWear-SDK-Cpp unit tests, not an SDK test vector.
METAWEAR_START_IMU_PLUS = (bytes.fromhex("19020213"),) + tuple(
    c for c in METAWEAR_START_NDOF[1:] if c[0] != 0x15)
METAWEAR_STOP_IMU_PLUS = tuple(c for c in METAWEAR_STOP if c[0] != 0x15)
#: Ask the board for a 7.5 ms connection interval (min = max = 0x0006, latency 0, 6 s timeout):
#: the ``11 09`` settings command of MbientLab MetaWear-SDK-Cpp unit tests. Optional: write it before the start sequence.
METAWEAR_CONN_7_5MS = bytes.fromhex("1109060006000000" "5802")

# OHT/1 over the Nordic UART Service (Nordic UART Service documentation; docs/devices/oht-headset.md).
NUS_SERVICE = _nus("0001")
NUS_RX_WRITE = _nus("0002")
NUS_TX_NOTIFY = _nus("0003")


def _writes(char_uuid: str, commands) -> tuple[GattWrite, ...]:
    return tuple(GattWrite(char_uuid, c) for c in commands)


def movella_dot_profile(mode: int = 5) -> BleProfile:
    """The Movella DOT profile for payload ``mode`` (its notify characteristic and commands)."""
    if mode not in DOT_MODE_CHARACTERISTIC:
        raise ValueError(f"unsupported Movella DOT payload mode {mode}")
    return BleProfile(
        key="movella-dot" if mode == 5 else f"movella-dot-mode{mode}",
        protocol="movella-dot" if mode == 5 else f"movella-dot:{mode}",
        service_uuid=DOT_SERVICE,
        notify_uuid=DOT_MODE_CHARACTERISTIC[mode],
        write_uuid=DOT_MEASUREMENT,
        start=(GattWrite(DOT_MEASUREMENT, bytes([0x01, 0x01, mode]), with_response=True),),
        stop=(GattWrite(DOT_MEASUREMENT, bytes([0x01, 0x00, mode]), with_response=True),),
        name_patterns=(r"^(Movella|Xsens) DOT",),
        nominal_rate_hz=60.0,
        notes="Enable notifications before writing the start command. Output rate (control "
              "characteristic 1002 bytes 24-25) cannot change while measuring; live rate <= 60 "
              "Hz. Medium payloads need MTU >= 43. The measurement-service UUID 15172000 is "
              "inferred from the characteristic numbering [UNVERIFIED].",
    )


BLE_PROFILES: dict[str, BleProfile] = {p.key: p for p in (
    BleProfile(
        key="witmotion-ble",
        protocol="witmotion-ble",
        service_uuid=WITMOTION_SERVICE,
        notify_uuid=WITMOTION_NOTIFY,
        write_uuid=WITMOTION_WRITE,
        start=(),
        stop=(),
        name_patterns=(r"^WT", r"^BWT"),
        nominal_rate_hz=10.0,
        notes="Streams as soon as notifications are enabled (factory rate 10 Hz); set 100 Hz "
              "with unlock + rate_100hz + save (WITMOTION_COMMANDS). Some firmwares swap the "
              "FFE4/FFE9 roles, and some dual-mode units use the 49535343 transparent-UART "
              "service [UNVERIFIED]. Advertised names (WT901BLE..., WT9011...) [UNVERIFIED].",
    ),
    movella_dot_profile(5),
    BleProfile(
        key="metamotion",
        protocol="metawear",
        service_uuid=METAWEAR_SERVICE,
        notify_uuid=METAWEAR_NOTIFY,
        write_uuid=METAWEAR_COMMAND,
        start=_writes(METAWEAR_COMMAND, METAWEAR_START_NDOF),
        stop=_writes(METAWEAR_COMMAND, METAWEAR_STOP),
        name_patterns=(r"^MetaWear", r"^MetaMotion", r"^MMS?\b", r"^MMRL?\b", r"^MMC\b"),
        nominal_rate_hz=100.0,
        notes="NDOF quaternion stream for MetaMotion R/RL/C (BMI160), bytes from the SDK unit "
              "tests. MetaMotion S (BMI270) needs different acc/gyro config bytes "
              "[UNVERIFIED]. Reset (FE 01) before configuring if macros were persisted. "
              "Advertised names other than 'MetaWear' [UNVERIFIED].",
    ),
    BleProfile(
        key="metamotion-imu-plus",
        protocol="metawear",
        service_uuid=METAWEAR_SERVICE,
        notify_uuid=METAWEAR_NOTIFY,
        write_uuid=METAWEAR_COMMAND,
        start=_writes(METAWEAR_COMMAND, METAWEAR_START_IMU_PLUS),
        stop=_writes(METAWEAR_COMMAND, METAWEAR_STOP_IMU_PLUS),
        name_patterns=(),
        nominal_rate_hz=100.0,
        notes="IMU_PLUS (6-axis, preferred indoors): derived from the NDOF sequence per "
              "MbientLab MetaWear-SDK-Cpp unit tests (mode byte 2, magnetometer lines omitted). Chosen "
              "explicitly, never by name.",
    ),
    BleProfile(
        key="oht-nus",
        protocol="reference",
        service_uuid=NUS_SERVICE,
        notify_uuid=NUS_TX_NOTIFY,
        write_uuid=NUS_RX_WRITE,
        start=(GattWrite(NUS_RX_WRITE, encode_command(CMD_START, 0)),),
        stop=(GattWrite(NUS_RX_WRITE, encode_command(CMD_STOP, 0)),),
        name_patterns=(r"^OHT-",),
        nominal_rate_hz=100.0,
        notes="OHT/1 frames unchanged over the Nordic UART Service; several frames per "
              "notification. Start/stop are OHT/1 command frames 0x80/0x81 (seq 0).",
    ),
)}

SERIAL_PROFILES: dict[str, SerialProfile] = {p.protocol: p for p in (
    SerialProfile("reference", 115200,
                  notes="Native-USB boards ignore the baud rate; opening the port may reset "
                        "the board (boot text first)."),
    SerialProfile("reference-text", 115200),
    SerialProfile("witmotion-serial", 115200,
                  notes="Many units ship at 9600, which carries only ~87 frames/s in total: "
                        "switch to 115200 (FF AA 04 06 00) for 100 Hz."),
    SerialProfile("bno08x-rvc", 115200, notes="Fixed 100 Hz, no host commands (PS0=1, PS1=0)."),
    SerialProfile("hatire", 115200, rtscts=True,
                  notes="opentrack's default uses hardware flow control."),
    SerialProfile("text", 115200,
                  notes="bno055-quaternion sketches use 9600 and Razor AHRS 57600 "
                        "(see TextFormat.baud of each preset)."),
)}


def ble_profile(key: str) -> BleProfile:
    """The BLE profile named ``key``; ValueError naming the choices when unknown."""
    try:
        return BLE_PROFILES[key]
    except KeyError:
        raise ValueError(f"unknown BLE profile {key!r}; choose one of: "
                         f"{', '.join(sorted(BLE_PROFILES))}") from None


def profile_for_name(name: str | None) -> BleProfile | None:
    """The profile whose name patterns match an advertised device name, or None."""
    for profile in BLE_PROFILES.values():
        if profile.matches_name(name):
            return profile
    return None


def profile_for_service(service_uuids) -> BleProfile | None:
    """The first profile whose service UUID is among the advertised ``service_uuids``."""
    advertised = {str(u).lower() for u in service_uuids or ()}
    for profile in BLE_PROFILES.values():
        if profile.service_uuid in advertised:
            return profile
    return None


def serial_profile(protocol: str) -> SerialProfile:
    """Serial defaults for ``protocol`` (``NAME:OPTION`` suffix ignored); ValueError if none."""
    base = protocol.partition(":")[0]
    try:
        return SERIAL_PROFILES[base]
    except KeyError:
        raise ValueError(f"no serial defaults for protocol {base!r}; known: "
                         f"{', '.join(sorted(SERIAL_PROFILES))}") from None
