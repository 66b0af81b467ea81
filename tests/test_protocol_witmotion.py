"""WitMotion serial and BLE decoders: the vendors' documented example frames vectors, grouping, chunking."""

import json

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols import witmotion as wm
from cervitrack.signal.samples import concat
from cervitrack.trainer.cli import main

ACC = bytes.fromhex("55 51 00 00 00 00 00 08 C4 09 7B")
GYR = bytes.fromhex("55 52 00 00 00 00 00 00 C4 09 74")
EUL = bytes.fromhex("55 53 1C 07 72 FC 00 40 00 00 79")
QUAT = bytes.fromhex("55 59 82 5A 00 00 00 00 82 5A 66")
BLE = bytes.fromhex("55 61 77 02 A8 FE 92 FE 06 02 30 FE CD FF F8 F0 53 FC AB C4")
REPLY = bytes.fromhex("55 71 3A 00 68 01 69 00 7A 00 00 00 00 00 00 00 00 00 00 00")
G = 9.80665


def _zyx_deg(q_wxyz):
    """(yaw, pitch, roll) in degrees of a scalar-first quaternion, intrinsic Z-Y-X."""
    return Rotation.from_quat(np.asarray(q_wxyz)[[1, 2, 3, 0]]).as_euler("ZYX", degrees=True)


def _cli(tmp_path, capsys, data, protocol):
    path = tmp_path / "capture.bin"
    path.write_bytes(data)
    rc = main(["decode", str(path), "--protocol", protocol])
    out, err = capsys.readouterr()
    assert rc == 0
    return [json.loads(line) for line in out.splitlines()], err.strip().splitlines()


def test_serial_vectors_decode():
    d = wm.WitMotionSerialDecoder()
    b = d.feed(ACC + GYR + QUAT)
    b2 = d.finish()
    assert len(b) == 0 and len(b2) == 1
    np.testing.assert_allclose(b2.acc_m_s2[0], [0, 0, G])
    np.testing.assert_allclose(b2.gyr_rad_s[0], [0, 0, 0])
    np.testing.assert_allclose(b2.quat_wxyz[0], [0.70709, 0, 0, 0.70709], atol=1e-4)
    assert d.last_temperature_c == 25.0
    assert (d.stats.frames, d.stats.rejected_frames, d.stats.skipped_bytes) == (3, 0, 0)


def test_serial_euler_vector_through_cli(tmp_path, capsys):
    rows, err = _cli(tmp_path, capsys, EUL, "witmotion-serial")
    assert len(rows) == 1 and err == ["frames=1 rejected=0 skipped_bytes=0"]
    yaw, pitch, roll = _zyx_deg(rows[0]["quat_wxyz"])
    assert abs(roll - 10.0) < 0.003 and abs(pitch + 5.0) < 0.003 and abs(yaw - 90.0) < 0.003


def test_serial_group_vectors_through_cli(tmp_path, capsys):
    rows, err = _cli(tmp_path, capsys, (ACC + GYR + EUL + QUAT) * 3, "witmotion-serial")
    assert len(rows) == 3 and err == ["frames=12 rejected=0 skipped_bytes=0"]
    for row in rows:
        np.testing.assert_allclose(row["acc_m_s2"], [0, 0, G])
        np.testing.assert_allclose(row["gyr_rad_s"], [0, 0, 0])
        np.testing.assert_allclose(row["quat_wxyz"], [0.70709, 0, 0, 0.70709], atol=1e-4)
    assert [r["seq"] for r in rows] == [0, 1, 2]
    assert [r["t_s"] for r in rows] == [0.0, 0.01, 0.02]


def test_serial_grouping_new_sample_on_repeat_and_lost_frame():
    d = wm.WitMotionSerialDecoder()
    stream = (ACC + GYR + QUAT) * 2 + ACC + QUAT + (ACC + GYR + QUAT) * 2  # one gyro lost
    b = d.feed(stream)
    assert d.stats.frames == 14
    # The last group matches the learned pattern, so it is emitted without waiting.
    assert len(b) == 5 and len(d.finish()) == 0
    assert np.isnan(b.gyr_rad_s[2]).all() and np.isfinite(b.quat_wxyz[2]).all()
    assert np.isfinite(b.gyr_rad_s[[0, 1, 3, 4]]).all()


def test_serial_bad_checksum_rejected_and_neighbours_kept():
    bad = bytearray(QUAT)
    bad[5] ^= 0x01
    d = wm.WitMotionSerialDecoder()
    b = d.feed(QUAT + b"\x00\x55\x12" + bytes(bad) + QUAT + QUAT)
    assert d.stats.frames == 3 and d.stats.rejected_frames >= 1
    assert len(b) == 3


