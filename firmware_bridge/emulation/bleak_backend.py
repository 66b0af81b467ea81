"""A bleak backend whose Bluetooth stack is Bumble: bleak's own front-end over a Python host.

bleak accepts a custom backend class (``BleakScanner(..., backend=Cls)``,
``BleakClient(..., backend=Cls)``). :class:`BumbleScanner` and :class:`BumbleClient` are such
backends: below them runs a Bumble host stack (HCI, L2CAP, ATT/GATT client, SMP) on a Bumble
HCI transport: ``tcp-client:127.0.0.1:PORT`` to a virtual controller of
:class:`~cervitrack.firmware_bridge.emulation.ble_air.VirtualAir`, or a real controller
(``usb:0``, ``serial:/dev/ttyACM0,1000000``). Application code keeps bleak's
``BleakScanner``/``BleakClient`` front-ends, so UUID normalisation (a 16-bit ``"ffe4"`` expands
to the SIG base), characteristic resolution, callback wrapping and exceptions are bleak's own.

Behaviour copied from BlueZ, the stack Cervitrack meets most on Linux:

- connecting stops a running scan, and the central then asks for ATT_MTU 517 (BlueZ's
  ``[GATT] ExchangeMTU`` default); the peripheral's server MTU decides the result;
- a write without response longer than ATT_MTU − 3 is refused (an ATT Write Command cannot be
  fragmented); notifications longer than that arrive truncated (the peripheral's GATT server
  cuts them);
- an unsolicited disconnection calls bleak's ``disconnected_callback``.

One Bumble host ("adapter") is shared per (event loop, transport) by the scanners and clients
that use it, and closed when the last one lets go.

Selecting the backend for Cervitrack's BLE driver: :func:`scanner_class` and
:func:`client_factory` fit ``BleDriver(scanner=..., client_factory=...)``;
:func:`backend_from_env` reads ``CERVITRACK_BLE_BACKEND=bumble:HOST:PORT`` (or
``bumble:<Bumble transport>``), which :func:`cervitrack.firmware_bridge.transports.open_ble`
honours, so ``cervitrack stream --device ble:NAME`` can reach a ``cervitrack emulate`` process.

Requires bleak >= 3.0 (``BleakGATTProtocolError``) and bumble.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import uuid as uuidlib
from typing import Any, cast

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)
from bumble import att, core, hci
from bumble.core import AdvertisingData
from bumble.device import Device, Peer
from bumble.gatt import Characteristic

from cervitrack.firmware_bridge.emulation.ble_air import open_hci, settle

log = logging.getLogger(__name__)

#: Environment variable selecting this backend in the ``cervitrack`` process.
ENV_BACKEND = "CERVITRACK_BLE_BACKEND"
#: The client MTU the central asks for after connecting: BlueZ's default ``ExchangeMTU``.
CLIENT_MTU = 517
#: ATT's default MTU before any exchange (Bluetooth Core 5.4 Vol 3 Part F §3.2.8).
DEFAULT_ATT_MTU = 23
#: The central's own (random static) address.
CENTRAL_ADDRESS = "C0:FF:EE:00:00:01"

_PROPERTIES = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)
_UUID_LISTS = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


def uuid_str(u: core.UUID) -> str:
    """A Bumble UUID in bleak's form: 128-bit, lower case (16/32-bit ones on the SIG base)."""
    return str(uuidlib.UUID(bytes=u.to_bytes(force_128=True)[::-1]))


def _address_str(address: hci.Address) -> str:
    return address.to_string(with_type_qualifier=False)


# -- the shared host ("adapter") ------------------------------------------------------------------


