"""Emulated BLE sensors: GATT peripherals on a Bumble host that behave like the real devices.

Each peripheral is a Bumble ``Device`` with the device's GATT layout (UUIDs from
:mod:`cervitrack.firmware_bridge.profiles`), advertising its name, on a virtual controller of
:class:`~cervitrack.firmware_bridge.emulation.ble_air.VirtualAir` (or any Bumble transport).
Its notification payloads come from the protocols' own encoders, so the round trip is
encoder → GATT server → ATT → bleak → Cervitrack's driver → decoder. What it sends follows the
device's documented behaviour (WitMotion's BLE 5.0 protocol manual (WT901BLECL); MbientLab MetaWear-SDK-Cpp unit tests; Movella DOT BLE Services Specification; docs/devices/):

- :class:`WitMotionBle` (WT901BLECL): 20-byte ``55 61`` packets as soon as notifications are
  enabled, at the factory 10 Hz; ``FF AA`` commands on FFE9: unlock (``69 88 B5``) opens a
  10 s window for register writes, rate register 0x03 (codes 0x01-0x0B), save (0x00); register
  reads (``FF AA 27 <reg> 00``) answer a ``55 71`` reply with 8 registers.
- :class:`MovellaDot`: nothing until ``01 01 <mode>`` is written to measurement control 2001,
  then records of that payload mode (short/medium/long payload characteristic per mode) at the
  output rate of device control 1002 (bytes 24-25, 60 Hz default, not changeable while
  measuring); ``01 00 <mode>`` stops. A microsecond device clock stamps each record.
- :class:`MetaWear` (MetaMotion R/RL/C): ``19 07`` quaternion notifications at 100 Hz only once
  the fusion mode is set, the sensors its mode needs (acc and gyro; NDOF also the magnetometer)
  are started, the quaternion output is enabled (``19 03``), subscribed (``19 07 01``) and the
  fusion started (``19 01 01``): the start sequence of MbientLab MetaWear-SDK-Cpp unit tests. ``FE 01`` resets the board (which
  drops the link). The board keeps its state across disconnections, as a real one does.

Motion: every peripheral samples a *motion* callable ``motion(t_s) -> (quat_wxyz (N, 4),
acc_m_s2 (N, 3), gyr_rad_s (N, 3))`` at its device times ``t_s`` (N,) (seconds since power-on;
quaternion sensor→world, acc the specific force and gyr the angular rate in the sensor frame).
:func:`still` and :func:`turning` are built in; a virtual patient plugs in the same way.

Timing: samples are due at ``k / rate`` on the device clock (the wall clock: this is a device);
when the emulator runs late, the due samples are sent back to back rather than skipped, so the
sample sequence is the same on a busy machine. Connection-interval batching and radio loss are
not emulated (see :mod:`~cervitrack.firmware_bridge.emulation.ble_air`).

Run a peripheral in its own thread with :meth:`EmulatedPeripheral.start` (a context manager);
:meth:`EmulatedPeripheral.stop` closes it. Stop peripherals before the air.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cervitrack.firmware_bridge import profiles
from cervitrack.firmware_bridge.emulation.ble_air import open_hci, settle
from cervitrack.firmware_bridge.protocols import metawear, movella_dot, witmotion
from cervitrack.firmware_bridge.protocols._convert import G_M_S2
from cervitrack.signal import quaternion as quat

log = logging.getLogger(__name__)

#: motion(t_s (N,)) -> (quat_wxyz (N, 4), acc_m_s2 (N, 3), gyr_rad_s (N, 3)).
Motion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
#: The most samples sent in one burst when the emulator runs late (1 s at 100 Hz); beyond that
#: the schedule restarts at the current time and the skipped samples are logged.
MAX_BURST = 100


# -- built-in motions ----------------------------------------------------------------------------


def still(t_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An upright head, not moving: identity orientation, gravity's reaction on +z, no rate."""
    n = np.asarray(t_s, dtype=np.float64).reshape(-1).size
    quat_wxyz = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    acc_m_s2 = np.tile([0.0, 0.0, G_M_S2], (n, 1))
    return quat_wxyz, acc_m_s2, np.zeros((n, 3))


