"""BLE transport through a fake of bleak's API (bleak 3.x, checked against its source).

The fake follows bleak where the driver touches it: ``BleakScanner.discover(timeout,
return_adv=...)``, ``find_device_by_address`` (case-insensitive), ``find_device_by_name``
(exact local name), returning real ``BLEDevice`` / ``AdvertisementData`` objects or None;
``BleakClient(device, disconnected_callback=...)`` whose callback receives the client;
``connect``/``disconnect``/``is_connected``; ``services.get_characteristic`` with bleak's UUID
normalisation (a 16-bit UUID expands to the SIG base); ``start_notify`` raising
``BleakError("Not connected")`` when disconnected and ``BleakCharacteristicNotFoundError`` for
unknown characteristics; ``write_gatt_char(char, data, response=...)``; ``stop_notify``;
``read_gatt_char``; and notifications delivered on the event loop as
``callback(characteristic, bytearray)``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakCharacteristicNotFoundError,
    BleakError,
)
from bleak.uuids import normalize_uuid_str

from cervitrack.firmware_bridge import profiles
from cervitrack.firmware_bridge.protocols import reference
from cervitrack.firmware_bridge.supervisor import SupervisorParams
from cervitrack.firmware_bridge.transports.base import (
    LinkError,
    LinkLost,
    LinkUnavailable,
    LiveSource,
)
from cervitrack.firmware_bridge.transports.ble import BleDriver, friendly_unavailable, is_address
from cervitrack.signal.samples import Chunk, Gap

# -- device profiles (firmware_bridge.profiles, from MbientLab MetaWear-SDK-Cpp unit tests; Movella DOT BLE Services Specification; docs/devices/oht-headset.md) ----------

OHT_NUS = profiles.BLE_PROFILES["oht-nus"]
NUS_TX, NUS_RX = profiles.NUS_TX_NOTIFY, profiles.NUS_RX_WRITE
DOT = profiles.movella_dot_profile(5)
DOT_MEAS, DOT_SHORT = profiles.DOT_MEASUREMENT, profiles.DOT_SHORT_PAYLOAD
METAMOTION = profiles.BLE_PROFILES["metamotion"]
MW_CMD, MW_NOTIFY = profiles.METAWEAR_COMMAND, profiles.METAWEAR_NOTIFY
#: The MetaWear start and stop sequences as printed in MbientLab MetaWear-SDK-Cpp unit tests (SDK unit tests).
MW_START = tuple(bytes.fromhex(h) for h in (
    "19020113", "0303280C", "13032800", "1504040E", "150306", "190701", "03020100", "13020100",
    "15020100", "030101", "130101", "150101", "19030800", "190101"))
MW_STOP = tuple(bytes.fromhex(h) for h in (
    "190100", "1903007F", "030100", "130100", "150100", "03020001", "13020001", "15020001",
    "190700"))
WITMOTION_NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"

# -- the fake ------------------------------------------------------------------------------------


@dataclass
class FakeCharacteristic:
    uuid: str
    handle: int
    properties: list = field(default_factory=lambda: ["read", "write", "notify"])


class FakeServices:
    """``BleakGATTServiceCollection.get_characteristic``: handle or UUID (normalised)."""

    def __init__(self, uuids) -> None:
        self.characteristics = {i + 1: FakeCharacteristic(u, i + 1) for i, u in enumerate(uuids)}

    def get_characteristic(self, specifier):
        if isinstance(specifier, int):
            return self.characteristics.get(specifier)
        uuid = normalize_uuid_str(str(specifier))
        return next((c for c in self.characteristics.values() if c.uuid == uuid), None)


class FakePeripheral:
    """A BLE device in the room: advertises, accepts one client, notifies on request."""

    def __init__(self, name: str, address: str, characteristics, battery: int | None = None,
                 service_uuids=(), battery_uuid: str = BATTERY_LEVEL) -> None:
        self.name = name
        self.address = address
        self.characteristics = [c.lower() for c in characteristics]
        self.battery_uuid = battery_uuid
        if battery is not None:
            self.characteristics.append(battery_uuid)
        self.battery = battery
        self.service_uuids = list(service_uuids)
        self.advertising = True
        self.rssi = -58
        self.log: list[tuple] = []
        self.client: FakeClient | None = None
        self.subscriptions: dict[str, object] = {}
        self.clients_made = 0

    def ble_device(self) -> BLEDevice:
        return BLEDevice(self.address, self.name, details=None)

    def adv(self) -> AdvertisementData:
        return AdvertisementData(local_name=self.name, manufacturer_data={}, service_data={},
                                 service_uuids=self.service_uuids, tx_power=None,
                                 rssi=self.rssi, platform_data=())

    def notify(self, data: bytes, uuid: str | None = None) -> None:
        """Send a notification: the callback runs on the client's event loop."""
        client = self.client
        uuid = uuid or next(iter(self.subscriptions))
        callback = self.subscriptions[uuid]
        char = client.services.get_characteristic(uuid)
        client.loop.call_soon_threadsafe(callback, char, bytearray(data))

    def drop(self) -> None:
        """The link breaks (out of range, battery): bleak calls disconnected_callback."""
        client = self.client
        self.log.append(("dropped",))
        self.subscriptions.clear()
        self.client = None
        client._connected = False
        client.loop.call_soon_threadsafe(client._disconnected_callback)


