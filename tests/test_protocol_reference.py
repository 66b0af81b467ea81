"""OHT/1 binary decoder: the docs/devices/oht-headset.md example frames and CRC."""

import json

import numpy as np

from cervitrack.firmware_bridge.protocols.reference import (
    ReferenceDecoder,
    crc16_ccitt_false,
    encode_frame,
    encode_samples,
)
from cervitrack.trainer.cli import main

QUAT = bytes.fromhex("A5 5A 01 0A 2A 00 40 42 0F 00 41 2D 00 00 00 00 41 2D 03 00 80 81")
IMU = bytes.fromhex("A5 5A 02 16 2B 00 50 69 0F 00 00 40 00 00 00 00 00 00 00 00 00 00 "
                    "0C 01 00 00 00 00 CF 09 03 00 95 22")
TARE = bytes.fromhex("A5 5A 83 00 07 00 00 00 00 00 8B CC")
RATE = bytes.fromhex("A5 5A 82 02 08 00 00 00 00 00 64 00 D4 C4")


def test_crc_check_value():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_encoders_reproduce_the_vectors():
    assert encode_samples([42], [1_000_000], [[11585 / 16384, 0, 0, 11585 / 16384]]) == QUAT
    assert encode_samples([43], [1_010_000], [[1, 0, 0, 0]], gyr_rad_s=[[0, 0, 268 / 512]],
                          acc_m_s2=[[0, 0, 2511 / 256]]) == IMU
    assert encode_frame(0x83, 7, 0) == TARE
    assert encode_frame(0x82, 8, 0, (100).to_bytes(2, "little")) == RATE


def test_vectors_decoder():
    d = ReferenceDecoder()
    b = d.feed(QUAT + TARE + IMU + RATE)
    assert b.seq.tolist() == [42, 43]
    np.testing.assert_allclose(b.t_device_s, [1.0, 1.01])
    np.testing.assert_allclose(b.quat_wxyz[0], [0.70709, 0, 0, 0.70709], atol=1e-4)
    np.testing.assert_allclose(b.quat_wxyz[1], [1, 0, 0, 0])
    np.testing.assert_allclose(b.gyr_rad_s[1], [0, 0, 0.5234375])
    np.testing.assert_allclose(b.acc_m_s2[1], [0, 0, 9.80859375])
    assert b.status.tolist() == [3, 3] and d.stats.extra["commands"] == 2


def test_vectors_cli(tmp_path, capsys):
    f = tmp_path / "oht.bin"
    f.write_bytes(QUAT + IMU + TARE + RATE)
    assert main(["decode", str(f), "--protocol", "reference", "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["seq"] for r in rows] == [42, 43] and [r["t_s"] for r in rows] == [1.0, 1.01]
    np.testing.assert_allclose(rows[0]["quat_wxyz"], [0.70709, 0, 0, 0.70709], atol=1e-4)
    assert "acc_m_s2" in rows[1] and "acc_m_s2" in rows[0]  # NaN-filled where absent
    assert rows[0]["acc_m_s2"] == [None, None, None]
    np.testing.assert_allclose(rows[1]["gyr_rad_s"], [0, 0, 0.5234375])
    assert err.strip() == "frames=2 rejected=0 skipped_bytes=0"


def test_flipped_payload_bit_fails_crc():
    bad = bytearray(QUAT)
    bad[12] ^= 0x04
    d = ReferenceDecoder()
    b = d.feed(bytes(bad) + IMU)
    assert b.seq.tolist() == [43] and d.stats.rejected_frames == 1


def test_fast_path_reports_frame_ends_for_feed_chunks():
    from cervitrack.signal.samples import Chunk

    n = 30
    data = encode_samples(np.arange(n), np.arange(n) * 10000, np.tile([1.0, 0, 0, 0], (n, 1)))
    d = ReferenceDecoder()
    b = d.feed_chunks([Chunk(1.0, data[:500]), Chunk(2.0, data[500:])])
    ends = (np.arange(n) + 1) * 22
    np.testing.assert_array_equal(b.t_host_s, np.where(ends <= 500, 1.0, 2.0))
    assert b.seq.tolist() == list(range(n))
