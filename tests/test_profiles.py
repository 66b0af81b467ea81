"""Device profiles: full 128-bit UUIDs, the exact command bytes of the manufacturers' documents."""

import dataclasses
import re

import pytest

from cervitrack.firmware_bridge import profiles as p
from cervitrack.firmware_bridge.protocols import DECODERS, make_decoder
from cervitrack.firmware_bridge.protocols.reference import ReferenceDecoder

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.mark.parametrize("profile", list(p.BLE_PROFILES.values()), ids=lambda x: x.key)
def test_profiles_are_complete_and_frozen(profile):
    for uuid in (profile.service_uuid, profile.notify_uuid, profile.write_uuid,
                 *(w.char_uuid for w in profile.start + profile.stop)):
        assert UUID.match(uuid), uuid
    make_decoder(profile.protocol)
    assert profile.nominal_rate_hz > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.key = "x"


def test_witmotion_uses_its_own_base_not_the_sig_base():
    prof = p.ble_profile("witmotion-ble")
    assert prof.service_uuid == "0000ffe5-0000-1000-8000-00805f9a34fb"
    assert prof.notify_uuid == "0000ffe4-0000-1000-8000-00805f9a34fb"
    assert prof.write_uuid == "0000ffe9-0000-1000-8000-00805f9a34fb"
    assert prof.start == () and p.WITMOTION_COMMANDS["poll_quaternion"].hex() == "ffaa275100"


def test_movella_dot_start_stop():
    prof = p.ble_profile("movella-dot")
    assert prof.notify_uuid == "15172004-4947-11e9-8646-d663bd873d93"
    assert prof.start[0].char_uuid == "15172001-4947-11e9-8646-d663bd873d93"
    assert prof.start[0].data == bytes([1, 1, 5]) and prof.stop[0].data == bytes([1, 0, 5])
    assert p.movella_dot_profile(3).notify_uuid.startswith("15172003")
    assert p.movella_dot_profile(3).protocol == "movella-dot:3"


def test_metawear_sequences_exactly_as_documented():
    prof = p.ble_profile("metamotion")
    assert prof.notify_uuid == "326a9006-85cb-9195-d9dd-464cfbbae75a"
    assert [w.data.hex(" ") for w in prof.start] == [
        "19 02 01 13", "03 03 28 0c", "13 03 28 00", "15 04 04 0e", "15 03 06", "19 07 01",
        "03 02 01 00", "13 02 01 00", "15 02 01 00", "03 01 01", "13 01 01", "15 01 01",
        "19 03 08 00", "19 01 01"]
    assert [w.data.hex(" ") for w in prof.stop] == [
        "19 01 00", "19 03 00 7f", "03 01 00", "13 01 00", "15 01 00", "03 02 00 01",
        "13 02 00 01", "15 02 00 01", "19 07 00"]
    assert all(w.char_uuid == "326a9001-85cb-9195-d9dd-464cfbbae75a" for w in prof.start)
    imu = p.ble_profile("metamotion-imu-plus")
    assert imu.start[0].data == bytes.fromhex("19020213")
    assert not any(w.data[0] == 0x15 for w in imu.start + imu.stop)


def test_oht_over_nus_commands_decode_as_commands():
    prof = p.ble_profile("oht-nus")
    assert prof.service_uuid == "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
    assert prof.notify_uuid == "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
    assert prof.write_uuid == "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
    d = ReferenceDecoder()
    d.feed(prof.start[0].data + prof.stop[0].data)
    assert d.stats.extra["commands"] == 2
    assert prof.start[0].data[2] == 0x80 and prof.stop[0].data[2] == 0x81


@pytest.mark.parametrize("name,key", [("Movella DOT", "movella-dot"), ("Xsens DOT", "movella-dot"),
                                      ("MetaWear", "metamotion"), ("OHT-4f2a", "oht-nus"),
                                      ("WT901BLE68", "witmotion-ble")])
def test_name_lookup(name, key):
    assert p.profile_for_name(name).key == key


def test_unknown_lookups():
    assert p.profile_for_name("Headphones") is None and p.profile_for_name(None) is None
    assert p.profile_for_service(["6E400001-B5A3-F393-E0A9-E50E24DCCA9E"]).key == "oht-nus"
    with pytest.raises(ValueError, match="unknown BLE profile"):
        p.ble_profile("nope")
    with pytest.raises(ValueError):
        p.serial_profile("metawear")


def test_serial_defaults():
    assert p.serial_profile("witmotion-serial").baud == 115200
    assert p.serial_profile("bno08x-rvc").baud == 115200
    assert p.serial_profile("hatire").rtscts
    assert p.serial_profile("text:razor").protocol == "text"
    assert all(s.protocol in DECODERS for s in p.SERIAL_PROFILES.values())