class FakeScanner:
    """``BleakScanner`` class methods over a list of peripherals."""

    peripherals: list[FakePeripheral] = []
    scans = 0
    unavailable: BleakBluetoothNotAvailableReason | None = None

    @classmethod
    def _visible(cls):
        cls.scans += 1
        if cls.unavailable is not None:
            raise BleakBluetoothNotAvailableError("Bluetooth not available", cls.unavailable)
        for p in cls.peripherals:
            p.log.append(("scanned",))
        return [p for p in cls.peripherals if p.advertising]

    @classmethod
    async def discover(cls, timeout: float = 5.0, *, return_adv: bool = False, **kwargs):
        await asyncio.sleep(0)
        visible = cls._visible()
        if return_adv:
            return {p.address: (p.ble_device(), p.adv()) for p in visible}
        return [p.ble_device() for p in visible]

    @classmethod
    async def find_device_by_address(cls, device_identifier: str, timeout: float = 10.0, **kwargs):
        await asyncio.sleep(0)
        return next((p.ble_device() for p in cls._visible()
                     if p.address.lower() == device_identifier.lower()), None)

    @classmethod
    async def find_device_by_name(cls, name: str, timeout: float = 10.0, **kwargs):
        await asyncio.sleep(0)
        return next((p.ble_device() for p in cls._visible() if p.name == name), None)


class FakeClient:
    """``BleakClient`` over a :class:`FakePeripheral` found by address."""

    def __init__(self, address_or_ble_device, disconnected_callback=None, services=None, *,
                 timeout: float = 30, **kwargs) -> None:
        address = getattr(address_or_ble_device, "address", address_or_ble_device)
        self.peripheral = next(p for p in FakeScanner.peripherals if p.address == address)
        self.peripheral.clients_made += 1
        self._user_callback = disconnected_callback
        self._connected = False
        self.services = FakeServices(self.peripheral.characteristics)
        self.loop = None

    def _disconnected_callback(self) -> None:
        if self._user_callback is not None:
            self._user_callback(self)  # bleak passes the client (functools.partial)

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def address(self) -> str:
        return self.peripheral.address

    async def connect(self, **kwargs) -> None:
        self.loop = asyncio.get_running_loop()
        if not self.peripheral.advertising or self.peripheral.client is not None:
            raise BleakError(f"Device with address {self.peripheral.address} was not found.")
        self._connected = True
        self.peripheral.client = self
        self.peripheral.log.append(("connect",))

    async def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            self.peripheral.client = None
            self.peripheral.subscriptions.clear()
            self.peripheral.log.append(("disconnect",))
            self.loop.call_soon(self._disconnected_callback)

    def _resolve(self, specifier):
        if isinstance(specifier, FakeCharacteristic):
            return specifier
        char = self.services.get_characteristic(specifier)
        if char is None:
            raise BleakCharacteristicNotFoundError(specifier)
        return char

    async def start_notify(self, char_specifier, callback, **kwargs) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        char = self._resolve(char_specifier)
        self.peripheral.subscriptions[char.uuid] = callback
        self.peripheral.log.append(("start_notify", char.uuid))

    async def stop_notify(self, char_specifier) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        char = self._resolve(char_specifier)
        self.peripheral.subscriptions.pop(char.uuid, None)
        self.peripheral.log.append(("stop_notify", char.uuid))

    async def write_gatt_char(self, char_specifier, data, response=None) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        char = self._resolve(char_specifier)
        self.peripheral.log.append(("write", char.uuid, bytes(data), response))

    async def read_gatt_char(self, char_specifier, **kwargs) -> bytearray:
        char = self._resolve(char_specifier)
        if char.uuid == self.peripheral.battery_uuid:
            return bytearray([self.peripheral.battery, 0])  # level %, not charging
        self.peripheral.log.append(("read", char.uuid))
        return bytearray(getattr(self.peripheral, "values", {}).get(char.uuid, b""))