def turning(rate_deg_s: float = 20.0, start_deg: float = 0.0) -> Motion:
    """An upright head turning at a constant ``rate_deg_s`` about the vertical (world z, +
    counter-clockwise seen from above): yaw = start + rate · t. The sensor frame is the head's."""
    rate_rad_s = math.radians(rate_deg_s)

    def motion(t_s):
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        yaw_rad = math.radians(start_deg) + rate_rad_s * t
        quat_wxyz = quat.from_axis_angle([0.0, 0.0, 1.0], yaw_rad)
        acc_m_s2 = np.tile([0.0, 0.0, G_M_S2], (t.size, 1))
        gyr_rad_s = np.tile([0.0, 0.0, rate_rad_s], (t.size, 1))
        return quat_wxyz.reshape(-1, 4), acc_m_s2, gyr_rad_s

    return motion


def roll_pitch_yaw_deg(quat_wxyz) -> np.ndarray:
    """(N, 3) roll, pitch, yaw in ° of sensor→world quaternions, intrinsic Z-Y-X
    (q = Rz(yaw)·Ry(pitch)·Rx(roll)): the convention WitMotion and Movella DOT Euler angles
    follow (docs/devices/witmotion-ble.md, movella-dot.md)."""
    yaw_pitch_roll = quat.to_rotation(np.asarray(quat_wxyz).reshape(-1, 4)).as_euler(
        "ZYX", degrees=True)
    return yaw_pitch_roll[:, ::-1]


# -- the peripheral base ----------------------------------------------------------------------


