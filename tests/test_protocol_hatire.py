"""Hatire decoder: the vector (sensor-protocols.md §8), messages, counter wrap."""

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
    assert b.seq.tolist() == [1]
    np.testing.assert_allclose(_ypr(b.quat_wxyz[0]), [10, -5, 0], atol=1e-9)
    f = tmp_path / "hat.bin"
    f.write_bytes(VECTOR)
    assert main(["decode", str(f), "--protocol", "hatire"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    assert row["seq"] == 1 and row["t_s"] == 0.01
    np.testing.assert_allclose(_ypr(row["quat_wxyz"]), [10, -5, 0], atol=1e-9)
    assert err.strip() == "frames=1 rejected=0 skipped_bytes=0"


def test_messages_and_wrap():
    codes = [998, 999, 0, 1]
    data = encode_frames([5000], [[0, 0, 0]]) + encode_frames(codes, np.zeros((4, 3)))
    d = HatireDecoder()
    b = d.feed(data)
    assert b.seq.tolist() == codes and d.last_message_code == 5000
    assert d.stats.extra["messages"] == 1 and d.stats.frames == 5
