"""Cervitrack's BLE path against emulated sensors on a real (Python) Bluetooth stack.

No Bluetooth hardware or kernel support is needed: Bumble's virtual controllers share one
virtual link (firmware_bridge/emulation/ble_air.py, loopback TCP), the emulated peripherals run
Bumble GATT servers (ble_peripherals.py) and bleak's own ``BleakScanner``/``BleakClient`` run on
a Bumble-driven backend (bleak_backend.py). Cervitrack's ``BleDriver``, ``open_ble`` and the link
supervisor are used unchanged, so scanning by name, GATT discovery, CCCD subscription, command
writes, ATT MTU limits, disconnection events and reconnection are real protocol exchanges; the
notified bytes come from the protocols' encoders and are decoded by the real decoders.

Motion: the built-in ``turning(20 °/s)`` head, so consecutive samples differ by 20°/rate in yaw:
the sample spacing in device time (the configured rate) is read from the decoded data, with no
wall-clock assertion.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import numpy as np
import pytest
from bleak.exc import BleakCharacteristicNotFoundError, BleakError

from cervitrack.firmware_bridge import profiles
from cervitrack.firmware_bridge.device_spec import parse_device_spec
from cervitrack.firmware_bridge.emulation import ble_peripherals, bleak_backend
from cervitrack.firmware_bridge.emulation.ble_air import VirtualAir
from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.transports import open_ble
from cervitrack.firmware_bridge.transports.base import LinkError
from cervitrack.firmware_bridge.transports.ble import BleDriver
from cervitrack.signal import quaternion as quat
from cervitrack.signal.samples import Chunk, Gap

TURN_DEG_S = 20.0
#: Longest wait for an emulated event, s (a bound, never a measured duration).
WAIT_S = 10.0


@pytest.fixture
def air():
    with VirtualAir(2) as radio:
        yield radio


@pytest.fixture
def started():
    """Start a peripheral on controller 0: ``started(air, cls, **kw)``; stopped at teardown
    (after the test's drivers, before the air)."""
    running = []

    def start(radio, cls, **kwargs):
        kwargs.setdefault("motion", ble_peripherals.turning(TURN_DEG_S))
        device = cls(**kwargs).start(radio.transport(0))
        running.append(device)
        return device

    yield start
    for device in running:
        device.stop()


def make_driver(radio, target, profile, **client_options) -> BleDriver:
    transport = radio.transport(1)
    return BleDriver(target, profile, scanner=bleak_backend.scanner_class(transport),
                     client_factory=bleak_backend.client_factory(transport, **client_options),
                     scan_timeout_s=5.0, connect_timeout_s=5.0)


def read_until(driver: BleDriver, decoder, n_samples: int):
    """Chunks and decoded samples until ``n_samples`` samples (at most WAIT_S)."""
    chunks, batches, n = [], [], 0
    deadline = time.monotonic() + WAIT_S
    while n < n_samples and time.monotonic() < deadline:
        for chunk in driver.read(0.2):
            chunks.append(chunk)
            batch = decoder.feed(chunk.data, chunk.t_host_s)
            batches.append(batch)
            n += len(batch)
    return chunks, batches


def connect_and_read(driver: BleDriver, decoder, n_samples: int):
    """Connect ``driver``, read until ``n_samples`` samples (:func:`read_until`), shut it
    down: (chunks, batches)."""
    try:
        driver.connect()
        return read_until(driver, decoder, n_samples)
    finally:
        driver.shutdown()


def wait_until(condition) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def yaw_steps_deg(quat_wxyz: np.ndarray) -> np.ndarray:
    """Yaw increments between consecutive samples, °, of yaw-only rotations."""
    yaw_deg = np.degrees(np.unwrap(2.0 * np.arctan2(quat_wxyz[:, 3], quat_wxyz[:, 0])))
    return np.diff(yaw_deg)


def stacked(batches, field: str) -> np.ndarray:
    return np.concatenate([getattr(b, field) for b in batches if len(b)])


# -- WitMotion --------------------------------------------------------------------------------


def test_witmotion_streams_on_notify_and_obeys_ff_aa_commands(air, started):
    """Scan by name, connect, subscribe (FFE4 on WitMotion's 9a34fb base), then unlock, set
    100 Hz, save and poll the quaternion register on FFE9: the emulated unit changes rate, the
    packets decode through WitMotionBleDecoder, and the rate switch shows in the samples: yaw
    steps of 2° at the factory 10 Hz, then 0.2° at 100 Hz, none lost."""
    device = started(air, ble_peripherals.WitMotionBle)
    base = profiles.BLE_PROFILES["witmotion-ble"]
    cmds = profiles.WITMOTION_COMMANDS
    profile = dataclasses.replace(base, start=profiles._writes(base.write_uuid, (
        cmds["unlock"], cmds["rate_100hz"], cmds["save"], cmds["poll_quaternion"])))
    driver = make_driver(air, "WT901BLE68", profile)
    decoder = make_decoder("witmotion-ble")
    chunks, batches = connect_and_read(driver, decoder, 60)

    assert driver.metadata()["name"] == "WT901BLE68"
    assert device.log[:3] == ["unlocked", "rate 100 Hz", "saved"]
    assert device.rate_hz == 100.0
    assert {len(c.data) for c in chunks} == {20}
    assert all(c.data[:2] in (b"\x55\x61", b"\x55\x71") for c in chunks)
    steps = yaw_steps_deg(stacked(batches, "quat_wxyz"))
    assert len(steps) >= 50
    fast = np.abs(steps - 0.2) < 0.02  # 20 °/s at 100 Hz (angle LSB 0.0055°)
    slow = np.abs(steps - 2.0) < 0.02  # 20 °/s at the factory 10 Hz
    assert np.all(fast | slow)
    assert fast.sum() >= 40 and not np.any(slow[np.argmax(fast):])  # one switch, to 100 Hz
    gyr = stacked(batches, "gyr_rad_s")
    np.testing.assert_allclose(np.degrees(gyr[:, 2]), TURN_DEG_S, atol=0.07)
    np.testing.assert_allclose(stacked(batches, "acc_m_s2")[:, 2], 9.80665, atol=0.005)
    # The 0x71 reply to the quaternion poll: a yaw-only rotation, scalar first.
    assert decoder.last_quat_wxyz is not None
    assert abs(decoder.last_quat_wxyz[1]) < 1e-3 and abs(decoder.last_quat_wxyz[2]) < 1e-3


def test_16_bit_uuid_is_not_witmotions_characteristic(air, started):
    """bleak expands "ffe4" with the Bluetooth SIG base (…9b34fb), which is not WitMotion's
    (…9a34fb): the characteristic is not found, as on a real unit, and the driver says so."""
    started(air, ble_peripherals.WitMotionBle)
    wrong = dataclasses.replace(profiles.BLE_PROFILES["witmotion-ble"], notify_uuid="ffe4")
    driver = make_driver(air, "WT901BLE68", wrong)
    try:
        with pytest.raises(LinkError, match="ffe4 was not found"):
            driver.connect()
    finally:
        driver.shutdown()

    transport = air.transport(1)

    async def stock_bleak():
        found = await bleak_backend.scanner_class(transport).find_device_by_name(
            "WT901BLE68", timeout=5.0)
        async with bleak_backend.client_factory(transport)(found) as client:
            with pytest.raises(BleakCharacteristicNotFoundError):
                await client.start_notify("ffe4", lambda *_: None)
            char = client.services.get_characteristic(profiles.WITMOTION_NOTIFY)
            return char.uuid, sorted(char.properties)

    assert asyncio.run(stock_bleak()) == (profiles.WITMOTION_NOTIFY, ["notify"])


# -- Movella DOT ------------------------------------------------------------------------------


def test_movella_dot_through_open_ble_drop_and_reconnect(air, started, monkeypatch):
    """``open_ble`` (the ``--device ble:NAME`` path) with CERVITRACK_BLE_BACKEND naming the
    virtual controller: the profile is recognised from the advertised name, notifications are
    enabled before the start command (the DOT's rule), records decode with 16 667 µs steps of
    the device clock (60 Hz), the battery characteristic is read; a dropped link becomes a Gap,
    the supervisor reconnects and the start command is sent again."""
    device = started(air, ble_peripherals.MovellaDot)
    monkeypatch.setenv("CERVITRACK_BLE_BACKEND", f"bumble:127.0.0.1:{air.ports[1]}")
    source = open_ble(parse_device_spec("ble:Movella DOT"))
    assert source.protocol == "movella-dot"
    decoder = make_decoder(source.protocol)
    before, after, gaps = [], [], []
    try:
        polls = source.polls()
        deadline = time.monotonic() + 2 * WAIT_S
        dropped = False
        while time.monotonic() < deadline and len(after) < 30:
            for item in next(polls):
                if isinstance(item, Gap):
                    gaps.append(item)
                elif isinstance(item, Chunk):
                    (after if gaps else before).append(decoder.feed(item.data, item.t_host_s))
            if not dropped and sum(map(len, before)) >= 30:
                device.drop_link()
                dropped = True
        metadata = source.metadata
        reconnects = source.supervisor.reconnects
    finally:
        source.close()

    assert metadata["name"] == "Movella DOT" and metadata["battery_pct"] == 87.0
    assert [g.reason for g in gaps] == ["disconnect"] and reconnects == 1
    starts = [i for i, line in enumerate(device.log) if line == "start mode 5"]
    subscribed = [i for i, line in enumerate(device.log) if line == "notifications on 2004"]
    assert len(starts) == 2 and len(subscribed) == 2
    assert all(s < t for s, t in zip(subscribed, starts, strict=True))  # notify first
    for batches in (before, after):
        t_us = np.rint(stacked(batches, "t_device_s") * 1e6)
        assert len(t_us) >= 30
        assert set(np.diff(t_us)) == {16667.0}
        steps = yaw_steps_deg(stacked(batches, "quat_wxyz"))
        np.testing.assert_allclose(steps, TURN_DEG_S / 60.0, atol=1e-3)


@pytest.mark.parametrize("max_mtu", [23, 247])
def test_att_mtu_limits_notification_size(air, started, max_mtu):
    """Custom Mode 5 (payload mode 26) records are 44 bytes on the long-payload characteristic.
    A peripheral that keeps ATT_MTU at 23 can notify only 20 bytes: the records arrive
    truncated and nothing decodes (the real pitfall: "medium payloads need MTU ≥ 43"). With
    ATT_MTU 247 they arrive whole and give acc (gravity) and gyro (the turn)."""
    started(air, ble_peripherals.MovellaDot, max_mtu=max_mtu)
    driver = make_driver(air, "Movella DOT", profiles.movella_dot_profile(26))
    decoder = make_decoder("movella-dot:26")
    try:
        driver.connect()
        chunks = []
        deadline = time.monotonic() + WAIT_S
        while len(chunks) < 20 and time.monotonic() < deadline:
            chunks += driver.read(0.2)
    finally:
        driver.shutdown()
    batches = [decoder.feed(c.data, c.t_host_s) for c in chunks]
    assert len(chunks) >= 20
    if max_mtu == 23:
        assert {len(c.data) for c in chunks} == {20}
        assert sum(map(len, batches)) == 0
    else:
        assert {len(c.data) for c in chunks} == {44}
        assert sum(map(len, batches)) == len(chunks)
        np.testing.assert_allclose(stacked(batches, "acc_m_s2")[:, 2], 9.80665, atol=1e-5)
        np.testing.assert_allclose(np.degrees(stacked(batches, "gyr_rad_s")[:, 2]), TURN_DEG_S,
                                   atol=1e-4)


def test_write_without_response_longer_than_mtu_is_refused(air, started):
    """At ATT_MTU 23 a write command carries at most 20 bytes: bleak's client raises, as BlueZ
    does, and the device's 3-byte measurement control write goes through."""
    device = started(air, ble_peripherals.MovellaDot, max_mtu=23)
    transport = air.transport(1)

    async def run():
        found = await bleak_backend.scanner_class(transport).find_device_by_name(
            "Movella DOT", timeout=5.0)
        async with bleak_backend.client_factory(transport)(found) as client:
            assert client.mtu_size == 23
            with pytest.raises(BleakError, match="exceeds ATT_MTU - 3 = 20"):
                await client.write_gatt_char(profiles.DOT_MEASUREMENT, bytes(23), response=False)
            await client.write_gatt_char(profiles.DOT_MEASUREMENT, b"\x01\x01\x05", response=True)
            return bytes(await client.read_gatt_char(profiles.DOT_MEASUREMENT))

    assert asyncio.run(run()) == b"\x01\x01\x05"
    assert device.log[0] == "start mode 5"


# -- MetaWear ---------------------------------------------------------------------------------


def test_metawear_needs_the_whole_start_sequence():
    """The emulated board streams only when the fusion mode, every sensor that mode needs (NDOF:
    acc, gyro, magnetometer), the quaternion output, its notification route and the fusion
    start are all set (MbientLab MetaWear-SDK-Cpp unit tests): leaving out any of those commands of the NDOF start sequence keeps
    it silent; range, rate and data-enable settings do not gate it. The stop sequence stops it."""
    gating = {"19020113", "190701", "030101", "130101", "150101", "19030800", "190101"}
    start = [c.hex() for c in profiles.METAWEAR_START_NDOF]
    assert gating <= set(start)
    board = ble_peripherals.MetaWear()
    for left_out in start:
        board.reset()
        for command in start:
            if command != left_out:
                board.handle_command(bytes.fromhex(command))
        assert board.active() is (left_out not in gating), left_out
    for command in profiles.METAWEAR_STOP:
        board.handle_command(command)
    assert not board.active()
    board.reset()
    for command in profiles.METAWEAR_START_IMU_PLUS:  # 6-axis: no magnetometer needed
        board.handle_command(command)
    assert board.active()


def test_metawear_quaternions_and_clean_teardown(caplog):
    """The full life cycle in the test itself: air, board, Cervitrack's driver with the
    metamotion profile (NDOF start sequence), quaternion notifications decoded by
    MetaWearDecoder at 100 Hz (0.2° yaw steps), the stop sequence on shutdown, then board and
    air stopped: no error and no traceback is logged at any point."""
    caplog.set_level(logging.WARNING)
    with VirtualAir(2) as radio:
        board = ble_peripherals.MetaWear(motion=ble_peripherals.turning(TURN_DEG_S))
        with board.start(radio.transport(0)):
            driver = make_driver(radio, "MetaWear", profiles.BLE_PROFILES["metamotion"])
            chunks, batches = connect_and_read(driver, make_decoder("metawear"), 50)
            assert wait_until(lambda: "fusion stopped" in board.log)
    assert {len(c.data) for c in chunks} == {18}
    steps = yaw_steps_deg(stacked(batches, "quat_wxyz"))
    assert len(steps) >= 49
    np.testing.assert_allclose(steps, TURN_DEG_S / 100.0, atol=1e-4)
    assert board.log[-1] == "quaternion notifications off"
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == []


# -- selecting the backend ----------------------------------------------------------------------


def test_backend_setting_parses_and_rejects_nonsense():
    assert bleak_backend.parse_backend("bumble:127.0.0.1:9100") == "tcp-client:127.0.0.1:9100"
    assert bleak_backend.parse_backend("bumble:usb:0") == "usb:0"
    assert bleak_backend.transport_from_env({}) is None
    assert bleak_backend.backend_from_env({}) == (None, None)
    for bad in ("bumble", "bumble:", "bluez:hci0"):
        with pytest.raises(ValueError, match="CERVITRACK_BLE_BACKEND"):
            bleak_backend.parse_backend(bad)


def test_unreachable_virtual_controller_is_link_unavailable(air):
    """A backend setting pointing at a closed port: Bluetooth is not available (no retries),
    in words a patient understands."""
    from cervitrack.firmware_bridge.transports.base import LinkUnavailable

    port = air.ports[1]
    air.stop()
    driver = BleDriver("WT901BLE68", profiles.BLE_PROFILES["witmotion-ble"],
                       scanner=bleak_backend.scanner_class(f"tcp-client:127.0.0.1:{port}"),
                       client_factory=bleak_backend.client_factory(f"tcp-client:127.0.0.1:{port}"),
                       scan_timeout_s=2.0, connect_timeout_s=2.0)
    try:
        with pytest.raises(LinkUnavailable, match="no Bluetooth Low Energy"):
            driver.connect()
    finally:
        driver.shutdown()


def test_quaternion_rotation_of_the_turning_motion():
    """The built-in motion is what the tests assume: yaw = 20°·t about world z, gravity on +z
    in the sensor frame, gyro 20 °/s about z."""
    q, acc, gyr = ble_peripherals.turning(TURN_DEG_S)(np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(quat.angle_deg(q), [0.0, 10.0, 20.0], atol=1e-9)
    np.testing.assert_allclose(quat.rotate(q, acc), [[0, 0, 9.80665]] * 3, atol=1e-9)
    np.testing.assert_allclose(np.degrees(gyr[:, 2]), TURN_DEG_S)


# -- the command line, against an emulator in another process -----------------------------------

EMULATOR = """
import sys
from cervitrack.firmware_bridge.emulation.ble_peripherals import BleEmulator, turning
with BleEmulator("witmotion-ble", motion=turning(20.0)) as emulator:
    print(emulator.backend, flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


def test_cervitrack_stream_reaches_an_emulator_process(tmp_path):
    """A person starts an emulated WT901BLE68 in one process and, in another, runs
    ``cervitrack stream --device ble:WT901BLE68`` with CERVITRACK_BLE_BACKEND set to what the
    emulator printed: the sensor is found by name, recognised as witmotion-ble, and its samples
    stream out as jsonl at the factory 10 Hz (2° yaw steps of the 20 °/s turn)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    cervitrack = Path(sys.executable).with_name("cervitrack")
    emulator = subprocess.Popen([sys.executable, "-c", EMULATOR], cwd=tmp_path, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        backend = emulator.stdout.readline().strip()
        assert backend.startswith("bumble:127.0.0.1:"), emulator.stderr.read()
        env = dict(os.environ, CERVITRACK_BLE_BACKEND=backend)
        # --no-configure: the factory rate stays (stream configures 100 Hz by default;
        # tests/test_device_config.py checks that path against this emulator).
        done = subprocess.run([str(cervitrack), "stream", "--device", "ble:WT901BLE68",
                               "--no-configure", "--duration", "1.5"], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=60)
    finally:
        emulator.stdin.close()
        emulator_err = emulator.stderr.read()
        emulator.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) >= 5
    steps = yaw_steps_deg(np.array([r["quat_wxyz"] for r in rows]))
    np.testing.assert_allclose(steps, 2.0, atol=0.02)
    assert "Traceback" not in done.stderr and "Traceback" not in emulator_err
    assert emulator.returncode == 0