class EmulatedPeripheral:
    """One emulated BLE sensor.

    Args:
        name: advertised complete local name.
        address: its (random static) Bluetooth address.
        motion: see the module docstring (default :func:`still`).
        max_mtu: the largest ATT_MTU its GATT server accepts (23 forbids any exchange: then a
            notification carries at most 20 bytes and longer values are truncated).
        advertising_interval_ms: advertising interval.

    Attributes (read them from any thread):
        rate_hz: current output rate.
        sent: notifications sent so far.
        writes: every value written to it, as (characteristic UUID, bytes), in order.
        log: what its commands did, in words.
    """

    default_name = "BLE sensor"
    default_rate_hz = 100.0

    def __init__(self, name: str | None = None, address: str = "F0:00:00:00:00:01", *,
                 motion: Motion | None = None, max_mtu: int = 247,
                 advertising_interval_ms: float = 100.0) -> None:
        self.name = name or self.default_name
        self.address = address
        self.motion: Motion = motion or still
        self.max_mtu = int(max_mtu)
        self.advertising_interval_ms = advertising_interval_ms
        self.rate_hz = float(self.default_rate_hz)
        self.sent = 0
        self.writes: list[tuple[str, bytes]] = []
        self.log: list[str] = []
        self.device: Any = None
        self._transport: Any = None
        self._t0 = time.monotonic()
        self._stream_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- what a device family defines --------------------------------------------------------

    def services(self) -> list:
        """The Bumble GATT services."""
        raise TypeError(f"{type(self).__name__} defines no GATT services")

    def active(self) -> bool:
        """Whether the device is streaming now."""
        return False

    def payloads(self, t_s: np.ndarray) -> tuple[object, list[bytes]]:
        """(characteristic to notify, one payload per sample at device times ``t_s``)."""
        raise TypeError(f"{type(self).__name__} defines no payloads")

    def on_disconnection(self) -> None:
        """Device state when the central goes away (default: nothing changes)."""

    # -- helpers for the families ------------------------------------------------------------

    def now_s(self) -> float:
        """Device time: seconds since power-on."""
        return time.monotonic() - self._t0

    def _characteristic(self, uuid: str, properties, permissions, value=b"", *,
                        read=None, write=None, on_subscription=None):
        from bumble.gatt import Characteristic, CharacteristicValue

        if read is not None or write is not None:
            value = CharacteristicValue(read=read, write=self._recorded(uuid, write))
        char = Characteristic(uuid, properties, permissions, value)
        if on_subscription is not None:
            char.on("subscription", on_subscription)
        return char

    def _recorded(self, uuid: str, write):
        if write is None:
            return None

        def on_write(connection, value) -> None:
            value = bytes(value)
            self.writes.append((uuid, value))
            write(connection, value)
            self.update_stream()

        return on_write

    def update_stream(self) -> None:
        """Start or stop the stream task to match :meth:`active` (call after state changes)."""
        if self.active() and self._stream_task is None:
            self._stream_task = asyncio.get_running_loop().create_task(self._stream())
        elif not self.active() and self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    async def notify(self, characteristic, payload: bytes) -> None:
        """Notify every subscriber (the GATT server truncates to ATT_MTU - 3)."""
        await self.device.notify_subscribers(characteristic, payload)
        self.sent += 1

    async def _stream(self) -> None:
        rate = self.rate_hz
        t0 = self.now_s()
        k = 0
        try:
            while True:
                if self.rate_hz != rate:  # the next sample one new period after the last
                    if k > 0:
                        t0, k = t0 + (k - 1) / rate + 1.0 / self.rate_hz, 0
                    rate = self.rate_hz
                due = math.floor((self.now_s() - t0) * rate) + 1 - k
                if due > MAX_BURST:
                    self.log.append(f"ran {due} samples late: skipped to now")
                    t0, k, due = self.now_s(), 0, 1
                if due > 0:
                    t_s = t0 + (k + np.arange(due)) / rate
                    characteristic, payloads = self.payloads(t_s)
                    for payload in payloads:
                        await self.notify(characteristic, payload)
                    k += due
                await asyncio.sleep(max(0.0, t0 + k / rate - self.now_s()))
        except asyncio.CancelledError:
            pass

    # -- life cycle --------------------------------------------------------------------------

    async def open(self, transport: str) -> None:
        """Power on the Bumble device on ``transport`` and start advertising."""
        from bumble.core import AdvertisingData
        from bumble.device import Device
        from bumble.hci import Address

        self._transport = await open_hci(transport)
        device = Device.with_hci(self.name, Address(self.address), self._transport.source,
                                 self._transport.sink)
        for service in self.services():
            device.add_service(service)
        device.gatt_server.max_mtu = self.max_mtu
        device.advertising_data = bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]))
        device.on("connection", self._on_connection)
        self.device = device
        self._t0 = time.monotonic()
        await device.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        interval = self.advertising_interval_ms
        await self.device.start_advertising(auto_restart=True, advertising_interval_min=interval,
                                            advertising_interval_max=interval)

    def _on_connection(self, connection) -> None:
        connection.on("disconnection", lambda _reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        self.on_disconnection()
        self.update_stream()

    async def close(self) -> None:
        """Stop streaming and close the transport (the air stays up)."""
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None
        if self.device is not None:
            self.device.remove_listener("connection", self._on_connection)
            for advertiser in (self.device.legacy_advertising_set, self.device.legacy_advertiser):
                if advertiser is not None:  # no advertising restart under the closing transport
                    advertiser.auto_restart = False
            await settle(self.device)
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.close()

    async def drop_link_async(self) -> None:
        """Disconnect every central, as when the sensor goes out of range."""
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    # -- its own thread ------------------------------------------------------------------------

    def start(self, transport: str, timeout_s: float = 10.0) -> EmulatedPeripheral:
        """Run the peripheral in its own thread and event loop; returns once it advertises."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.open(transport))
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=main, name=f"ble-peripheral-{self.name}",
                                        daemon=True)
        self._thread.start()
        if not started.wait(timeout_s):
            raise TimeoutError(f"emulated {self.name!r} did not start")
        if failure:
            raise failure[0]
        return self

    def call(self, coro_fn, timeout_s: float = 5.0):
        """Run ``coro_fn()`` on the peripheral's loop and return its result."""
        if self._loop is None:
            raise RuntimeError(f"emulated {self.name!r} is not running")
        return asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout_s)

    def drop_link(self) -> None:
        """:meth:`drop_link_async` from another thread."""
        self.call(self.drop_link_async)

    def stop(self) -> None:
        """Close and stop the thread (idempotent)."""
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.close(), loop).result(5.0)
        except Exception as exc:  # closing anyway
            log.debug("closing %s: %s", self.name, exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5.0)

    def __enter__(self) -> EmulatedPeripheral:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _props(*names: str):
    from bumble.gatt import Characteristic

    flags = Characteristic.Properties(0)
    for name in names:
        flags |= getattr(Characteristic.Properties, name)
    return flags


def _perms(*names: str):
    from bumble.gatt import Characteristic

    flags = Characteristic.Permissions(0)
    for name in names:
        flags |= getattr(Characteristic.Permissions, name)
    return flags


# -- WitMotion WT901BLECL ------------------------------------------------------------------------

