"""BLE transport (bleak): one peripheral, notifications in, start/stop commands out.

bleak is asyncio based. The driver runs every coroutine on one event loop in its own daemon
thread (:class:`LoopThread`; ``asyncio.run`` is never called, so the loop lives as long as the
driver and bleak's backend state stays on one loop). The blocking driver methods the reader
thread calls submit coroutines to that loop and wait for them.

Connect sequence (every attempt, the first and each reconnect alike; after a disconnect BlueZ
may forget the device, so nothing is reused, bleak's documentation and issue tracker):

1. scan again: ``BleakScanner.find_device_by_address`` for an address (or a macOS UUID),
   ``find_device_by_name`` for a name;
2. a new ``BleakClient(device, disconnected_callback=...)`` and ``connect()``;
3. ``start_notify`` on the profile's notify characteristic (notifications first: Movella DOT
   requires it, and a device that streams right after the start command would otherwise lose
   its first packets);
4. the profile's configuration steps (``configure``: the rate, output content or filter
   profile Cervitrack puts the device in, :func:`cervitrack.firmware_bridge.profiles.configured_ble_profile`),
   then its start commands, in order, with ``write_gatt_char(..., response=...)`` (write
   without response unless the profile says otherwise); a configuration step with an
   ``apply(current)`` method is a read-modify-write (read the characteristic, write back
   ``apply(value)``);
5. the battery level, when the device exposes it (Battery Level 0x2A19, Movella DOT 3001), is
   read once per connection.

Notification callbacks run on the loop: they only stamp ``time.monotonic()`` and queue the
bytes; decoding happens in the consumer. UUIDs are always full 128-bit strings: bleak expands a
16-bit ``"ffe4"`` to the Bluetooth SIG base, which is not WitMotion's base (WitMotion's BLE 5.0 protocol manual (WT901BLECL)).

The profile a driver uses follows :class:`BleProfileLike`; the real ones are
:data:`cervitrack.firmware_bridge.profiles.BLE_PROFILES`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from cervitrack.firmware_bridge.transports.base import LinkError, LinkLost, LinkUnavailable
from cervitrack.signal.samples import Chunk

log = logging.getLogger(__name__)

#: Bluetooth SIG Battery Level characteristic (Battery Service 0x180F), full 128-bit UUID.
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Characteristics whose first byte is the battery level in %: the SIG Battery Level, and
#: Movella DOT's battery characteristic 3001 (level %, then charging; Movella DOT BLE Services Specification).
BATTERY_UUIDS = (BATTERY_LEVEL_UUID, "15173001-4947-11e9-8646-d663bd873d93")

#: D-Bus errors meaning that bluetoothd (BlueZ) is not there: the system bus runs but cannot
#: reach or start ``org.bluez`` (bleak raises them as ``BleakDBusError`` on Linux).
NO_BLUEZ_DBUS_ERRORS = frozenset({
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.Spawn.ChildExited",
    "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
})

_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_UUID_RE = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


class GattWriteLike(Protocol):
    char_uuid: str
    data: bytes
    with_response: bool


class BleProfileLike(Protocol):
    """What the driver needs from a device profile."""

    key: str
    protocol: str
    notify_uuid: str
    start: Sequence[GattWriteLike]
    stop: Sequence[GattWriteLike]
    nominal_rate_hz: float


def is_address(target: str) -> bool:
    """True for a Bluetooth address (``AA:BB:CC:DD:EE:FF``) or a macOS peripheral UUID."""
    return bool(_MAC_RE.match(target) or _UUID_RE.match(target))


def friendly_unavailable(exc: BaseException) -> str:
    """A message a patient understands for ``BleakBluetoothNotAvailableError``."""
    reason = getattr(getattr(exc, "reason", None), "name", "UNKNOWN")
    if reason == "POWERED_OFF":
        return "Bluetooth is switched off: switch it on in your computer's settings and try again."
    if reason.startswith("DENIED"):
        return ("Cervitrack is not allowed to use Bluetooth: allow it in your computer's "
                "privacy settings and try again.")
    if reason in ("NO_BLUETOOTH", "NO_BLE_CENTRAL_ROLE"):
        return ("This computer has no Bluetooth Low Energy: use a USB Bluetooth adapter, or "
                "connect the sensor with a USB cable.")
    return "Bluetooth is not available right now: check that it is switched on and try again."


class LoopThread:
    """One asyncio event loop running forever in a daemon thread."""

    def __init__(self, name: str = "cervitrack-ble-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro, timeout_s: float):
        """Run ``coro`` on the loop and wait for its result (raises what it raises)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(2.0)


