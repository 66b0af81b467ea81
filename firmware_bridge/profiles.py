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
import struct
from dataclasses import dataclass, replace

from cervitrack.firmware_bridge.protocols.reference import CMD_START, CMD_STOP, encode_command


@dataclass(frozen=True)
class GattWrite:
    """One command: ``data`` written to characteristic ``char_uuid`` (128-bit, lower case)."""

    char_uuid: str
    data: bytes
    with_response: bool = False


@dataclass(frozen=True)
class GattPatch:
    """A read-modify-write step: read ``char_uuid``, OR ``or_bits`` into byte 0 and replace
    the bytes at each ``(offset, bytes)`` of ``patches``, write the result back. Used for Movella
    DOT's device control characteristic, whose fields must be written together (Movella DOT
    BLE Services Specification XD0506P, device control characteristic: read-modify-write)."""

    char_uuid: str
    patches: tuple[tuple[int, bytes], ...]
    or_bits: int = 0
    with_response: bool = True
    min_length: int = 0

    def apply(self, current: bytes) -> bytes:
        """The bytes to write back, given the characteristic's ``current`` value."""
        out = bytearray(current)
        if len(out) < self.min_length:
            raise ValueError(f"characteristic {self.char_uuid} returned {len(out)} bytes, "
                             f"expected {self.min_length}")
        out[0] |= self.or_bits
        for offset, data in self.patches:
            out[offset:offset + len(data)] = data
        return bytes(out)


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
    #: Configuration steps (:class:`GattWrite` or :class:`GattPatch`) written before
    #: :attr:`start`, on every connection; empty unless :func:`configured_ble_profile` set them.
    configure: tuple = ()

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
#: WitMotion output-rate register 0x03 codes (WitMotion's serial protocol manual (WIT standard
#: protocol), REG.h RRATE_*): only the rates the manual gives; the WTVB01-BT50 manual uses
#: 0x0A for 200 Hz, so 200 Hz is model dependent and the measured rate is what counts.
WITMOTION_RATE_CODES = {10.0: 0x06, 50.0: 0x08, 100.0: 0x09, 200.0: 0x0B}
#: Output content (register 0x02, RSW bits: 0x02 acc, 0x04 gyro, 0x08 angle, 0x10 mag, 0x200
#: quaternion): what the serial decoder reads, i.e. the documented ``FF AA 02 1E 02``.
WITMOTION_RSW_DECODED = 0x021E
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


def witmotion_command(register: int, value: int) -> bytes:
    """``FF AA <reg> <lo> <hi>`` (5 bytes, no checksum; WitMotion's serial protocol manual)."""
    return bytes([0xFF, 0xAA, register]) + struct.pack("<H", value)


def witmotion_rate_code(rate_hz: float) -> int:
    """Register 0x03 code for ``rate_hz``; ValueError naming the rates the manual documents."""
    code = WITMOTION_RATE_CODES.get(float(rate_hz))
    if code is None:
        raise ValueError(f"WitMotion sensors take --rate {', '.join(f'{r:g}' for r in WITMOTION_RATE_CODES)}"
                         f" Hz, not {rate_hz:g}")
    return code


def witmotion_setup(rate_hz: float = 100.0, save: bool = False,
                    content: int | None = WITMOTION_RSW_DECODED) -> tuple[bytes, ...]:
    """The WitMotion configuration, in order: unlock, output rate, output content (serial
    only: the BLE 0x61 packet has a fixed content, ``content=None``), then save when asked.
    Without save the settings last until the sensor is switched off."""
    commands = [WITMOTION_COMMANDS["unlock"], witmotion_command(0x03, witmotion_rate_code(rate_hz))]
    if content is not None:
        commands.append(witmotion_command(0x02, content))
    if save:
        commands.append(WITMOTION_COMMANDS["save"])
    return tuple(commands)