#: Rate register 0x03 codes → Hz (WitMotion WT901 manual, register RRATE;
#: WitMotion's serial protocol manual (WIT standard protocol)). Codes above 0x09 differ per model [UNVERIFIED per model].
WITMOTION_RATE_CODES_HZ = {0x01: 0.2, 0x02: 0.5, 0x03: 1.0, 0x04: 2.0, 0x05: 5.0, 0x06: 10.0,
                           0x07: 20.0, 0x08: 50.0, 0x09: 100.0, 0x0A: 125.0, 0x0B: 200.0}
WITMOTION_REG_SAVE = 0x00
WITMOTION_REG_RATE = 0x03
WITMOTION_REG_READ = 0x27
WITMOTION_REG_UNLOCK = 0x69
WITMOTION_UNLOCK_VALUE = 0xB588
#: Register writes are accepted this long after the unlock command, s (as the serial units).
WITMOTION_UNLOCK_S = 10.0
#: Registers the reply to a read fills from the current sample: angles 0x3D-0x3F (roll, pitch,
#: yaw, 180°/32768), temperature 0x40 (0.01 °C), quaternion 0x51-0x54 (w, x, y, z, 1/32768).
_WIT_TEMPERATURE_CENTI_C = 2500


class WitMotionBle(EmulatedPeripheral):
    """WitMotion WT901BLECL / WT9011DCL (BLE 5.0), WitMotion's BLE 5.0 protocol manual (WT901BLECL)"""

    default_name = "WT901BLE68"
    default_rate_hz = 10.0

    def __init__(self, name: str | None = None, address: str = "F0:F1:F2:F3:F4:68",
                 **kwargs) -> None:
        super().__init__(name, address, **kwargs)
        self.subscribed = False
        self.unlocked_until_s = -math.inf
        self.registers: dict[int, int] = {WITMOTION_REG_RATE: 0x06}
        self._notify_char: Any = None

    def services(self) -> list:
        from bumble.gatt import Service

        self._notify_char = self._characteristic(
            profiles.WITMOTION_NOTIFY, _props("NOTIFY"), _perms(),
            on_subscription=self._on_subscription)
        write_char = self._characteristic(
            profiles.WITMOTION_WRITE, _props("WRITE_WITHOUT_RESPONSE", "WRITE"),
            _perms("WRITEABLE"), write=self._on_command)
        return [Service(profiles.WITMOTION_SERVICE, [self._notify_char, write_char])]

    def _on_subscription(self, _bearer, notify: bool, _indicate: bool) -> None:
        self.subscribed = notify
        self.update_stream()

    def on_disconnection(self) -> None:
        self.subscribed = False

    def active(self) -> bool:
        return self.subscribed

    def payloads(self, t_s):
        quat_wxyz, acc_m_s2, gyr_rad_s = self.motion(t_s)
        data = witmotion.encode_ble_packets(acc_m_s2, gyr_rad_s, roll_pitch_yaw_deg(quat_wxyz))
        size = witmotion.BLE_FRAME_BYTES
        return self._notify_char, [data[i:i + size] for i in range(0, len(data), size)]

    def _on_command(self, _connection, value: bytes) -> None:
        for i in range(0, len(value) - 4):
            if value[i:i + 2] == b"\xff\xaa":
                reg, word = value[i + 2], int.from_bytes(value[i + 3:i + 5], "little")
                self._command(reg, word)

    def _command(self, reg: int, word: int) -> None:
        now = self.now_s()
        if reg == WITMOTION_REG_UNLOCK:
            if word == WITMOTION_UNLOCK_VALUE:
                self.unlocked_until_s = now + WITMOTION_UNLOCK_S
                self.log.append("unlocked")
            return
        if reg == WITMOTION_REG_READ:
            asyncio.get_running_loop().create_task(self._reply(word & 0xFF))
            return
        if now > self.unlocked_until_s:
            self.log.append(f"ignored write {reg:#04x}={word:#06x} (locked: unlock first)")
            return
        if reg == WITMOTION_REG_SAVE:
            self.log.append("saved")
        elif reg == WITMOTION_REG_RATE:
            if word in WITMOTION_RATE_CODES_HZ:
                self.registers[reg] = word
                self.rate_hz = WITMOTION_RATE_CODES_HZ[word]
                self.log.append(f"rate {self.rate_hz:g} Hz")
            else:
                self.log.append(f"ignored rate code {word:#04x}")
        else:
            self.registers[reg] = word
            self.log.append(f"register {reg:#04x}={word:#06x}")

    async def _reply(self, first: int) -> None:
        quat_wxyz, _, _ = self.motion(np.array([self.now_s()]))
        angles = np.rint(roll_pitch_yaw_deg(quat_wxyz)[0] / witmotion.ANGLE_DEG_PER_LSB)
        q = np.clip(np.rint(quat_wxyz[0] / witmotion.QUAT_PER_LSB), -32768, 32767)
        values = dict(self.registers)
        values.update({0x3D: angles[0], 0x3E: angles[1], 0x3F: angles[2],
                       0x40: _WIT_TEMPERATURE_CENTI_C, 0x51: q[0], 0x52: q[1], 0x53: q[2],
                       0x54: q[3]})
        reply = witmotion.encode_ble_reply(first, [values.get(first + i, 0) for i in range(8)])
        self.log.append(f"read {first:#04x}")
        await self.notify(self._notify_char, reply)


