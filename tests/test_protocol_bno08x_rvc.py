"""BNO08x UART-RVC decoder: the datasheet vector (the vendors' documented example frames), resync, counter."""

import json

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols.bno08x_rvc import (
    Bno08xRvcDecoder,
    encode_frames,
    encode_samples,
    rvc_yaw_pitch_roll_deg,
)
from cervitrack.signal.quaternion import from_rotation
from cervitrack.trainer.cli import main

VECTOR = bytes.fromhex("AA AA DE 01 00 92 FF 25 08 8D FE EC FF D1 03 00 00 00 E7")


def _ypr(q_wxyz):
    return rvc_yaw_pitch_roll_deg(q_wxyz)[0]


def _check_vector(seq, quat, acc):
    assert seq == 222
    np.testing.assert_allclose(_ypr(quat), [0.01, -1.10, 20.85], atol=1e-6)
    np.testing.assert_allclose(np.asarray(acc) / 9.80665e-3, [-371, -20, 977], atol=1e-6)


def test_vector_decoder():
    d = Bno08xRvcDecoder()
    b = d.feed(VECTOR)
    _check_vector(int(b.seq[0]), b.quat_wxyz[0], b.acc_m_s2[0])
    assert np.isnan(b.t_device_s[0]) and b.gyr_rad_s is None


def test_vector_cli(tmp_path, capsys):
    f = tmp_path / "rvc.bin"
    f.write_bytes(VECTOR)
    assert main(["decode", str(f), "--protocol", "bno08x-rvc"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    _check_vector(row["seq"], row["quat_wxyz"], row["acc_m_s2"])
    assert row["t_s"] == 2.22  # index × 1/100 Hz: no device clock
    assert err.strip() == "frames=1 rejected=0 skipped_bytes=0"


def test_false_header_in_payload_and_wrap():
    n = 300
    ypr = np.zeros((n, 3))
    ypr[:, 0] = np.linspace(-170, 170, n)
    data = encode_frames(np.arange(n) + 100, ypr, np.tile([0, 0, 9.81], (n, 1)))
    d = Bno08xRvcDecoder()
    b = d.feed(b"\xaa\xaa\xaa" + data)
    assert len(b) == n and d.stats.skipped_bytes == 3
    assert b.seq[0] == 100 and b.seq[-1] == (100 + n - 1) % 256
    np.testing.assert_allclose([_ypr(q)[0] for q in b.quat_wxyz], ypr[:, 0], atol=0.006)


def test_encode_samples_is_the_decoders_inverse():
    """Quaternions (pitch within ±90°) → frames → the same orientation and acceleration."""
    rng = np.random.default_rng(5)
    n = 200
    zxy = np.column_stack([rng.uniform(-179, 179, n), rng.uniform(-89, 89, n),
                           rng.uniform(-179, 179, n)])
    q = from_rotation(Rotation.from_euler("ZXY", zxy, degrees=True))
    acc = rng.normal(0, 9.81, (n, 3))
    b = Bno08xRvcDecoder().feed(encode_samples(np.arange(n), q, acc))
    assert len(b) == n
    angle = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(b.quat_wxyz * q, axis=1)), 0, 1)))
    assert angle.max() < 0.02  # 0.01° quantisation of each angle
    np.testing.assert_allclose(b.acc_m_s2, acc, atol=9.80665e-3 / 2 + 1e-9)
