"""MetaWear fusion decoder: the SDK-test vectors (the vendors' documented example frames)."""

import json

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols.metawear import (
    MetaWearDecoder,
    encode_euler,
    encode_quaternions,
)
from cervitrack.trainer.cli import main

QUAT = bytes.fromhex("19 07 1B 9B 70 3F 8C 5E 4D BD 07 7F 1D BE 78 02 9A BE")
EULER = bytes.fromhex("19 08 B1 F9 C5 41 44 B9 F1 C2 1A 2F 04 C2 B1 F9 C5 41")
Q_EXPECTED = [0.93987, -0.05014, -0.15380, -0.30080]
HPRY = [24.747, -120.862, -33.046, 24.747]


def _euler_quat(heading, pitch, roll):
    """The documented conversion: intrinsic Z-X-Y of (-heading, pitch, roll)."""
    xyzw = Rotation.from_euler("ZXY", [-heading, pitch, roll], degrees=True).as_quat()
    q = xyzw[[3, 0, 1, 2]]
    return q * np.sign(q[0])


def test_vectors_decoder():
    d = MetaWearDecoder()
    b = d.feed(QUAT + EULER)
    assert len(b) == 2 and b.seq.tolist() == [0, 1]
    np.testing.assert_allclose(b.quat_wxyz[0], Q_EXPECTED, atol=1e-5)
    np.testing.assert_allclose(d.last_euler_deg, HPRY, atol=1e-3)
    np.testing.assert_allclose(b.quat_wxyz[1], _euler_quat(*HPRY[:3]), atol=1e-5)


def test_vectors_cli(tmp_path, capsys):
    f = tmp_path / "mw.bin"
    f.write_bytes(b"\x11\x09" + QUAT + EULER)
    assert main(["decode", str(f), "--protocol", "metawear"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(x) for x in out.splitlines()]
    np.testing.assert_allclose(rows[0]["quat_wxyz"], Q_EXPECTED, atol=1e-5)
    np.testing.assert_allclose(rows[1]["quat_wxyz"], _euler_quat(*HPRY[:3]), atol=1e-5)
    assert [r["t_s"] for r in rows] == [0.0, 0.01]
    assert err.strip() == "frames=2 rejected=0 skipped_bytes=2"


def test_encoders_roundtrip():
    q = Rotation.random(20, random_state=1).as_quat()[:, [3, 0, 1, 2]]
    d = MetaWearDecoder()
    b = d.feed(encode_quaternions(q) + encode_euler([[10.0, 20.0, 30.0]]))
    assert len(b) == 21
    np.testing.assert_allclose(np.abs(np.sum(b.quat_wxyz[:20] * q, axis=1)), 1, atol=1e-6)


def test_connection_parameters_vector():
    from cervitrack.firmware_bridge.profiles import METAWEAR_CONN_7_5MS
    from cervitrack.firmware_bridge.protocols.metawear import (
        decode_connection_parameters,
        encode_connection_parameters,
    )

    vector = bytes.fromhex("11 09 58 02 20 03 80 00 66 06")
    assert decode_connection_parameters(vector) == {
        "min_interval_ms": 750.0, "max_interval_ms": 1000.0, "latency": 128,
        "timeout_ms": 16380.0}
    assert encode_connection_parameters(750, 1000, 128, 16380) == vector
    assert encode_connection_parameters(7.5, 7.5, 0, 6000) == METAWEAR_CONN_7_5MS
    assert decode_connection_parameters(QUAT) is None
    d = MetaWearDecoder()
    assert len(d.feed(vector + QUAT)) == 1 and d.stats.skipped_bytes == 10