# -- Movella DOT ----------------------------------------------------------------------------------

#: Output rates the DOT accepts for real-time streaming, Hz (Movella DOT BLE Services Specification).
DOT_RATES_HZ = (1, 4, 10, 12, 15, 20, 30, 60)
DOT_CONFIG_SERVICE = "15171000-4947-11e9-8646-d663bd873d93"
DOT_DEVICE_INFO = "15171001-4947-11e9-8646-d663bd873d93"
DOT_DEVICE_CONTROL = "15171002-4947-11e9-8646-d663bd873d93"
DOT_BATTERY_SERVICE = "15173000-4947-11e9-8646-d663bd873d93"
DOT_BATTERY = "15173001-4947-11e9-8646-d663bd873d93"


class MovellaDot(EmulatedPeripheral):
    """Movella DOT, Movella DOT BLE Service Specification (Movella DOT BLE Services Specification).

    Records are sent unpadded (the mode's content size); padding such as the 40-byte
    notifications one DOT sent in mode 2 is not emulated.
    """

    default_name = "Movella DOT"
    default_rate_hz = 60.0

    def __init__(self, name: str | None = None, address: str = "D4:22:CD:00:00:01", *,
                 battery_pct: int = 87, **kwargs) -> None:
        super().__init__(name, address, **kwargs)
        self.battery_pct = int(battery_pct)
        self.mode: int | None = None
        self.control = bytearray(32)
        self.control[24:26] = int(self.default_rate_hz).to_bytes(2, "little")
        self._payload_chars: dict[str, Any] = {}
        self._k_us = 0

    def services(self) -> list:
        from bumble.gatt import Service

        readable, writeable = _perms("READABLE"), _perms("READABLE", "WRITEABLE")
        config = Service(DOT_CONFIG_SERVICE, [
            self._characteristic(DOT_DEVICE_INFO, _props("READ"), readable,
                                 bytes.fromhex(self.address.replace(":", ""))[::-1]
                                 + bytes(28)),
            self._characteristic(DOT_DEVICE_CONTROL, _props("READ", "WRITE"), writeable,
                                 read=lambda _c: bytes(self.control),
                                 write=self._on_device_control),
        ])
        self._payload_chars = {uuid: self._characteristic(
                                   uuid, _props("NOTIFY"), _perms(),
                                   on_subscription=self._subscription_logger(uuid))
                               for uuid in (profiles.DOT_LONG_PAYLOAD, profiles.DOT_MEDIUM_PAYLOAD,
                                            profiles.DOT_SHORT_PAYLOAD)}
        measurement = Service(profiles.DOT_SERVICE, [
            self._characteristic(profiles.DOT_MEASUREMENT, _props("READ", "WRITE"), writeable,
                                 read=lambda _c: bytes([1, int(self.mode is not None),
                                                        self.mode or 5]),
                                 write=self._on_measurement_control),
            *self._payload_chars.values(),
        ])
        battery = Service(DOT_BATTERY_SERVICE, [
            self._characteristic(DOT_BATTERY, _props("READ", "NOTIFY"), readable,
                                 read=lambda _c: bytes([self.battery_pct, 0])),
        ])
        return [config, measurement, battery]

    def _subscription_logger(self, uuid: str):
        def on_subscription(_bearer, notify: bool, _indicate: bool) -> None:
            self.log.append(f"notifications {'on' if notify else 'off'} {uuid[4:8]}")

        return on_subscription

    def _on_device_control(self, _connection, value: bytes) -> None:
        from bumble.att import ATT_Error, ErrorCode

        if len(value) != len(self.control):
            raise ATT_Error(ErrorCode.INVALID_ATTRIBUTE_LENGTH)
        rate = int.from_bytes(value[24:26], "little")
        if rate != int(self.rate_hz) and self.mode is not None:
            self.log.append(f"rate {rate} Hz refused while measuring")
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED)
        if rate not in DOT_RATES_HZ:
            self.log.append(f"rate {rate} Hz refused")
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED)
        self.control[:] = value
        if rate != int(self.rate_hz):
            self.rate_hz = float(rate)
            self.log.append(f"rate {rate} Hz")

    def _on_measurement_control(self, _connection, value: bytes) -> None:
        from bumble.att import ATT_Error, ErrorCode

        if len(value) != 3 or value[0] != 0x01 or value[1] not in (0, 1):
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED)
        mode = value[2]
        if mode not in movella_dot.MODES or mode not in profiles.DOT_MODE_CHARACTERISTIC:
            self.log.append(f"payload mode {mode} refused")
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED)
        if value[1] == 1:
            self.mode = mode
            self.log.append(f"start mode {mode}")
        else:
            self.mode = None
            self.log.append(f"stop mode {mode}")

    def on_disconnection(self) -> None:
        if self.mode is not None:
            self.log.append("measurement stopped: disconnected")
        self.mode = None

    def active(self) -> bool:
        return self.mode is not None

    def payloads(self, t_s):
        quat_wxyz, acc_m_s2, gyr_rad_s = self.motion(t_s)
        # The device ticks in whole microseconds per sample (16 667 µs at 60 Hz).
        t_us = np.rint(t_s * self.rate_hz).astype(np.int64) * round(1e6 / self.rate_hz)
        gravity = np.array([0.0, 0.0, G_M_S2])
        free_acc = quat.rotate(quat_wxyz, acc_m_s2) - gravity
        data = movella_dot.encode_records(
            self.mode, t_us, quat_wxyz=quat_wxyz, euler_deg=roll_pitch_yaw_deg(quat_wxyz),
            free_acc_m_s2=free_acc, acc_m_s2=acc_m_s2, gyr_rad_s=gyr_rad_s)
        size = movella_dot.MODES[self.mode][0]
        char = self._payload_chars[profiles.DOT_MODE_CHARACTERISTIC[self.mode]]
        return char, [data[i:i + size] for i in range(0, len(data), size)]