_LOST = object()


class BleDriver:
    """One BLE peripheral.

    Args:
        target: address (or macOS UUID) or advertised name.
        profile: a :class:`BleProfileLike`, or a callable ``(advertised_name) -> profile`` that
            picks one after the scan (None when unrecognised: the connect fails with a message).
        scanner, client_factory: ``bleak.BleakScanner`` and ``bleak.BleakClient`` (defaults),
            or fakes with the same API.
        scan_timeout_s, connect_timeout_s: per attempt, s.
    """

    kind = "ble"
    reconnect_on_stall = True

    def __init__(self, target: str, profile, *, scanner=None, client_factory=None,
                 scan_timeout_s: float = 10.0, connect_timeout_s: float = 20.0) -> None:
        if not target:
            raise ValueError("ble:ADDRESS_OR_NAME needs an address or a name, "
                             "e.g. ble:AA:BB:CC:DD:EE:FF or ble:OHT-1234")
        self.target = target
        self._profile_choice = profile
        self.profile: BleProfileLike | None = None if callable(profile) else profile
        self._scanner = scanner
        self._client_factory = client_factory
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._loop: LoopThread | None = None
        self._client = None
        self._queue: queue.Queue = queue.Queue()
        self._lost_pending = False
        self._lock = threading.Lock()
        self.device_name: str | None = None
        self.device_address: str | None = None
        self.battery_pct: float | None = None
        self.scans = 0
        self.notifications = 0

    # -- bleak objects ---------------------------------------------------------------------

    def _bleak(self):
        if self._scanner is None or self._client_factory is None:
            import bleak

            self._scanner = self._scanner or bleak.BleakScanner
            self._client_factory = self._client_factory or bleak.BleakClient
        return self._scanner, self._client_factory

    def _ensure_loop(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    # -- callbacks (run on the loop) ----------------------------------------------------------

    def _on_notify(self, _characteristic, data: bytearray) -> None:
        self.notifications += 1
        self._queue.put(Chunk(time.monotonic(), bytes(data)))

    def _on_disconnected(self, client) -> None:
        if client is self._client:
            self._queue.put(_LOST)

    # -- driver interface -------------------------------------------------------------------

    def connect(self) -> None:
        loop = self._ensure_loop()
        self._lost_pending = False
        while not self._queue.empty():
            self._queue.get_nowait()
        try:
            loop.run(self._connect_async(),
                     self.scan_timeout_s + self.connect_timeout_s + 5.0)
        except TimeoutError:
            raise LinkError(f"Bluetooth device {self.target!r} did not answer in time") from None

    def identify(self) -> BleProfileLike:
        """Scan for the device and pick its profile without connecting."""
        loop = self._ensure_loop()
        try:
            device = loop.run(self._scan_async(), self.scan_timeout_s + 5.0)
        except TimeoutError:
            raise LinkError(f"Bluetooth scan for {self.target!r} did not finish") from None
        return self._resolve_profile(device.name)

    async def _scan_async(self):
        from bleak.exc import BleakBluetoothNotAvailableError, BleakError

        scanner, _ = self._bleak()
        self.scans += 1
        try:
            if is_address(self.target):
                device = await scanner.find_device_by_address(self.target,
                                                               timeout=self.scan_timeout_s)
            else:
                device = await scanner.find_device_by_name(self.target,
                                                           timeout=self.scan_timeout_s)
        except BleakBluetoothNotAvailableError as exc:
            raise LinkUnavailable(friendly_unavailable(exc)) from None
        except OSError as exc:  # Linux without BlueZ / D-Bus; no adapter elsewhere
            raise LinkUnavailable("no Bluetooth service was found on this computer "
                                  f"({exc.strerror or exc})") from None
        except BleakError as exc:
            if getattr(exc, "dbus_error", None) in NO_BLUEZ_DBUS_ERRORS:
                raise LinkUnavailable("no Bluetooth service was found on this computer "
                                      f"(BlueZ is not running: {exc.dbus_error})") from None
            raise LinkError(f"Bluetooth scan failed: {exc}") from None
        if device is None:
            raise LinkError(f"no Bluetooth device {self.target!r} found nearby: is it switched "
                            "on, charged, and not connected to another app or phone?")
        self.device_name, self.device_address = device.name, device.address
        return device

    async def _connect_async(self) -> None:
        from bleak.exc import BleakBluetoothNotAvailableError, BleakError

        _, client_factory = self._bleak()
        device = await self._scan_async()
        profile = self._resolve_profile(device.name)
        client = client_factory(device, disconnected_callback=self._on_disconnected)
        self._client = client
        try:
            await asyncio.wait_for(client.connect(), self.connect_timeout_s)
            await client.start_notify(profile.notify_uuid, self._on_notify)
            for step in tuple(getattr(profile, "configure", ())) + tuple(profile.start):
                if hasattr(step, "apply"):
                    current = await client.read_gatt_char(step.char_uuid)
                    data = step.apply(bytes(current))
                else:
                    data = step.data
                await client.write_gatt_char(step.char_uuid, data, response=step.with_response)
            await self._read_battery(client)
        except BleakBluetoothNotAvailableError as exc:
            self._client = None
            raise LinkUnavailable(friendly_unavailable(exc)) from None
        except (TimeoutError, BleakError, OSError, ValueError) as exc:
            self._client = None
            await _quiet(client.disconnect())
            raise LinkError(f"cannot connect to {self.target!r}: {exc or type(exc).__name__}") from None

    def _resolve_profile(self, name: str | None) -> BleProfileLike:
        if self.profile is not None:
            return self.profile
        profile = self._profile_choice(name)
        if profile is None:
            raise LinkUnavailable(f"cannot tell what kind of sensor {name or self.target!r} is; "
                                  "pass --protocol")
        self.profile = profile
        return profile

    async def _read_battery(self, client) -> None:
        try:
            for uuid in BATTERY_UUIDS:
                char = client.services.get_characteristic(uuid)
                if char is not None:
                    value = await client.read_gatt_char(char)
                    if value and value[0] <= 100:
                        self.battery_pct = float(value[0])
                        return
        except Exception as exc:  # optional information; never fail a connection over it
            log.debug("battery level not read: %s", exc)

    def read(self, timeout_s: float) -> list:
        if self._lost_pending:
            self._lost_pending = False
            raise LinkLost(f"Bluetooth device {self.target!r} disconnected")
        try:
            items = [self._queue.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        try:
            while True:
                items.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        chunks: list = []
        for item in items:
            if item is _LOST:
                if not chunks:
                    raise LinkLost(f"Bluetooth device {self.target!r} disconnected")
                self._lost_pending = True
                break
            chunks.append(item)
        return chunks

    def disconnect(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is None or self._loop is None:
            return
        try:
            self._loop.run(self._disconnect_async(client), 10.0)
        except Exception as exc:  # the link is being dropped anyway
            log.debug("BLE disconnect: %s", exc)

    async def _disconnect_async(self, client) -> None:
        if client.is_connected and self.profile is not None:
            for write in self.profile.stop:
                await _quiet(client.write_gatt_char(write.char_uuid, write.data,
                                                    response=write.with_response))
            await _quiet(client.stop_notify(self.profile.notify_uuid))
        await _quiet(client.disconnect())

    def shutdown(self) -> None:
        """Disconnect and stop the event loop thread."""
        self.disconnect()
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    def metadata(self) -> dict:
        return {"target": self.target, "name": self.device_name, "address": self.device_address,
                "profile": None if self.profile is None else self.profile.key,
                "battery_pct": self.battery_pct}


async def _quiet(coro) -> None:
    """Await a best-effort clean-up step; its failure is logged, not raised."""
    try:
        await asyncio.wait_for(coro, 5.0)
    except Exception as exc:
        log.debug("BLE clean-up step failed: %s", exc)
