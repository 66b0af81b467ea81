"""The emulated devices' protocol side: samples in, the device's real bytes out.

An :class:`EmulatedProtocol` turns a :class:`SampleBlock` (what the sensor measured at each
sample) into one message per sample, exactly as the device would send it: the frames of one
output cycle on a serial line, one datagram on UDP, one notification payload on BLE. It also
answers the host's configuration bytes the way the device does (WitMotion ``FF AA`` commands,
OHT/1 command frames), which may change :attr:`EmulatedProtocol.rate_hz` or what is sent.

The byte layouts are the ``encode_*`` functions next to each decoder in
:mod:`cervitrack.firmware_bridge.protocols`, so an encoder and its decoder change together
(tests/test_emulate_encoders.py checks every pair by round trip).

Transports: ``serial`` protocols are carried by a pseudo-terminal
(:mod:`~cervitrack.firmware_bridge.emulation.endpoints`), ``udp`` ones by a UDP socket; ``ble``
protocols have their payloads and GATT characteristics here (:attr:`BleEmulatedProtocol.ble`)
for a BLE peripheral transport to carry.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass

import numpy as np

from cervitrack.firmware_bridge import profiles
from cervitrack.firmware_bridge.protocols import (
    bno08x_rvc,
    hatire,
    metawear,
    movella_dot,
    opentrack_udp,
    reference,
    witmotion,
)


@dataclass
class SampleBlock:
    """N consecutive samples as the sensor measured them.

    Attributes:
        k: (N,) int sample index since the device started (its frame counter before wrapping).
        t_device_s: (N,) device clock at each sample, s.
        quat_wxyz: (N, 4) the device's fused orientation, sensor→world, scalar first.
        acc_m_s2: (N, 3) specific force, sensor frame.
        gyr_rad_s: (N, 3) angular rate, sensor frame.
        mag_uT: (N, 3) magnetic field, sensor frame, µT.
    """

    k: np.ndarray
    t_device_s: np.ndarray
    quat_wxyz: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    mag_uT: np.ndarray

    def __len__(self) -> int:
        return len(self.k)


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


class EmulatedProtocol(abc.ABC):
    """Base class: one device family's wire behaviour.

    Class attributes:
        name: the ``cervitrack emulate`` name.
        decoder_name: the ``--protocol`` that decodes the bytes (by default ``name``).
        transport: ``serial``, ``udp`` or ``ble``.
        default_rate_hz: the rate the device starts at.
        fixed_rate: the device has one rate only (no rate setting exists).
    """

    name = "base"
    decoder_name = "base"
    transport = "serial"
    default_rate_hz = 100.0
    fixed_rate = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "decoder_name" not in cls.__dict__:
            cls.decoder_name = cls.name

    def __init__(self) -> None:
        self.rate_hz = float(self.default_rate_hz)
        #: Whether the device is sending (an OHT/1 stop command clears it).
        self.streaming = True
        #: What the host's commands did, in order, for the emulator's log.
        self.log: list[str] = []

    @abc.abstractmethod
    def encode(self, block: SampleBlock) -> list[bytes]:
        """One message per sample of ``block``."""

    def host_bytes(self, data: bytes) -> list[bytes]:
        """Bytes written by the host; returns the device's replies (default: ignored)."""
        return []


class _WitMotionConfig(abc.ABC):
    """The WT901 family's configuration registers, written with ``FF AA <reg> <lo> <hi>``
    (WitMotion's serial protocol manual (WIT standard protocol); WitMotion's BLE 5.0 protocol manual (WT901BLECL); the same commands on serial and on BLE's FFE9).

    Writes take effect only within 10 s of the unlock command, as on current firmware; the rate
    register (0x03) sets :attr:`rate_hz`; ``FF AA 27 <reg> 00`` reads four registers from
    ``reg`` (answered by :meth:`_reply`). Save, baud and algorithm writes are accepted and
    stored.
    """

    UNLOCK_S = 10.0
    rate_hz: float
    log: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.registers = {witmotion.REG_RSW: witmotion.RSW_DEFAULT, witmotion.REG_RATE: 0x06,
                          witmotion.REG_BAUD: 0x06}
        self._cmd = bytearray()
        self._unlocked_until = -np.inf
        #: The device time of the latest encoded sample (the unlock window runs on it).
        self.now_s = 0.0

    def _advance_clock(self, block: SampleBlock) -> None:
        """Called by ``encode``: the device's time moves on to ``block``'s last sample."""
        self.now_s = float(block.t_device_s[-1]) if len(block) else self.now_s

    @abc.abstractmethod
    def _reply(self, register: int, values: list[int]) -> bytes:
        """The register-read answer: ``values`` are eight registers from ``register``."""

    def host_bytes(self, data: bytes) -> list[bytes]:
        self._cmd += data
        replies = []
        for reg, value in witmotion.parse_commands(self._cmd):
            if reg == witmotion.REG_UNLOCK:
                if value == witmotion.UNLOCK_VALUE:
                    self._unlocked_until = self.now_s + self.UNLOCK_S
                    self.log.append("unlocked")
            elif reg == witmotion.REG_READ:
                replies.append(self._reply(value, [self.registers.get(value + i, 0)
                                                   for i in range(8)]))
            elif self.now_s > self._unlocked_until:
                self.log.append(f"ignored write {reg:#04x}={value:#06x} (locked: unlock first)")
            elif reg == witmotion.REG_SAVE:
                self.log.append("saved")
            elif reg == witmotion.REG_RATE and value not in witmotion.RATE_CODES_HZ:
                self.log.append(f"ignored rate code {value:#04x}")
            else:
                self.registers[reg] = value
                if reg == witmotion.REG_RATE:
                    self.rate_hz = witmotion.RATE_CODES_HZ[value]
                    self.log.append(f"rate {self.rate_hz:g} Hz")
                else:
                    self.log.append(f"register {reg:#04x}={value:#06x}")
        return replies