# -- MetaWear (MetaMotion R/RL/C) -----------------------------------------------------------------

MW_ACC, MW_GYRO, MW_MAG, MW_FUSION, MW_DEBUG = 0x03, 0x13, 0x15, 0x19, 0xFE
MW_FUSION_RATE_HZ = 100.0
#: Fusion mode → the sensors it needs running (MbientLab MetaWear-SDK-Cpp unit tests; 3 COMPASS, 4 M4G from
#: the SDK's sensor_fusion.h).
MW_MODE_SENSORS = {1: {MW_ACC, MW_GYRO, MW_MAG}, 2: {MW_ACC, MW_GYRO}, 3: {MW_ACC, MW_MAG},
                   4: {MW_ACC, MW_MAG}}
MW_OUTPUT_QUATERNION = 0x08


class MetaWear(EmulatedPeripheral):
    """MbientLab MetaMotion R/RL/C (BMI160), MetaWear command protocol (MbientLab MetaWear-SDK-Cpp unit tests).

    Only the quaternion output is emulated; other fusion outputs are accepted and logged.
    """

    default_name = "MetaWear"
    default_rate_hz = MW_FUSION_RATE_HZ

    def __init__(self, name: str | None = None, address: str = "E8:C9:8C:00:00:01",
                 **kwargs) -> None:
        super().__init__(name, address, **kwargs)
        self._notify_char: Any = None
        self.reset()

    def reset(self) -> None:
        """Power-on state: nothing configured, nothing running."""
        self.fusion_mode = 0
        self.fusion_running = False
        self.fusion_outputs = 0
        self.quaternion_routed = False
        self.sensors_running: set[int] = set()
        self.config: dict[tuple[int, int], bytes] = {}

    def services(self) -> list:
        from bumble.gatt import Service

        self._notify_char = self._characteristic(profiles.METAWEAR_NOTIFY, _props("NOTIFY"),
                                                 _perms())
        command = self._characteristic(
            profiles.METAWEAR_COMMAND, _props("WRITE_WITHOUT_RESPONSE", "WRITE"),
            _perms("WRITEABLE"), write=lambda _connection, value: self.handle_command(value))
        return [Service(profiles.METAWEAR_SERVICE, [command, self._notify_char])]

    def handle_command(self, value: bytes) -> None:
        """One MetaWear command ``[module][register][payload]`` written by the host."""
        if len(value) < 2:
            self.log.append(f"ignored {value.hex()}")
            return
        module, register, payload = value[0], value[1], value[2:]
        arg = payload[0] if payload else 0
        if module == MW_DEBUG and register == 0x01:
            self.log.append("reset")
            self.reset()
            if self.device is not None:  # the board reboots: the link drops
                asyncio.get_running_loop().create_task(self.drop_link_async())
        elif module == MW_FUSION and register == 0x02:
            self.fusion_mode = arg
            self.log.append(f"fusion mode {arg}")
        elif module == MW_FUSION and register == 0x03 and len(payload) >= 2:
            self.fusion_outputs = (self.fusion_outputs | payload[0]) & ~payload[1]
            self.log.append(f"fusion outputs {self.fusion_outputs:#04x}")
        elif module == MW_FUSION and register == metawear.REG_QUAT:
            self.quaternion_routed = bool(arg)
            self.log.append(f"quaternion notifications {'on' if arg else 'off'}")
        elif module == MW_FUSION and register == 0x01:
            self.fusion_running = bool(arg)
            self.log.append(f"fusion {'started' if arg else 'stopped'}")
            missing = MW_MODE_SENSORS.get(self.fusion_mode, set()) - self.sensors_running
            if arg and missing:
                self.log.append("fusion waits for modules "
                                + ", ".join(f"{m:#04x}" for m in sorted(missing)))
        elif module in (MW_ACC, MW_GYRO, MW_MAG) and register == 0x01:
            (self.sensors_running.add if arg else self.sensors_running.discard)(module)
            self.log.append(f"module {module:#04x} {'started' if arg else 'stopped'}")
        else:
            self.config[(module, register)] = bytes(payload)
            self.log.append(f"set {value.hex()}")

    def active(self) -> bool:
        return (self.fusion_running and self.quaternion_routed
                and bool(self.fusion_outputs & MW_OUTPUT_QUATERNION)
                and self.fusion_mode in MW_MODE_SENSORS
                and MW_MODE_SENSORS[self.fusion_mode] <= self.sensors_running)

    def payloads(self, t_s):
        quat_wxyz, _, _ = self.motion(t_s)
        data = metawear.encode_quaternions(quat_wxyz)
        size = metawear.FRAME_BYTES
        return self._notify_char, [data[i:i + size] for i in range(0, len(data), size)]