class _Adapter:
    """One Bumble host on one transport, reference counted by its scanners and clients."""

    def __init__(self, spec: str, key) -> None:
        self.spec = spec
        self.key = key
        self.transport: Any = None
        self.device: Device | None = None
        self.users = 0
        self.scanning = False
        self._lock = asyncio.Lock()

    async def acquire(self) -> Device:
        async with self._lock:
            if self.device is None:
                try:
                    self.transport = await open_hci(self.spec)
                except Exception as exc:
                    raise BleakBluetoothNotAvailableError(
                        f"the Bluetooth controller at {self.spec!r} cannot be reached: {exc}",
                        BleakBluetoothNotAvailableReason.NO_BLUETOOTH) from exc
                device = Device.with_hci("cervitrack", hci.Address(CENTRAL_ADDRESS),
                                         self.transport.source, self.transport.sink)
                await device.power_on()
                self.device = device
            self.users += 1
            return self.device

    async def release(self) -> None:
        async with self._lock:
            self.users -= 1
            if self.users > 0 or self.device is None:
                return
            _adapters.pop(self.key, None)
            device, transport = self.device, self.transport
            self.transport, self.device, self.scanning = None, None, False
            await settle(device)
            try:
                await transport.close()
            except Exception as exc:  # the controller may be gone already
                log.debug("closing %s: %s", self.spec, exc)


_adapters: dict[tuple[int, str], _Adapter] = {}


def _adapter(spec: str | None) -> _Adapter:
    spec = spec or transport_from_env()
    if not spec:
        raise BleakBluetoothNotAvailableError(
            f"no Bumble transport: pass bumble_transport= or set {ENV_BACKEND}",
            BleakBluetoothNotAvailableReason.NO_BLUETOOTH)
    key = (id(asyncio.get_running_loop()), spec)
    if key not in _adapters:
        _adapters[key] = _Adapter(spec, key)
    return _adapters[key]


# -- scanner --------------------------------------------------------------------------------------