@pytest.fixture
def room():
    """The peripherals in range (reset per test)."""
    FakeScanner.peripherals = []
    FakeScanner.scans = 0
    FakeScanner.unavailable = None
    yield FakeScanner.peripherals
    FakeScanner.peripherals = []


def make_driver(target, profile, **kwargs) -> BleDriver:
    return BleDriver(target, profile, scanner=FakeScanner, client_factory=FakeClient,
                     scan_timeout_s=1.0, connect_timeout_s=1.0, **kwargs)


def read_until(driver, n_chunks: int, timeout_s: float = 5.0) -> list:
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n_chunks and time.monotonic() < deadline:
        out += driver.read(0.05)
    return out


def since_last_connect(log):
    i = max(k for k, e in enumerate(log) if e[0] == "connect")
    return log[i:]


# -- tests ---------------------------------------------------------------------------------------


def test_the_fake_expands_short_uuids_like_bleak_so_witmotion_needs_full_uuids(room):
    services = FakeServices([WITMOTION_NOTIFY])
    assert services.get_characteristic("ffe4") is None  # SIG base ...9b34fb, not WitMotion's 9a
    assert services.get_characteristic(WITMOTION_NOTIFY.upper()) is not None


def test_metamotion_start_commands_are_written_in_order_after_subscribing(room):
    room.append(FakePeripheral("MetaWear", "C4:7D:11:22:33:44", [MW_CMD, MW_NOTIFY]))
    driver = make_driver("c4:7d:11:22:33:44", METAMOTION)
    try:
        driver.connect()
        log = room[0].log
        events = since_last_connect(log)
        assert events[1] == ("start_notify", MW_NOTIFY)
        writes = [e for e in events if e[0] == "write"]
        assert [w[2] for w in writes] == list(MW_START)
        assert all(w[1] == MW_CMD and w[3] is False for w in writes)  # without response
        driver.disconnect()
        stop = [e[2] for e in log if e[0] == "write"][len(MW_START):]
        assert stop == list(MW_STOP)
        assert log[-2:] == [("stop_notify", MW_NOTIFY), ("disconnect",)]
    finally:
        driver.shutdown()


def test_movella_dot_enables_notifications_before_the_start_write(room):
    dot = FakePeripheral("Movella DOT", "D4:22:CD:00:11:22", [DOT_MEAS, DOT_SHORT], battery=87,
                         battery_uuid="15173001-4947-11e9-8646-d663bd873d93")
    room.append(dot)
    driver = make_driver("Movella DOT", DOT)
    try:
        driver.connect()
        kinds = [e[0] for e in dot.log]
        assert kinds.index("start_notify") < kinds.index("write")
        assert ("write", DOT_MEAS, bytes([1, 1, 5]), True) in dot.log
        assert driver.battery_pct == 87.0
        assert driver.metadata()["name"] == "Movella DOT"
    finally:
        driver.shutdown()


def test_notifications_arrive_as_stamped_chunks_in_order(room):
    dev = FakePeripheral("OHT-1", "AA:BB:CC:DD:EE:01", [NUS_RX, NUS_TX])
    room.append(dev)
    driver = make_driver("OHT-1", OHT_NUS)
    try:
        driver.connect()
        payloads = [bytes([i]) * (i + 1) for i in range(20)]
        t_before = time.monotonic()
        for p in payloads:
            dev.notify(p)
        chunks = read_until(driver, len(payloads))
        assert [c.data for c in chunks] == payloads
        t = [c.t_host_s for c in chunks]
        assert t_before <= t[0] and t == sorted(t)
        assert all(isinstance(c, Chunk) for c in chunks)
    finally:
        driver.shutdown()