#: Movella DOT output rates, Hz (device control bytes 24-25; 120 Hz is for recording only).
DOT_RATES_HZ = (1, 4, 10, 12, 15, 20, 30, 60)
#: Movella DOT filter profiles (device control byte 26).
DOT_FILTER_PROFILES = {"general": 0, "dynamic": 1}
#: Device control "visit index" (byte 0) bits telling the DOT which fields to apply: output
#: rate 0x10, filter profile 0x20 **[UNVERIFIED]** (bit positions recalled from the Xsens DOT
#: BLE Services Specification, not checked against the PDF; the bytes 24-26 are).
DOT_VISIT_OUTPUT_RATE = 0x10
DOT_VISIT_FILTER_PROFILE = 0x20


def dot_control_patch(rate_hz: float, filter_profile: str = "general") -> GattPatch:
    """Read-modify-write of the DOT device control characteristic (32 B): output rate (u16 LE,
    bytes 24-25) and filter profile (byte 26)."""
    if int(rate_hz) != rate_hz or int(rate_hz) not in DOT_RATES_HZ:
        raise ValueError(f"Movella DOT streams at {', '.join(map(str, DOT_RATES_HZ))} Hz, "
                         f"not {rate_hz:g}")
    if filter_profile not in DOT_FILTER_PROFILES:
        raise ValueError(f"Movella DOT filter profile must be one of "
                         f"{', '.join(DOT_FILTER_PROFILES)}, not {filter_profile!r}")
    return GattPatch(DOT_CONTROL,
                     ((24, struct.pack("<H", int(rate_hz))),
                      (26, bytes([DOT_FILTER_PROFILES[filter_profile]]))),
                     or_bits=DOT_VISIT_OUTPUT_RATE | DOT_VISIT_FILTER_PROFILE, min_length=27)


#: MetaMotion sensor fusion output rate, Hz: fixed by the Bosch fusion (MbientLab MetaWear-SDK-Cpp
#: sensor_fusion.cpp sets acc/gyro 100 Hz for NDOF and IMU_PLUS); no other rate can be chosen.
METAWEAR_FUSION_RATE_HZ = 100.0

#: Rate each configurable family is put in when no ``--rate`` is given, Hz.
DEFAULT_CONFIG_RATE_HZ = {"witmotion": 100.0, "movella-dot": 60.0, "metawear": 100.0}


def configured_ble_profile(profile: BleProfile, rate_hz: float | None = None,
                           save: bool = False, filter_profile: str = "general") -> BleProfile:
    """``profile`` with its configuration steps (written after notifications are enabled and
    before the start commands, on every connection) and the nominal rate they select."""
    steps: tuple[GattWrite | GattPatch, ...]
    if profile.protocol == "witmotion-ble":
        rate = DEFAULT_CONFIG_RATE_HZ["witmotion"] if rate_hz is None else float(rate_hz)
        steps = _writes(profile.write_uuid, witmotion_setup(rate, save, content=None))
    elif profile.protocol.startswith("movella-dot"):
        rate = DEFAULT_CONFIG_RATE_HZ["movella-dot"] if rate_hz is None else float(rate_hz)
        steps = (dot_control_patch(rate, filter_profile),)
    elif profile.protocol == "metawear":
        rate = METAWEAR_FUSION_RATE_HZ
        if rate_hz is not None and float(rate_hz) != rate:
            raise ValueError(f"MetaMotion sensor fusion streams at {rate:g} Hz only, "
                             f"not {rate_hz:g}")
        steps = ()  # the fusion mode (NDOF or IMU_PLUS) is the start sequence's first write
    else:
        if rate_hz is not None:
            raise ValueError(f"Cervitrack cannot set the rate of a {profile.key} device")
        return profile
    return replace(profile, configure=tuple(steps), nominal_rate_hz=rate)


def serial_setup(protocol: str, rate_hz: float | None = None,
                 save: bool = False) -> tuple[tuple[bytes, ...], float | None]:
    """(commands written after the port opens, the rate they select) for a serial
    ``protocol``; ((), None) when Cervitrack does not configure it."""
    base = protocol.partition(":")[0]
    if base == "witmotion-serial":
        rate = DEFAULT_CONFIG_RATE_HZ["witmotion"] if rate_hz is None else float(rate_hz)
        return witmotion_setup(rate, save), rate
    if rate_hz is not None:
        raise ValueError(f"Cervitrack cannot set the rate of a {base} device "
                         "(only witmotion-serial over a serial port)")
    return (), None


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
