"""opentrack UDP decoder: the vector (the vendors' documented example frames) and back-to-back datagrams."""


import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols.opentrack_udp import OpentrackUdpDecoder, encode_datagrams
from cervitrack.trainer.cli import main

VECTOR = bytes(24) + bytes.fromhex("00 00 00 00 00 00 24 40 00 00 00 00 00 00 14 C0") + bytes(8)


def _ypr(q_wxyz):
    return Rotation.from_quat(np.asarray(q_wxyz)[[1, 2, 3, 0]]).as_euler("ZYX", degrees=True)


def test_vector_decoder_and_cli(tmp_path, capsys):
    b = OpentrackUdpDecoder().feed(VECTOR)
    np.testing.assert_allclose(_ypr(b.quat_wxyz[0]), [10, -5, 0], atol=1e-9)
    f = tmp_path / "udp.bin"
    f.write_bytes(VECTOR)
    assert main(["decode", str(f), "--protocol", "opentrack-udp", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    header, line = out.splitlines()
    assert header == "t_s,seq,quat_w,quat_x,quat_y,quat_z"
    q = [float(x) for x in line.split(",")[2:]]
    np.testing.assert_allclose(_ypr(q), [10, -5, 0], atol=1e-9)
    assert err.strip() == "frames=1 rejected=0 skipped_bytes=0"


def test_one_datagram_per_feed_and_non_finite_values():
    """As opentrack (tracker-udp/ftnoir_tracker_udp.cpp): a NaN or infinity in any of the six
    values drops the datagram; any finite translation is accepted."""
    d = OpentrackUdpDecoder()
    xyz = [[-5000.0, 1.0, 2.0]]
    seqs = [d.feed(encode_datagrams(xyz, [[i, 0, 0]])).seq[0] for i in range(5)]
    assert seqs == [0, 1, 2, 3, 4] and d.stats.skipped_bytes == 0
    for bad_xyz, bad_ypr in (([np.nan, 1, 2], [10, 20, 30]), ([3, np.inf, 4], [10, 20, 30]),
                             ([3, 1, 4], [np.nan, 20, 30])):
        fresh = OpentrackUdpDecoder()
        assert len(fresh.feed(encode_datagrams([bad_xyz], [bad_ypr]))) == 0
        assert len(fresh.finish()) == 0