def test_disconnect_is_reported_then_reconnect_rescans_resubscribes_and_resends(room):
    dev = FakePeripheral("OHT-2", "AA:BB:CC:DD:EE:02", [NUS_RX, NUS_TX])
    room.append(dev)
    driver = make_driver("AA:BB:CC:DD:EE:02", OHT_NUS)
    try:
        driver.connect()
        dev.notify(b"\x01\x02")
        assert [c.data for c in read_until(driver, 1)] == [b"\x01\x02"]
        scans_before = FakeScanner.scans
        dev.drop()
        with pytest.raises(LinkLost):
            for _ in range(100):
                driver.read(0.05)
        driver.disconnect()
        dev.advertising = False  # out of range for a while: the attempt fails cleanly
        with pytest.raises(LinkError, match="no Bluetooth device"):
            driver.connect()
        dev.advertising = True
        driver.connect()
        assert FakeScanner.scans == scans_before + 2  # each attempt scanned first
        assert dev.clients_made == 2  # a new client, never the old one
        events = since_last_connect(dev.log)
        assert events[1] == ("start_notify", NUS_TX)
        assert events[2] == ("write", NUS_RX, OHT_NUS.start[0].data, False)
        dev.notify(b"\x03")
        assert [c.data for c in read_until(driver, 1)] == [b"\x03"]
    finally:
        driver.shutdown()


def test_live_source_marks_one_gap_per_ble_interruption_and_resumes(room):
    dev = FakePeripheral("OHT-3", "AA:BB:CC:DD:EE:03", [NUS_RX, NUS_TX])
    room.append(dev)
    driver = make_driver("OHT-3", OHT_NUS)
    source = LiveSource(driver, "reference", 100.0, "ble:OHT-3",
                        params=SupervisorParams(backoff_initial_s=0.01, backoff_max_s=0.05))
    frames = reference.encode_samples(np.arange(40), np.arange(40) * 10_000,
                                      np.tile([1.0, 0, 0, 0], (40, 1)))
    items: list = []
    polls = source.polls()
    try:
        def collect(pred, timeout_s=5.0):
            deadline = time.monotonic() + timeout_s
            while not pred() and time.monotonic() < deadline:
                items.extend(next(polls))

        next(polls)
        collect(lambda: dev.client is not None and dev.subscriptions)
        dev.notify(frames[:440])
        collect(lambda: sum(len(i.data) for i in items if isinstance(i, Chunk)) == 440)
        dev.drop()
        collect(lambda: dev.client is not None and dev.subscriptions)  # reconnected by itself
        dev.notify(frames[440:])
        collect(lambda: sum(len(i.data) for i in items if isinstance(i, Chunk)) == len(frames))
    finally:
        source.close()
    gaps = [i for i in items if isinstance(i, Gap)]
    assert len(gaps) == 1 and gaps[0].reason == "disconnect"
    data = b"".join(i.data for i in items if isinstance(i, Chunk))
    assert data == frames
    assert source.supervisor.reconnects == 1
    assert [e[0] for e in dev.log].count("start_notify") == 2
    assert dev.client is None  # closed: stop command sent and disconnected
    assert dev.log[-3][2] == OHT_NUS.stop[0].data


def test_bluetooth_switched_off_gives_a_patient_friendly_message(room):
    FakeScanner.unavailable = BleakBluetoothNotAvailableReason.POWERED_OFF
    driver = make_driver("OHT-4", OHT_NUS)
    try:
        with pytest.raises(LinkUnavailable, match="Bluetooth is switched off: switch it on"):
            driver.connect()
    finally:
        driver.shutdown()
    denied = BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.DENIED_BY_USER)
    assert "not allowed to use Bluetooth" in friendly_unavailable(denied)


