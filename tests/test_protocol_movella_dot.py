"""Movella DOT decoder: the mode-5 vector (the vendors' documented example frames), every payload mode."""

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.protocols.movella_dot import (
    MODES,
    MovellaDotDecoder,
    encode_records,
)
from cervitrack.trainer.cli import main

VECTOR = bytes.fromhex("40 E2 01 00 00 00 80 3F") + bytes(12)


def test_vector_decoder_and_cli(tmp_path, capsys):
    d = MovellaDotDecoder()
    assert d.mode == 5 and d.has_clock and d.clock_wrap_s == 2**32 / 1e6
    b = d.feed(VECTOR)
    assert b.t_device_s[0] == 0.123456
    np.testing.assert_array_equal(b.quat_wxyz[0], [1, 0, 0, 0])
    f = tmp_path / "dot.bin"
    f.write_bytes(VECTOR)
    assert main(["decode", str(f), "--protocol", "movella-dot"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    assert row["t_s"] == 0.123456 and row["quat_wxyz"] == [1.0, 0.0, 0.0, 0.0]
    assert err.strip() == "frames=1 rejected=0 skipped_bytes=0"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_roundtrip(mode):
    n = 40
    q = Rotation.random(n, random_state=mode).as_quat()[:, [3, 0, 1, 2]]
    q *= np.sign(q[:, :1])
    ypr = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_euler("ZYX", degrees=True)
    t_us = 2**32 - 20 * 16667 + np.arange(n) * 16667  # wraps inside the capture
    gyr = np.tile([0.1, -0.2, 0.3], (n, 1))
    data = encode_records(mode, t_us, quat_wxyz=q, euler_deg=ypr[:, ::-1],
                          free_acc_m_s2=np.ones((n, 3)), status=5,
                          acc_m_s2=np.tile([0.5, 0.0, 9.8], (n, 1)), gyr_rad_s=gyr)
    d = make_decoder(f"movella-dot:{mode}")
    parts = [d.feed(data[i:i + 7]) for i in range(0, len(data), 7)]
    from cervitrack.signal.samples import concat
    b = concat(parts)
    assert len(b) == n and d.stats.frames == n and d.stats.skipped_bytes == 0
    np.testing.assert_allclose(np.abs(np.sum(b.quat_wxyz * q, axis=1)), 1, atol=1e-5)
    np.testing.assert_allclose(b.t_device_s, (t_us % 2**32) / 1e6)
    if MODES[mode][2]:
        np.testing.assert_allclose(d.last_free_acc_m_s2, [1, 1, 1])
    if MODES[mode][3]:
        assert (b.status == 5).all()
    if MODES[mode][4]:
        np.testing.assert_allclose(b.acc_m_s2, np.tile([0.5, 0.0, 9.8], (n, 1)), atol=1e-6)
        np.testing.assert_allclose(b.gyr_rad_s, gyr, atol=1e-7)
    else:
        assert b.gyr_rad_s is None and b.acc_m_s2 is None


def test_padded_records_and_garbage():
    n = 10
    q = np.tile([1.0, 0, 0, 0], (n, 1))
    data = encode_records(3, np.arange(n) * 1000, quat_wxyz=q, record_bytes=40)
    d = MovellaDotDecoder(3, record_bytes=40)
    b = d.feed(b"\x13\x37" + data)
    assert len(b) == n and d.stats.skipped_bytes == 2 and d.stats.rejected_frames == 1


def test_padded_mode_option(tmp_path, capsys):
    """``movella-dot:2,40``: mode 2 records padded to 40-byte notifications, as a real DOT sent
    them (shiven01/movella-dot movella_quaternion.log)."""
    n = 5
    q = np.tile([-0.7, 0.1, -0.7, 0.1], (n, 1)) / np.linalg.norm([-0.7, 0.1, -0.7, 0.1])
    data = encode_records(2, 1000 + np.arange(n) * 16667, quat_wxyz=q, record_bytes=40)
    f = tmp_path / "dot.bin"
    f.write_bytes(data)
    assert main(["decode", str(f), "--protocol", "movella-dot:2,40"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == n
    np.testing.assert_allclose(rows[0]["quat_wxyz"], q[0], atol=1e-6)  # w < 0 kept as sent
    assert main(["decode", str(f), "--protocol", "movella-dot:2,30"]) != 0
    assert "too short" in capsys.readouterr().err


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="mode 9"):
        MovellaDotDecoder(9)


def test_a_near_identity_orientation_with_components_below_1e_6_is_kept():
    """A head held still and square gives quaternion components of a few 1e-7: they are
    data, not garbage (the unit norm is the check); garbage is still rejected."""
    q = np.array([[1.0, 3e-7, 0.0, -2e-7], [0.70710677, 0.0, 4e-7, 0.70710677]])
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    d = MovellaDotDecoder(3)
    b = d.feed(encode_records(3, np.array([1000, 2000]), quat_wxyz=q))
    assert len(b) == 2 and d.stats.rejected_frames == 0
    np.testing.assert_allclose(b.quat_wxyz, q.astype(np.float32), atol=1e-7)
    garbage = MovellaDotDecoder(3)
    assert len(garbage.feed(bytes(range(7, 7 + 20)) * 3)) == 0