class WitMotionSerial(_WitMotionConfig, EmulatedProtocol):
    """WT901 family on a serial line (WitMotion's serial protocol manual (WIT standard protocol)): the frames the output-content
    register (RSW, 0x02) selects, in register order, at the rate register's rate (factory
    10 Hz); register reads answer a 0x5F frame (four registers)."""

    name = "witmotion-serial"
    transport = "serial"
    default_rate_hz = 10.0

    def _reply(self, register: int, values: list[int]) -> bytes:
        return witmotion.encode_register_reply(values[:4])

    def encode(self, block: SampleBlock) -> list[bytes]:
        self._advance_clock(block)
        rsw = self.registers[witmotion.REG_RSW]
        data = witmotion.encode_serial_samples(
            chip_time_s=block.t_device_s if rsw & 0x01 else None,
            acc_m_s2=block.acc_m_s2 if rsw & 0x02 else None,
            gyr_rad_s=block.gyr_rad_s if rsw & 0x04 else None,
            euler_deg=witmotion.quat_to_euler_deg(block.quat_wxyz) if rsw & 0x08 else None,
            mag_raw=block.mag_uT if rsw & 0x10 else None,  # 1 LSB = 1 µT (units: module doc)
            quat_wxyz=block.quat_wxyz if rsw & 0x200 else None)
        return _split(data, len(data) // len(block))


@dataclass(frozen=True)
class BleService:
    """The GATT side a BLE peripheral needs: advertised name, service, the characteristic that
    notifies the payloads and the one the host writes commands to (UUIDs from the device
    profiles)."""

    advertised_name: str
    service_uuid: str
    notify_uuid: str
    write_uuid: str


class BleEmulatedProtocol(EmulatedProtocol):
    """A BLE device: :meth:`encode` gives one notification payload per sample, to be notified on
    ``ble.notify_uuid``; writes to ``ble.write_uuid`` go to :meth:`host_bytes`."""

    transport = "ble"
    ble: BleService


class WitMotionBle(_WitMotionConfig, BleEmulatedProtocol):
    """WT901BLECL / WT9011DCL 0x61 packets (WitMotion's BLE 5.0 protocol manual (WT901BLECL)), 10 Hz factory rate, streaming as soon as
    notifications are on; the ``FF AA`` configuration of the serial variant (written to
    FFE9), register reads answered by a 0x71 packet (eight registers)."""

    name = "witmotion-ble"
    default_rate_hz = 10.0
    ble = BleService("WT901BLE", profiles.WITMOTION_SERVICE, profiles.WITMOTION_NOTIFY,
                     profiles.WITMOTION_WRITE)

    def _reply(self, register: int, values: list[int]) -> bytes:
        return witmotion.encode_ble_reply(register, values)

    def encode(self, block: SampleBlock) -> list[bytes]:
        self._advance_clock(block)
        data = witmotion.encode_ble_samples(block.quat_wxyz, block.acc_m_s2, block.gyr_rad_s)
        return _split(data, witmotion.BLE_FRAME_BYTES)


class MovellaDot(BleEmulatedProtocol):
    """Movella DOT payload mode 5 (orientation quaternion, 20 B) at 60 Hz (Movella DOT BLE Services Specification)."""

    name = "movella-dot"
    default_rate_hz = 60.0
    ble = BleService("Movella DOT", profiles.DOT_SERVICE, profiles.DOT_SHORT_PAYLOAD,
                     profiles.DOT_MEASUREMENT)

    def encode(self, block: SampleBlock) -> list[bytes]:
        t_us = np.rint(block.t_device_s * 1e6).astype(np.int64)
        return _split(movella_dot.encode_records(5, t_us, quat_wxyz=block.quat_wxyz), 20)


class MetaWear(BleEmulatedProtocol):
    """MetaMotion sensor-fusion quaternion notifications ``19 07`` at 100 Hz (MbientLab MetaWear-SDK-Cpp unit tests)."""

    name = "metawear"
    default_rate_hz = 100.0
    ble = BleService("MetaWear", profiles.METAWEAR_SERVICE, profiles.METAWEAR_NOTIFY,
                     profiles.METAWEAR_COMMAND)

    def encode(self, block: SampleBlock) -> list[bytes]:
        return _split(metawear.encode_quaternions(block.quat_wxyz), metawear.FRAME_BYTES)


class Bno08xRvc(EmulatedProtocol):
    """BNO08x UART-RVC: 19-byte frames at a fixed 100 Hz; it takes no host commands (CEVA BNO080 datasheet 1000-3927 §1.3.5)."""

    name = "bno08x-rvc"
    default_rate_hz = 100.0
    fixed_rate = True

    def encode(self, block: SampleBlock) -> list[bytes]:
        data = bno08x_rvc.encode_samples(block.k, block.quat_wxyz, block.acc_m_s2)
        return _split(data, bno08x_rvc.FRAME_BYTES)


class Hatire(EmulatedProtocol):
    """An opentrack Hatire Arduino sketch: 30-byte frames, counter 0..999 (opentrack's tracker-hatire and proto-udp sources)."""

    name = "hatire"
    default_rate_hz = 100.0

    def encode(self, block: SampleBlock) -> list[bytes]:
        return _split(hatire.encode_samples(block.k, block.quat_wxyz), hatire.FRAME_BYTES)


class OpentrackUdp(EmulatedProtocol):
    """opentrack's UDP output: one 48-byte datagram per pose (opentrack's tracker-hatire and proto-udp sources)."""

    name = "opentrack-udp"
    transport = "udp"
    default_rate_hz = 50.0

    def encode(self, block: SampleBlock) -> list[bytes]:
        return opentrack_udp.encode_samples(block.quat_wxyz)


class Reference(EmulatedProtocol):
    """The OHT/1 headset (firmware_bridge/firmware/oht_headset) on its serial line: type 0x02
    frames (quaternion, gyro, acc). It streams from power-on and answers the firmware's host
    commands: 0x80 start, 0x81 stop, 0x82 set rate (clamped to 10-400 Hz as the firmware
    does), 0x85 get info (a 0x10 JSON frame). Tare (0x83) and fusion mode (0x84) are logged and
    otherwise ignored."""

    name = "reference"
    default_rate_hz = 100.0

    def __init__(self) -> None:
        super().__init__()
        self._cmd = bytearray()
        self._reply_seq = 0
        self.now_s = 0.0

    def encode(self, block: SampleBlock) -> list[bytes]:
        self.now_s = float(block.t_device_s[-1]) if len(block) else self.now_s
        t_us = np.rint(block.t_device_s * 1e6).astype(np.int64)
        data = reference.encode_samples(block.k, t_us, block.quat_wxyz, block.gyr_rad_s,
                                        block.acc_m_s2, status=3)
        return _split(data, len(data) // len(block))

    def host_bytes(self, data: bytes) -> list[bytes]:
        decoder = _CommandReader()
        self._cmd += data
        replies = []
        for frame_type, payload in decoder.take(self._cmd):
            if frame_type == reference.CMD_START:
                self.streaming = True
                self.log.append("start")
            elif frame_type == reference.CMD_STOP:
                self.streaming = False
                self.log.append("stop")
            elif frame_type == reference.CMD_SET_RATE and len(payload) >= 2:
                hz = int.from_bytes(payload[:2], "little")
                self.rate_hz = float(min(max(hz, 10), 400))
                self.log.append(f"rate {self.rate_hz:g} Hz")
            elif frame_type == reference.CMD_GET_INFO:
                info = {"firmware": "cervitrack-emulate", "protocol": "OHT/1",
                        "rate_hz": self.rate_hz, "frame_type": 2,
                        "axes": "x forward, y left, z up"}
                replies.append(reference.encode_frame(
                    reference.TYPE_INFO, self._reply_seq, int(self.now_s * 1e6),
                    json.dumps(info).encode()))
                self._reply_seq += 1
            else:
                self.log.append(f"command {frame_type:#04x} ignored")
        return replies


class _CommandReader:
    """Complete, CRC-valid OHT/1 host→device frames from the front of a buffer."""

    @staticmethod
    def take(buf: bytearray) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        while True:
            start = buf.find(reference.SYNC)
            if start < 0:
                del buf[:max(len(buf) - 1, 0)]
                return out
            del buf[:start]
            if len(buf) < 4 or len(buf) < reference.OVERHEAD_BYTES + buf[3]:
                return out
            length = reference.OVERHEAD_BYTES + buf[3]
            body = bytes(buf[2:length - 2])
            crc = int.from_bytes(buf[length - 2:length], "little")
            if reference.crc16_ccitt_false(body) != crc:
                del buf[:1]
                continue
            out.append((body[0], body[8:]))
            del buf[:length]


#: Every emulated device by name.
PROTOCOLS: dict[str, type[EmulatedProtocol]] = {cls.name: cls for cls in (
    WitMotionSerial, WitMotionBle, Bno08xRvc, MovellaDot, MetaWear, Hatire, OpentrackUdp,
    Reference)}


def make_protocol(name: str) -> EmulatedProtocol:
    """A fresh emulated device protocol; ValueError naming the choices when unknown."""
    try:
        return PROTOCOLS[name]()
    except KeyError:
        raise ValueError(f"unknown emulated protocol {name!r}; choose one of: "
                         f"{', '.join(sorted(PROTOCOLS))}") from None