def test_serial_roundtrip_any_chunking():
    rng = np.random.default_rng(1)
    n = 200
    q = Rotation.random(n, random_state=2).as_quat()[:, [3, 0, 1, 2]]
    q *= np.sign(q[:, :1])
    acc = rng.normal(0, 5, (n, 3))
    gyr = rng.normal(0, 2, (n, 3))
    data = wm.encode_serial_samples(quat_wxyz=q, acc_m_s2=acc, gyr_rad_s=gyr,
                                    euler_deg=np.zeros((n, 3)), mag_raw=np.ones((n, 3)))
    d = wm.WitMotionSerialDecoder()
    parts, pos = [], 0
    while pos < len(data):
        step = int(rng.integers(1, 60))
        parts.append(d.feed(data[pos:pos + step]))
        pos += step
    parts.append(d.finish())
    from cervitrack.signal.samples import concat
    b = concat(parts)
    assert len(b) == n and d.stats.frames == 5 * n
    np.testing.assert_allclose(np.abs(np.sum(b.quat_wxyz * q, axis=1)), 1, atol=1e-4)
    np.testing.assert_allclose(b.acc_m_s2, acc, atol=16 * G / 32768)
    np.testing.assert_allclose(b.gyr_rad_s, gyr, atol=2000 / 32768 * np.pi / 180)
    np.testing.assert_array_equal(b.mag_raw, 1.0)  # raw counts: the scale to µT is unknown
    assert b.mag_uT is None


def test_ble_vectors_through_decoder_and_cli(tmp_path, capsys):
    d = wm.WitMotionBleDecoder()
    b = d.feed(BLE[:7])
    assert len(b) == 0
    b = d.feed(BLE[7:] + REPLY)
    assert len(b) == 1
    np.testing.assert_allclose(b.acc_m_s2[0] / G, [0.308, -0.168, -0.179], atol=1e-3)
    np.testing.assert_allclose(np.degrees(b.gyr_rad_s[0]), [31.6, -28.3, -3.1], atol=0.05)
    yaw, pitch, roll = _zyx_deg(b.quat_wxyz[0])
    np.testing.assert_allclose([roll, pitch, yaw], [-21.14, -5.17, -83.44], atol=0.01)
    assert d.last_mag_raw == (360, 105, 122)
    assert d.registers[0x3A] == 360
    rows, err = _cli(tmp_path, capsys, BLE + REPLY, "witmotion-ble")
    assert len(rows) == 1 and err == ["frames=2 rejected=0 skipped_bytes=0"]
    np.testing.assert_allclose(np.array(rows[0]["acc_m_s2"]) / G, [0.308, -0.168, -0.179],
                               atol=1e-3)
    yaw, pitch, roll = _zyx_deg(rows[0]["quat_wxyz"])
    np.testing.assert_allclose([roll, pitch, yaw], [-21.14, -5.17, -83.44], atol=0.01)


def test_ble_register_replies():
    d = wm.WitMotionBleDecoder()
    d.feed(wm.encode_ble_reply(0x51, [23170, 0, 0, 23170]) + wm.encode_ble_reply(0x64, [87])
           + wm.encode_ble_reply(0x40, [2534]))
    np.testing.assert_allclose(d.last_quat_wxyz, [0.7071, 0, 0, 0.7071], atol=1e-4)
    assert d.last_battery_raw == 87 and d.last_temperature_c == 25.34
    assert d.stats.extra["register_replies"] == 3 and d.stats.frames == 3


def test_ble_roundtrip_and_garbage():
    n = 50
    rng = np.random.default_rng(3)
    eul = np.column_stack([rng.uniform(-170, 170, n), rng.uniform(-80, 80, n),
                           rng.uniform(-170, 170, n)])
    data = wm.encode_ble_packets(np.zeros((n, 3)), np.zeros((n, 3)), eul)
    d = wm.WitMotionBleDecoder()
    b = d.feed(b"\x01\x02\x03" + data[:200] + b"\xff" * 7 + data[200:])
    assert len(b) == n and d.stats.skipped_bytes == 10
    ypr = np.array([_zyx_deg(q) for q in b.quat_wxyz])
    np.testing.assert_allclose(ypr[:, ::-1], eul, atol=0.01)


def test_serial_capture_starting_mid_cycle_still_groups_one_sample_per_row():
    n = 10
    acc = np.tile([0.0, 0.0, G], (n, 1))
    acc[:, 0] = np.arange(n)  # acc x identifies the sample
    q = np.tile([1.0, 0, 0, 0], (n, 1))
    q[:, 3] = np.arange(n) * 0.01
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    data = wm.encode_serial_samples(quat_wxyz=q, acc_m_s2=acc, gyr_rad_s=np.zeros((n, 3)))
    d = wm.WitMotionSerialDecoder()
    b = d.feed(data[11:])  # the first acc frame is missing
    b = concat([b, d.finish()])
    assert d._pattern == (wm.TYPE_ACC, wm.TYPE_GYRO, wm.TYPE_QUAT)
    # The cycle is learned on the first repeat: the first two rows are partial, then every row
    # holds the frames of one sample.
    assert len(b) == n and d.stats.frames == 3 * n - 1
    np.testing.assert_allclose(b.acc_m_s2[2:, 0], np.arange(2, n), atol=0.01)
    np.testing.assert_allclose(b.quat_wxyz[2:, 3], q[2:, 3], atol=1e-4)
