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


def test_datagrams_of_zeros_never_shift_the_framing():
    """Zero records are plausible at any byte offset: the UDP transport's datagrams (one per
    chunk) are decoded at their own boundaries, so a still head at neutral followed by a turn
    decodes as sent. A subnormal angle (a minimum-jerk movement's first sample) is rejected as
    implausible; the byte scan then re-synchronised on zeros at a wrong offset and read the yaw
    as roll."""
    import struct

    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.firmware_bridge.protocols._convert import euler_deg_to_quat_wxyz
    from cervitrack.signal.samples import Chunk

    decoder = make_decoder("opentrack-udp")
    angles = ([(0.0, 0.0, 0.0)] * 40 + [(0.0, 3.079e-44, 0.0)] + [(0.0, 0.5 * k, 0.0) for k in range(1, 30)]
              + [(30.0, 0.0, 0.0)] * 5)
    out = []
    for i in range(0, len(angles), 5):
        chunks = [Chunk(1.0 + 0.02 * (i + k), struct.pack("<6d", 0, 0, 0, *a)) for k, a in enumerate(angles[i:i + 5])]
        out.append(decoder.feed_chunks(chunks).quat_wxyz)
    got = np.concatenate(out)
    sent = [a for a in angles if a[1] != 3.079e-44]
    assert got.shape == (len(sent), 4) and decoder.stats.rejected_frames == 1
    np.testing.assert_allclose(got, euler_deg_to_quat_wxyz("ZYX", np.array(sent)), atol=1e-12)