class BumbleScanner(BaseBleakScanner):
    """Active (or passive) LE scanning on the Bumble host; adverts become bleak's
    ``BLEDevice`` / ``AdvertisementData`` (``details`` is the peer's Bumble address)."""

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", *,
                 bumble_transport: str | None = None, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"
        self._spec = bumble_transport
        self._adapter: _Adapter | None = None
        self._names: dict[str, str] = {}

    async def start(self) -> None:
        adapter = _adapter(self._spec)
        device = await adapter.acquire()
        self._adapter = adapter
        self.seen_devices = {}
        device.on("advertisement", self._on_advertisement)
        if not adapter.scanning:
            await device.start_scanning(active=self._active, filter_duplicates=False)
            adapter.scanning = True

    async def stop(self) -> None:
        adapter, self._adapter = self._adapter, None
        if adapter is None:
            return
        device = adapter.device
        if device is not None:
            device.remove_listener("advertisement", self._on_advertisement)
            if adapter.scanning:
                adapter.scanning = False
                await device.stop_scanning()
        await adapter.release()

    def _on_advertisement(self, adv) -> None:
        data: AdvertisingData = adv.data
        key = _address_str(adv.address)
        name = (data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
                or data.get(AdvertisingData.SHORTENED_LOCAL_NAME))
        if isinstance(name, (bytes, bytearray)):
            name = name.decode("utf-8", "replace")
        if name:
            self._names[key] = name  # adverts and scan responses arrive separately
        name = name or self._names.get(key)
        uuids = [uuid_str(u) for t in _UUID_LISTS for u in cast(list, data.get(t) or [])]
        if not self.is_allowed_uuid(uuids):
            return
        manufacturer = {}
        raw = data.get(AdvertisingData.MANUFACTURER_SPECIFIC_DATA, raw=True)
        if raw and len(raw) >= 2:
            manufacturer[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
        advertisement = AdvertisementData(
            local_name=name, manufacturer_data=manufacturer, service_data={},
            service_uuids=uuids, tx_power=data.get(AdvertisingData.TX_POWER_LEVEL),
            rssi=adv.rssi, platform_data=(adv,))
        device = self.create_or_update_device(key, key, name, adv.address, advertisement)
        self.call_detection_callbacks(device, advertisement)


# -- client ---------------------------------------------------------------------------------------


def _gatt_error(exc: Exception) -> Exception:
    if isinstance(exc, att.ATT_Error):
        return BleakGATTProtocolError(exc.error_code)
    if isinstance(exc, (core.TimeoutError, asyncio.TimeoutError)):
        return BleakError(f"GATT operation timed out: {exc}")
    return BleakError(str(exc) or type(exc).__name__)


class BumbleClient(BaseBleakClient):
    """A GATT client connection made by the Bumble host.

    Keyword args (passed through ``BleakClient``): ``bumble_transport`` (else the environment),
    ``bumble_mtu`` (the MTU to ask for, default :data:`CLIENT_MTU`; 0 keeps 23).
    """

    def __init__(self, address_or_ble_device, *, disconnected_callback=None, services=None,
                 timeout: float = 10.0, bumble_transport: str | None = None,
                 bumble_mtu: int = CLIENT_MTU, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback,
                         timeout=timeout)
        details = getattr(address_or_ble_device, "details", None)
        if isinstance(address_or_ble_device, BLEDevice) and isinstance(details, hci.Address):
            self._peer_address = details
            self._name = address_or_ble_device.name
        else:  # a plain address: as on BlueZ, the device must have been seen by a scan
            self._peer_address = hci.Address(str(address_or_ble_device))
            self._name = None
        self._spec = bumble_transport
        self._want_mtu = bumble_mtu
        self._adapter: _Adapter | None = None
        self._connection: Any = None
        self._peer: Peer | None = None
        self._disconnecting = False

    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._peer.gatt_client.mtu if self._peer is not None else DEFAULT_ATT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        adapter = _adapter(self._spec)
        device = await adapter.acquire()
        self._adapter = adapter
        try:
            if adapter.scanning:  # BlueZ stops discovery to connect, too
                adapter.scanning = False
                await device.stop_scanning()
            try:
                connection = await device.connect(self._peer_address, timeout=self._timeout)
            except core.TimeoutError:
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found.") from None
            except hci.HCI_Error as exc:
                raise BleakError(f"connection failed: {exc}") from exc
        except BaseException:
            await self._release()
            raise
        self._connection = connection
        connection.on("disconnection", self._on_disconnection)
        self._peer = Peer(connection)
        try:
            if pair:
                await connection.pair()
            if self._want_mtu and self._want_mtu > DEFAULT_ATT_MTU:
                await self._peer.request_mtu(self._want_mtu)
            await self._discover()
        except Exception as exc:
            await self.disconnect()
            raise _gatt_error(exc) from exc

    async def _discover(self) -> None:
        peer = self._need_peer()
        await peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            await service.discover_characteristics()
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in service.characteristics:
                await char.discover_descriptors()
                properties: list[Any] = [name for flag, name in _PROPERTIES
                                         if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, uuid_str(char.uuid), properties,
                    lambda: self.mtu_size - 3, bleak_service)
                collection.add_characteristic(bleak_char)
                for descriptor in char.descriptors:
                    collection.add_descriptor(BleakGATTDescriptor(
                        descriptor, descriptor.handle, uuid_str(descriptor.type), bleak_char))
        self.services = collection

    def _on_disconnection(self, _reason) -> None:
        self._connection = None
        self._peer = None
        if self._disconnecting:  # disconnect() releases the adapter itself
            return
        if self._adapter is not None:
            asyncio.get_running_loop().create_task(self._release())
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _release(self) -> None:
        adapter, self._adapter = self._adapter, None
        if adapter is not None:
            await adapter.release()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is not None:
            self._disconnecting = True
            try:
                await connection.disconnect()
            except Exception as exc:  # already gone
                log.debug("disconnect: %s", exc)
            finally:
                self._connection = None
                self._peer = None
                self._disconnecting = False
        await self._release()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("Not connected")
        await self._connection.pair()

    async def unpair(self) -> None:
        """Forget the bonding keys of this peer (and disconnect, as BlueZ does)."""
        await self.disconnect()
        adapter = _adapter(self._spec)
        device = adapter.device
        if device is not None and device.keystore is not None:
            await device.keystore.delete(str(self._peer_address))

    def _need_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic, *, use_cached=False, **kwargs) -> bytearray:
        peer = self._need_peer()
        try:
            return bytearray(await peer.read_value(characteristic.obj))
        except Exception as exc:
            raise _gatt_error(exc) from exc

    async def read_gatt_descriptor(self, descriptor, *, use_cached=False, **kwargs) -> bytearray:
        peer = self._need_peer()
        try:
            return bytearray(await peer.read_value(descriptor.obj))
        except Exception as exc:
            raise _gatt_error(exc) from exc

    async def write_gatt_char(self, characteristic, data, response: bool) -> None:
        peer = self._need_peer()
        data = bytes(data)
        if not response and len(data) > self.mtu_size - 3:
            raise BleakError(f"a write without response of {len(data)} bytes exceeds "
                             f"ATT_MTU - 3 = {self.mtu_size - 3}")
        try:
            await peer.write_value(characteristic.obj, data, with_response=response)
        except Exception as exc:
            raise _gatt_error(exc) from exc

    async def write_gatt_descriptor(self, descriptor, data) -> None:
        peer = self._need_peer()
        try:
            await peer.write_value(descriptor.obj, bytes(data), with_response=True)
        except Exception as exc:
            raise _gatt_error(exc) from exc

    async def start_notify(self, characteristic, callback: NotifyCallback, **kwargs) -> None:
        peer = self._need_peer()
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"characteristic {characteristic.uuid} does not notify or indicate")

        def subscriber(value) -> None:
            callback(bytearray(value))

        characteristic.obj.cervitrack_subscriber = subscriber
        try:
            await peer.subscribe(characteristic.obj, subscriber,
                                 prefer_notify=True)
        except Exception as exc:
            raise _gatt_error(exc) from exc

    async def stop_notify(self, characteristic) -> None:
        peer = self._need_peer()
        try:
            await peer.unsubscribe(characteristic.obj,
                                   getattr(characteristic.obj, "cervitrack_subscriber", None))
        except Exception as exc:
            raise _gatt_error(exc) from exc


