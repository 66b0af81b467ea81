"""Decoders on real device data (tests/data/real, provenance and licences in its README.md).

Each test decodes the real bytes through Cervitrack's decoder and checks (1) the decoded values
against the source's own decoding and (2) physical consistency where the data allows:

- at rest, the specific force the orientation predicts (Rᵀ·[0, 0, 1], z up) against the
  accelerometer: the **gravity angle**, in degrees;
- in motion, the body-frame increments of the orientation, rotvec(R_kᵀ·R_k+1) / dt, against the
  gyro: the **direction error** in degrees and the ratio of the norms.

The checks are the library's (:mod:`cervitrack.signal.consistency`, which also drives
``cervitrack device-check`` and the calibration's sensor check). Every bound is stated next to the figure measured on the data (same command:
``.venv/bin/pytest -q -p no:cacheprovider tests/test_real_captures.py``); the bounds leave room
for quantisation, not for a wrong convention (the wrong conventions named in each test are
tens of degrees off).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import G_M_S2, euler_deg_to_quat_wxyz
from cervitrack.firmware_bridge.protocols.bno08x_rvc import (
    Bno08xRvcDecoder,
    rvc_yaw_pitch_roll_deg,
)
from cervitrack.firmware_bridge.protocols.movella_dot import MovellaDotDecoder, encode_records
from cervitrack.firmware_bridge.protocols.witmotion import (
    WitMotionBleDecoder,
    WitMotionSerialDecoder,
)
from cervitrack.signal.consistency import gravity_angle_deg, gyro_agreement, same_rotation_deg
from cervitrack.signal.quaternion import to_rotation
from cervitrack.signal.samples import concat

DATA = Path(__file__).parent / "data" / "real"


def gyro_check(quat_wxyz, gyr, dt_s: float, min_rate_dps: float = 30.0):
    """Direction error (deg) and norm ratio of orientation increments vs the mean gyro, at a
    constant sample period (the library's check, :func:`gyro_agreement`)."""
    return gyro_agreement(quat_wxyz, gyr, np.arange(len(quat_wxyz)) * dt_s, min_rate_dps)


def _hex_lines(path: Path) -> list[bytes]:
    return [bytes.fromhex(line) for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


# ----------------------------------------------------------------------------------------------
# WitMotion serial: WTGAHRS2 dump (heyjdp/witmotion_WTGAHRS2_c_code_linux, MIT)
# ----------------------------------------------------------------------------------------------

WTGAHRS2 = DATA / "witmotion_serial" / "wtgahrs2_heyjdp_readme_dump.bin"


def _decode_serial(data: bytes):
    d = WitMotionSerialDecoder()
    b = concat([d.feed(data), d.finish()])
    return d, b


def test_witmotion_serial_wtgahrs2_values_and_gravity():
    data = WTGAHRS2.read_bytes()
    assert len(data) == 352  # 32 frames, all sum8-valid
    d, b = _decode_serial(data)
    assert d.stats.frames == 32 and d.stats.rejected_frames == 0 and d.stats.skipped_bytes == 0
    # 3 full cycles 0x51..0x5A + a last cycle cut after 0x56: 4 samples.
    assert len(b) == 4
    # The source's scalings (its README: acc d/32768·16 g, angle d/32768·180°, q d/32768) on the
    # first cycle: acc (0.0244, 0.0513, 1.0005) g, q (0.99695, 0.02682, −0.01028, 0.07184).
    np.testing.assert_allclose(b.acc_m_s2[0] / G_M_S2, [0.0244, 0.0513, 1.0005], atol=6e-4)
    np.testing.assert_allclose(b.quat_wxyz[0], [0.99695, 0.02682, -0.01028, 0.07184], atol=6e-5)
    np.testing.assert_array_equal(b.mag_raw[0], [203, 2657, -4559])
    assert b.mag_uT is None  # |m| ≈ 5300 counts here, ≈ 880 on a WT901SD: no common µT scale
    assert np.all(b.gyr_rad_s[:3] == 0)  # at rest, the WTGAHRS2 reports exactly 0
    # 0x53 d3 is the constant the source prints as "VERS" (18155), not a temperature; the
    # temperature is 0x51 d3 / 100: 30.88 °C in the first cycle, 30.85 °C in the last.
    assert d.last_version == 18155
    assert d.last_temperature_c == 30.85
    # At rest: gravity from the 0x59 quaternion within 0.2° of the accelerometer (measured:
    # max 0.083° over the 3 samples that carry both).
    full = ~np.isnan(b.quat_wxyz[:, 0]) & ~np.isnan(b.acc_m_s2[:, 0])
    assert full.sum() >= 3
    assert gravity_angle_deg(b.quat_wxyz[full], b.acc_m_s2[full]).max() < 0.2


def test_witmotion_serial_euler_order_and_scalar_first_quaternion():
    """The 0x53 Euler angles, decoded alone (0x59 frames removed from the real bytes), give the
    same orientation as the 0x59 quaternion read scalar first: intrinsic Z-Y-X and q0 = w are
    both right (measured 0.0052°; q3-as-scalar would be 169° off, X-Y-Z Euler 0.47°)."""
    data = WTGAHRS2.read_bytes()
    frames = [data[i:i + 11] for i in range(0, len(data), 11)]
    no_quat = b"".join(f for f in frames if f[1] != 0x59)
    _, with_q = _decode_serial(data)
    _, euler_only = _decode_serial(no_quat)
    both = ~np.isnan(with_q.quat_wxyz[:, 0]) & ~np.isnan(euler_only.quat_wxyz[:, 0])
    assert both.sum() >= 3
    assert same_rotation_deg(with_q.quat_wxyz[both], euler_only.quat_wxyz[both]).max() < 0.02
    assert gravity_angle_deg(euler_only.quat_wxyz[:3], euler_only.acc_m_s2[:3]).max() < 0.2


# ----------------------------------------------------------------------------------------------
# WitMotion BLE: WT901BLE notifications (naugehyde/bt-sensors-plugin-sk, ISC)
# ----------------------------------------------------------------------------------------------


def test_witmotion_ble_wt901ble_values_gravity_and_quaternion():
    packets = _hex_lines(DATA / "witmotion_ble" / "wt901ble_bt-sensors-plugin-sk_notifications.txt")
    assert b"".join(packets) == (DATA / "witmotion_ble" /
                                 "wt901ble_bt-sensors-plugin-sk_notifications.bin").read_bytes()
    d = WitMotionBleDecoder()
    batches, quat_after = [], None
    for i, p in enumerate(packets):
        batches.append(d.feed(p))
        if i == 3:  # the reg 0x51 reply follows the second data packet
            quat_after = d.last_quat_wxyz
            euler_before = batches[2].quat_wxyz[0]
        if i == 1:  # the source's expected values after the reg 0x3A reply
            assert d.last_mag_raw == (2987, 584, 3432)
            np.testing.assert_allclose(np.array(d.last_mag_raw) / 120, [24.892, 4.867, 28.6],
                                       atol=1e-3)
            assert d.last_temperature_c == 19.40  # reg 0x40 inside the 0x3A reply
    b = concat(batches)
    assert len(b) == 3 and d.stats.extra["register_replies"] == 2
    # The source's expected values for the first packet: AccX −0.015, AccY −0.054, AccZ 1.0 g;
    # AngX −2.939, AngY 1.099, AngZ 82.639°.
    np.testing.assert_allclose(b.acc_m_s2[0] / G_M_S2, [-0.015, -0.054, 1.0], atol=1e-3)
    ypr = to_rotation(b.quat_wxyz[:1]).as_euler("ZYX", degrees=True)[0]
    np.testing.assert_allclose(ypr[::-1], [-2.939, 1.099, 82.639], atol=1e-3)
    # The source's expected quaternion (reg 0x51..0x54 / 32768, scalar first, w < 0 as sent).
    np.testing.assert_allclose(quat_after, [-0.75052, 0.0256, 0.00995, -0.66019], atol=1e-4)
    # At rest: gravity angle < 0.35° (measured 0.28°, 0.27°, 0.21°).
    assert gravity_angle_deg(b.quat_wxyz, b.acc_m_s2).max() < 0.35
    # The polled quaternion equals the streamed Z-Y-X Euler orientation: < 0.05° (measured
    # 0.011°; read scalar-last it would be 124° off).
    assert same_rotation_deg(quat_after, euler_before)[0] < 0.05


# ----------------------------------------------------------------------------------------------
# BNO08x UART-RVC: the datasheet's example frame (BNO080/085 datasheet 1000-3927 §1.3.5.2)
# ----------------------------------------------------------------------------------------------


def test_bno08x_rvc_datasheet_frame_gravity():
    (frame,) = _hex_lines(DATA / "bno08x_rvc" / "bno08x_datasheet_example_frame.txt")
    d = Bno08xRvcDecoder()
    b = d.feed(frame)
    assert len(b) == 1 and int(b.seq[0]) == 222
    # The datasheet's own decoding: yaw 0.01°, pitch −1.10°, roll 20.85°, acc (−371, −20, 977) mg.
    np.testing.assert_allclose(rvc_yaw_pitch_roll_deg(b.quat_wxyz)[0], [0.01, -1.10, 20.85],
                               atol=1e-9)
    np.testing.assert_allclose(b.acc_m_s2[0] / (G_M_S2 / 1000), [-371, -20, 977], atol=1e-9)
    # Orientation and acceleration of one frame in the same axes: gravity angle < 0.2°
    # (measured 0.057°; 1 mg of quantisation is about 0.06°).
    assert gravity_angle_deg(b.quat_wxyz, b.acc_m_s2)[0] < 0.2
    # The reading the decoder used before (Rz(yaw)·Ry(pitch)·Rx(roll)) is 30.7° off.
    old = euler_deg_to_quat_wxyz("ZYX", [[0.01, -1.10, 20.85]])
    assert gravity_angle_deg(old, b.acc_m_s2)[0] > 30


# ----------------------------------------------------------------------------------------------
# Movella DOT (Allwillcome/XsensDot2Mtw4OpenSense, MIT; shiven01/movella-dot, MIT)
# ----------------------------------------------------------------------------------------------


def _dot_csv(name: str) -> tuple[list[str], np.ndarray]:
    lines = (DATA / "movella_dot" / name).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("PacketCounter"))
    header = lines[start].split(",")
    rows = np.array([[float(v) for v in r] for r in csv.reader(lines[start + 1:]) if r])
    return header, rows


def _dot_mode4_roundtrip(name: str):
    """The recording's SampleTimeFine and Euler_X/Y/Z, re-encoded as mode 4 records (u32 µs +
    3 float32 roll, pitch, yaw: the same fields, 1:1, and the CSV's 14 decimals recover each
    float32 exactly),
    decoded by MovellaDotDecoder(4). Acc and Gyr are not part of mode 4: they are the
    references."""
    header, rows = _dot_csv(name)
    col = {h: i for i, h in enumerate(header)}
    rows = rows[np.any(rows[:, [col["Acc_X"], col["Acc_Y"], col["Acc_Z"]]] != 0, axis=1)]
    euler = rows[:, [col["Euler_X"], col["Euler_Y"], col["Euler_Z"]]]
    np.testing.assert_allclose(euler.astype(np.float32), euler, rtol=0, atol=1e-11)
    t_us = rows[:, col["SampleTimeFine"]].astype(np.int64)
    d = MovellaDotDecoder(4)
    b = d.feed(encode_records(4, t_us, euler_deg=euler))
    assert len(b) == len(rows) and d.stats.rejected_frames == 0
    np.testing.assert_array_equal(b.t_device_s, (t_us % 2**32) / 1e6)
    acc = rows[:, [col["Acc_X"], col["Acc_Y"], col["Acc_Z"]]]
    gyr = np.radians(rows[:, [col["Gyr_X"], col["Gyr_Y"], col["Gyr_Z"]]])
    return b, acc, gyr, t_us


def test_movella_dot_at_rest_euler_zyx_and_microseconds():
    b, acc, _, t_us = _dot_mode4_roundtrip("offline_bei_D4CA6EF17860_first1000rows.csv")
    assert np.all(np.diff(t_us) == 8333)  # SampleTimeFine in µs: 120 Hz recording
    ang = gravity_angle_deg(b.quat_wxyz, acc)
    # Euler_X/Y/Z = roll/pitch/yaw composed Z-Y-X: median 0.081°, p95 0.59° (n = 998).
    assert np.median(ang) < 0.15 and np.percentile(ang, 95) < 1.0


def test_movella_dot_in_motion_gyro_matches_orientation():
    b, _, gyr, t_us = _dot_mode4_roundtrip("offline_yxb_D4CA6EF17231_packets1399-2498.csv")
    err, ratio = gyro_check(b.quat_wxyz, gyr, dt_s=8333e-6)
    # Body-worn, up to 200 °/s: measured median 1.19°, p90 3.24°, norm ratio 1.0005 (n = 617).
    # Gyr is °/s in the sensor frame and yaw is counter-clockwise about +z: yaw negated gives
    # 123°, Gyr read as rad/s a norm ratio of 0.017.
    assert err.size > 500
    assert np.median(err) < 2.5 and np.percentile(err, 90) < 6.0
    assert 0.98 < np.median(ratio) < 1.02


def test_movella_dot_live_csvs_time_and_quaternion_conventions():
    """The live exports are printed with 4-6 decimals (and mode 2's clip counts are not in the
    CSV): not re-encoded to bytes; the conventions are checked on the numbers."""
    header, rows = _dot_csv("realtime_Pelvis_20210820_202113_836.csv")
    col = {h: i for i, h in enumerate(header)}
    assert np.all(np.diff(rows[:, col["SampleTimeFine"]]) == 16667)  # µs at 60 Hz
    q = rows[:, [col["Quat_W"], col["Quat_X"], col["Quat_Y"], col["Quat_Z"]]]
    assert np.abs(np.linalg.norm(q, axis=1) - 1).max() < 1e-5
    assert np.all(q[:, 0] < 0)  # w is not forced >= 0 by the device
    lines = (DATA / "movella_dot" / "custommode5_shiven01_decoded.csv").read_text().splitlines()
    data = np.array([[float(v) for v in r.split(",")[2:]] for r in lines
                     if r[:1].isdigit()])
    assert data.shape == (599, 8)
    assert np.all(np.diff(data[:, 0]) == 16667)  # mode 26 timestamps: µs, 60 Hz, no gap
    assert np.abs(np.linalg.norm(data[:, 1:5], axis=1) - 1).max() < 1e-4  # w, x, y, z
