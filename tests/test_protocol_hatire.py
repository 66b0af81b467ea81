"""Hatire decoder: the vector (the vendors' documented example frames), messages, counter wrap."""

import json

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols.hatire import HatireDecoder, encode_frames
from cervitrack.trainer.cli import main

VECTOR = bytes.fromhex("AA AA 01 00 00 00 20 41 00 00 00 00 00 00 A0 C0") + bytes(12) + b"\x55\x55"


def _ypr(q_wxyz):
    return Rotation.from_quat(np.asarray(q_wxyz)[[1, 2, 3, 0]]).as_euler("ZYX", degrees=True)


def test_vector_decoder_and_cli(tmp_path, capsys):
    b = HatireDecoder().feed(VECTOR)
    assert b.seq.tolist() == [0]  # the decoder numbers frames itself
    np.testing.assert_allclose(_ypr(b.quat_wxyz[0]), [10, -5, 0], atol=1e-9)
    f = tmp_path / "hat.bin"
    f.write_bytes(VECTOR)
    assert main(["decode", str(f), "--protocol", "hatire"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    assert row["seq"] == 0 and row["t_s"] == 0.0
    np.testing.assert_allclose(_ypr(row["quat_wxyz"]), [10, -5, 0], atol=1e-9)
    assert err.strip() == "frames=1 rejected=0 skipped_bytes=0"


def test_messages_and_wrap():
    codes = [998, 999, 0, 1]
    data = encode_frames([5000], [[0, 0, 0]]) + encode_frames(codes, np.zeros((4, 3)))
    d = HatireDecoder()
    b = d.feed(data)
    assert b.seq.tolist() == [0, 1, 2, 3] and d.last_message_code == 5000
    assert d.stats.extra["messages"] == 1 and d.stats.frames == 5


def test_code_1000_is_data_and_1001_a_message():
    """opentrack (tracker-hatire/ftnoir_tracker_hat.cpp): ``if (ArduinoData.Code <= 1000)``."""
    d = HatireDecoder()
    b = d.feed(encode_frames([1000, 1001, 1500], np.zeros((3, 3))))
    assert len(b) == 1 and d.stats.extra["messages"] == 2 and d.last_message_code == 1500
    assert d.stats.rejected_frames == 0


def test_constant_code_is_not_a_counter():
    """A sketch sending code 0 in every frame: frames are numbered 0, 1, 2... (not all 0), and
    a counting sketch's lost frames still show as a jump in seq."""
    d = HatireDecoder()
    assert d.feed(encode_frames(np.zeros(5), np.zeros((5, 3)))).seq.tolist() == [0, 1, 2, 3, 4]
    d = HatireDecoder()
    b = d.feed(encode_frames([10, 11, 14, 15], np.zeros((4, 3))))
    assert b.seq.tolist() == [0, 1, 4, 5]
    b2 = d.feed(encode_frames([15, 16], np.zeros((2, 3))))  # a repeated code advances by one
    assert b2.seq.tolist() == [6, 7]


def test_untouched_translation_is_accepted():
    """Translation bytes a sketch never set (NaN, huge, denormal) do not reject the frame:
    opentrack checks none of the six values."""
    trans = np.array([[np.nan, 1e30, 1e-40], [np.inf, -np.inf, 0.0]], dtype=np.float32)
    d = HatireDecoder()
    b = d.feed(encode_frames([0, 0], [[10, 0, 0], [20, 0, 0]], trans))
    assert len(b) == 2 and d.stats.rejected_frames == 0


def test_axis_order_presets(tmp_path, capsys):
    """rot = (yaw, roll, pitch) by default (opentrack's default mapping); ``hatire:ypr`` reads
    (yaw, pitch, roll) as the Razor AHRS HAT mode and the BNO086 sketch send them."""
    frame = encode_frames([0], [[30, 10, -5]])
    np.testing.assert_allclose(_ypr(HatireDecoder().feed(frame).quat_wxyz[0]), [30, -5, 10],
                               atol=1e-5)
    np.testing.assert_allclose(_ypr(HatireDecoder("ypr").feed(frame).quat_wxyz[0]), [30, 10, -5],
                               atol=1e-5)
    f = tmp_path / "hat.bin"
    f.write_bytes(frame)
    assert main(["decode", str(f), "--protocol", "hatire:ypr"]) == 0
    row = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(_ypr(row["quat_wxyz"]), [30, 10, -5], atol=1e-5)
    assert main(["decode", str(f), "--protocol", "hatire:xyz"]) != 0
    assert "unknown Hatire axis order 'xyz'" in capsys.readouterr().err