#: Emulated BLE devices by the name ``cervitrack emulate`` uses, with their profile keys.
PERIPHERALS: dict[str, type[EmulatedPeripheral]] = {
    "witmotion-ble": WitMotionBle,
    "movella-dot": MovellaDot,
    "metawear": MetaWear,
}


class BleEmulator:
    """A virtual radio with one emulated sensor on it, for a central in this or another process.

    ``backend`` is the ``CERVITRACK_BLE_BACKEND`` value that points Cervitrack's BLE driver at
    the radio's free controller, e.g. ``bumble:127.0.0.1:40213``; then ``--device ble:NAME``
    finds the sensor by its advertised name (:attr:`peripheral` ``.name``).

    Args:
        device: a key of :data:`PERIPHERALS`.
        motion: the head motion (default :func:`still`).
        kwargs: passed to the peripheral class (name, max_mtu, ...).
    """

    def __init__(self, device: str, motion: Motion | None = None, **kwargs) -> None:
        from cervitrack.firmware_bridge.emulation.ble_air import VirtualAir

        try:
            cls = PERIPHERALS[device]
        except KeyError:
            raise ValueError(f"unknown emulated BLE device {device!r}; choose one of: "
                             f"{', '.join(sorted(PERIPHERALS))}") from None
        self.air = VirtualAir(2)
        self.peripheral = cls(motion=motion, **kwargs)

    @property
    def backend(self) -> str:
        return f"bumble:127.0.0.1:{self.air.ports[1]}"

    def start(self) -> BleEmulator:
        self.air.start()
        try:
            self.peripheral.start(self.air.transport(0))
        except BaseException:
            self.air.stop()
            raise
        return self

    def stop(self) -> None:
        """The peripheral first, then the radio."""
        self.peripheral.stop()
        self.air.stop()

    def __enter__(self) -> BleEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
