"""Text-line decoder: presets for BNO055 sketches, Razor, CSV; custom formats."""

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.protocols.text import NUM, PRESETS, TextDecoder, TextFormat
from cervitrack.trainer.cli import main


def _ypr(q_wxyz):
    return Rotation.from_quat(np.asarray(q_wxyz)[[1, 2, 3, 0]]).as_euler("ZYX", degrees=True)


def test_razor_with_boot_banner_and_split_lines():
    d = make_decoder("text:razor")
    b1 = d.feed(b"Razor AHRS v1.4\r\n#YPR=10.00,-5.0")
    b2 = d.feed(b"0,0.00\r\n#YPR=999,0,0\r\n")
    assert len(b1) == 0 and len(b2) == 1
    np.testing.assert_allclose(_ypr(b2.quat_wxyz[0]), [10, -5, 0], atol=1e-9)
    assert d.stats.skipped_bytes == len(b"Razor AHRS v1.4\r\n") and d.stats.rejected_frames == 1


def test_bno055_quaternion_two_decimals():
    d = make_decoder("text:bno055-quaternion")
    b = d.feed(b"Quaternion: 0.71, 0.00, 0.00, 0.71\r\nCalibration: 3 3 3 3\r\n")
    np.testing.assert_allclose(b.quat_wxyz[0], [0.70711, 0, 0, 0.70711], atol=1e-5)
    assert PRESETS["bno055-quaternion"].baud == 9600


def test_bno055_orientation_convention():
    b = make_decoder("text:bno055-orientation").feed(b"Orientation: 90.00 0.00 0.00\n")
    # heading 90° clockwise from above = -90° about z-up
    np.testing.assert_allclose(_ypr(b.quat_wxyz[0]), [-90, 0, 0], atol=1e-9)


def test_csv_default_and_cli(tmp_path, capsys):
    f = tmp_path / "q.csv"
    f.write_bytes(b"w,x,y,z\n1,0,0,0\n0.70711, 0, 0, 0.70711\n")
    assert main(["decode", str(f), "--protocol", "text"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["seq"] for r in rows] == [0, 1] and rows[0]["quat_wxyz"] == [1.0, 0.0, 0.0, 0.0]
    assert err.strip() == "frames=2 rejected=0 skipped_bytes=8"


def test_csv_imu_units_and_clock():
    d = TextDecoder("csv-imu")
    assert d.has_clock
    b = d.feed(b"1500,1,0,0,0,0,0,9.81,0.1,0,0\n")
    assert b.t_device_s[0] == 1.5 and b.acc_m_s2[0, 2] == 9.81 and b.gyr_rad_s[0, 0] == 0.1


def test_custom_format_field_map_and_units():
    fmt = TextFormat(rf"q\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+g\s+{NUM}\s+{NUM}\s+{NUM}",
                     ("qw", "qx", "qy", "qz", "gx", "gy", "gz"), units={"gyr": "deg/s"})
    b = TextDecoder(fmt=fmt).feed(b"q 1 0 0 0 g 180 0 0\n")
    np.testing.assert_allclose(b.gyr_rad_s[0], [np.pi, 0, 0])
    with pytest.raises(ValueError):
        TextFormat(NUM, ("bogus",))
    with pytest.raises(ValueError, match="unknown text preset"):
        TextDecoder("nope")


def test_reference_text_vector_through_cli(tmp_path, capsys):
    f = tmp_path / "oht.txt"
    f.write_bytes(b"$OHTQ,42,1000,0.70711,0.00000,0.00000,0.70711,3*1A\r\n")
    assert main(["decode", str(f), "--protocol", "reference-text"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    assert row["seq"] == 42 and row["t_s"] == 1.0
    np.testing.assert_allclose(row["quat_wxyz"], [0.70711, 0, 0, 0.70711], atol=1e-5)
    assert err.strip() == "frames=1 rejected=0 skipped_bytes=0"