@pytest.mark.parametrize("dbus_error, unavailable", [
    ("org.freedesktop.DBus.Error.Spawn.ChildExited", True),   # system bus up, no bluetoothd
    ("org.freedesktop.DBus.Error.ServiceUnknown", True),
    ("org.bluez.Error.InProgress", False),                     # BlueZ there, a real failure
])
def test_dbus_without_bluez_is_no_bluetooth_service(dbus_error, unavailable):
    """On Linux with a D-Bus system bus but no bluetoothd, bleak raises BleakDBusError (the
    first error is what stock bleak 3.1 raised on such a machine): Cervitrack says there is no
    Bluetooth service and does not retry; other BlueZ errors stay ordinary scan failures."""
    from bleak.exc import BleakDBusError

    class NoBlueZScanner:
        @classmethod
        async def find_device_by_name(cls, name, timeout=10.0, **kwargs):
            raise BleakDBusError(dbus_error, ["Launch helper exited with unknown return code 1"])

    driver = BleDriver("WT901BLE68", profiles.BLE_PROFILES["witmotion-ble"],
                       scanner=NoBlueZScanner, client_factory=FakeClient)
    try:
        with pytest.raises(LinkError) as caught:
            driver.connect()
    finally:
        driver.shutdown()
    assert isinstance(caught.value, LinkUnavailable) is unavailable
    expected = "no Bluetooth service was found" if unavailable else "Bluetooth scan failed"
    assert expected in str(caught.value)


def test_unrecognised_device_without_protocol_asks_for_one(room):
    room.append(FakePeripheral("Mystery", "AA:BB:CC:DD:EE:05", [NUS_RX, NUS_TX]))
    driver = make_driver("Mystery", lambda name: None)
    try:
        with pytest.raises(LinkUnavailable, match="pass --protocol"):
            driver.identify()
    finally:
        driver.shutdown()


def test_addresses_and_names_are_told_apart():
    assert is_address("AA:BB:CC:DD:EE:FF")
    assert is_address("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")  # macOS peripheral UUID
    assert not is_address("OHT-1234")
    assert not is_address("WT901BLE68")


# -- cervitrack devices ---------------------------------------------------------------------------


@dataclass
class FakePort:
    """What ``serial.tools.list_ports.comports()`` yields (ListPortInfo attributes)."""

    device: str
    description: str
    vid: int | None = None
    pid: int | None = None
    manufacturer: str | None = None
    serial_number: str | None = None


class FakeListPorts:
    ports = [FakePort("/dev/ttyUSB0", "USB Serial", 0x1A86, 0x7523, "QinHeng"),
             FakePort("/dev/ttyACM0", "USB JTAG/serial debug unit", 0x303A, 0x1001, "Espressif"),
             FakePort("/dev/rfcomm0", "n/a")]

    @classmethod
    def comports(cls):
        return list(cls.ports)