# -- front-ends for Cervitrack's BLE driver -------------------------------------------------------


def scanner_class(transport: str | None = None) -> type:
    """A ``bleak.BleakScanner`` subclass on this backend (its classmethods work as usual)."""
    import bleak

    class BumbleBleakScanner(bleak.BleakScanner):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("backend", BumbleScanner)
            if transport:
                kwargs.setdefault("bumble_transport", transport)
            super().__init__(*args, **kwargs)

    return BumbleBleakScanner


def client_factory(transport: str | None = None, **options):
    """``bleak.BleakClient`` bound to this backend: ``factory(device, disconnected_callback=...)``.
    ``options`` go to :class:`BumbleClient` (e.g. ``bumble_mtu=23``)."""
    import bleak

    kwargs = dict(options, backend=BumbleClient)
    if transport:
        kwargs["bumble_transport"] = transport
    return functools.partial(bleak.BleakClient, **kwargs)


_HOST_PORT = re.compile(r"^[A-Za-z0-9._-]+:\d{1,5}$")
#: Bumble transport names (bumble/transport/__init__.py), passed through unchanged.
_BUMBLE_SCHEMES = frozenset({
    "serial", "udp", "tcp-client", "tcp-server", "ws-client", "ws-server", "pty", "file", "vhci",
    "hci-socket", "usb", "pyusb", "android-emulator", "android-netsim", "unix", "unix-client",
    "unix-server"})


def parse_backend(text: str) -> str:
    """The Bumble transport named by a ``CERVITRACK_BLE_BACKEND`` value.

    ``bumble:HOST:PORT`` is a virtual controller on TCP (``tcp-client:HOST:PORT``);
    ``bumble:SPEC`` is any other Bumble transport (``bumble:usb:0``). ValueError otherwise.
    """
    kind, _, rest = text.strip().partition(":")
    if kind != "bumble" or not rest:
        raise ValueError(f"{ENV_BACKEND}={text!r} is not understood: expected "
                         "bumble:HOST:PORT (e.g. bumble:127.0.0.1:9100) or bumble:TRANSPORT")
    scheme = rest.partition(":")[0]
    if scheme not in _BUMBLE_SCHEMES and _HOST_PORT.match(rest):
        return f"tcp-client:{rest}"
    return rest


def transport_from_env(environ=None) -> str | None:
    """The Bumble transport ``CERVITRACK_BLE_BACKEND`` selects, or None when it is unset."""
    text = (os.environ if environ is None else environ).get(ENV_BACKEND, "").strip()
    return parse_backend(text) if text else None


def backend_from_env(environ=None):
    """``(scanner, client_factory)`` for ``BleDriver`` when ``CERVITRACK_BLE_BACKEND`` selects
    this backend, else ``(None, None)`` (bleak's platform backend)."""
    transport = transport_from_env(environ)
    if transport is None:
        return None, None
    return scanner_class(transport), client_factory(transport)