def test_devices_lists_ports_and_ble_sensors_with_their_kind(room, monkeypatch, capsys):
    import bleak
    import serial.tools

    from cervitrack.trainer.cli import main

    monkeypatch.setattr(serial.tools, "list_ports", FakeListPorts, raising=False)
    monkeypatch.setitem(sys.modules, "serial.tools.list_ports", FakeListPorts)
    monkeypatch.setattr(bleak, "BleakScanner", FakeScanner)
    room.append(FakePeripheral("OHT-7", "AA:BB:CC:DD:EE:07", [NUS_RX, NUS_TX]))
    room.append(FakePeripheral("Thermometer", "AA:BB:CC:DD:EE:08", [], service_uuids=[]))
    assert main(["devices", "--json", "--scan-time", "0.1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {p["device"]: (p["kind"], p["protocol_hint"]) for p in doc["serial"]}
    assert kinds["/dev/ttyUSB0"][0] == "usb-serial CH340"
    assert kinds["/dev/ttyACM0"] == ("esp32 native USB", "reference")
    assert kinds["/dev/rfcomm0"][0] == "bluetooth-spp"
    ble = {d["name"]: d for d in doc["ble"]}
    assert ble["OHT-7"]["protocol_hint"] == "reference" and ble["OHT-7"]["rssi_dbm"] == -58
    assert ble["Thermometer"]["kind"] == "unknown"
    assert doc["ble_error"] is None


def test_devices_without_bluetooth_still_lists_serial_ports_and_exits_0(room, monkeypatch,
                                                                       capsys):
    import bleak
    import serial.tools

    from cervitrack.trainer.cli import main

    monkeypatch.setattr(serial.tools, "list_ports", FakeListPorts, raising=False)
    monkeypatch.setitem(sys.modules, "serial.tools.list_ports", FakeListPorts)
    monkeypatch.setattr(bleak, "BleakScanner", FakeScanner)
    FakeScanner.unavailable = BleakBluetoothNotAvailableReason.POWERED_OFF
    assert main(["devices", "--scan-time", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "/dev/ttyUSB0" in out
    assert "not available: Bluetooth is switched off: switch it on" in out


def test_a_silent_link_reads_empty_until_data_or_a_disconnect(room):
    dev = FakePeripheral("OHT-9", "AA:BB:CC:DD:EE:09", [NUS_RX, NUS_TX])
    room.append(dev)
    driver = make_driver("OHT-9", OHT_NUS)
    try:
        driver.connect()
        assert driver.read(0.01) == []
        dev.notify(b"\x05")
        dev.drop()
        assert [c.data for c in read_until(driver, 1)] == [b"\x05"]  # data first...
        with pytest.raises(LinkLost):  # ...then the disconnect
            driver.read(0.05)
    finally:
        driver.shutdown()


# -- configuration on connect (profiles.configured_ble_profile) -----------------------------------

WITMOTION_WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"


def test_witmotion_ble_is_configured_on_ffe9_after_subscribing_in_order(room):
    """Unlock, rate 100 Hz (WitMotion's BLE 5.0 protocol manual (WT901BLECL), quoted in
    docs/devices/witmotion-ble.md), written without response to FFE9 after notifications on
    FFE4 are enabled, on every connection; save only when asked."""
    from cervitrack.firmware_bridge.device_spec import parse_device_spec
    from cervitrack.firmware_bridge.transports import open_ble

    dev = FakePeripheral("WT901BLE67", "E1:2B:3C:4D:5E:6F", [WITMOTION_NOTIFY, WITMOTION_WRITE])
    room.append(dev)
    source = open_ble(parse_device_spec("ble:WT901BLE67"), scanner=FakeScanner,
                      client_factory=FakeClient, save_config=True)
    assert source.nominal_rate_hz == 100.0 and source.configured_rate_hz == 100.0
    driver = source.driver
    driver.scan_timeout_s = driver.connect_timeout_s = 1.0
    try:
        driver.connect()
        events = since_last_connect(dev.log)
        assert events[1] == ("start_notify", WITMOTION_NOTIFY)
        assert events[2:] == [
            ("write", WITMOTION_WRITE, bytes.fromhex("FF AA 69 88 B5"), False),
            ("write", WITMOTION_WRITE, bytes.fromhex("FF AA 03 09 00"), False),
            ("write", WITMOTION_WRITE, bytes.fromhex("FF AA 00 00 00"), False)]
        dev.drop()
        time.sleep(0.05)
        driver.connect()  # a reconnect configures again (a power-cycled sensor forgot it)
        assert [e[2] for e in since_last_connect(dev.log) if e[0] == "write"][:2] == [
            bytes.fromhex("FF AA 69 88 B5"), bytes.fromhex("FF AA 03 09 00")]
    finally:
        driver.shutdown()


def test_movella_dot_rate_and_filter_are_read_modify_written_before_start(room):
    from cervitrack.firmware_bridge.device_spec import parse_device_spec
    from cervitrack.firmware_bridge.transports import open_ble

    dot = FakePeripheral("Movella DOT", "D4:22:CD:00:11:23",
                         [DOT_MEAS, DOT_SHORT, profiles.DOT_CONTROL])
    control = bytes([0x00]) + bytes(range(1, 24)) + bytes([60, 0, 0]) + bytes(5)
    dot.values = {profiles.DOT_CONTROL: control}
    room.append(dot)
    source = open_ble(parse_device_spec("ble:Movella DOT"), protocol="movella-dot",
                      scanner=FakeScanner, client_factory=FakeClient, rate_hz=30,
                      filter_profile="dynamic")
    driver = source.driver
    driver.scan_timeout_s = driver.connect_timeout_s = 1.0
    try:
        driver.connect()
        events = since_last_connect(dot.log)
        kinds = [e[0] for e in events]
        assert kinds[:5] == ["connect", "start_notify", "read", "write", "write"]
        assert events[2] == ("read", profiles.DOT_CONTROL)
        _, uuid, data, response = events[3]
        assert uuid == profiles.DOT_CONTROL and response is True
        assert data[24:27] == bytes([30, 0, 1])  # 30 Hz u16 LE, filter profile 1 (Dynamic)
        assert data[1:24] == control[1:24] and data[27:] == control[27:]
        assert data[0] == 0x30  # visit index: output rate + filter profile
        assert events[4] == ("write", DOT_MEAS, bytes([1, 1, 5]), True)  # then start
        assert source.nominal_rate_hz == 30.0
    finally:
        driver.shutdown()
