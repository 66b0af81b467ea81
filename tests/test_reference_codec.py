"""OHT/1 reference protocol: the documented vectors, CRC, chunking and corruption."""

import binascii

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cervitrack.firmware_bridge.protocols import reference as oht
from cervitrack.signal.samples import Chunk, concat

QUAT_FRAME = bytes.fromhex("A55A010A2A0040420F00412D00000000412D03008081")
IMU_FRAME = bytes.fromhex("A55A02162B0050690F00004000000000000000000000"
                          "0C0100000000CF0903009522")


def test_crc_check_value():
    assert oht.crc16_ccitt_false(b"123456789") == 0x29B1
    rows = np.frombuffer(b"123456789", dtype=np.uint8)[None]
    assert int(oht._crc_rows(rows)[0]) == 0x29B1


def test_documented_quaternion_frame():
    batch = oht.ReferenceDecoder().feed(QUAT_FRAME)
    assert batch.seq.tolist() == [42]
    assert batch.t_device_s.tolist() == [1.0]
    assert np.allclose(batch.quat_wxyz, [[0.70711, 0, 0, 0.70711]], atol=1e-5)
    assert batch.status.tolist() == [3]
    assert oht.encode_samples([42], [1_000_000], [[11585 / 16384, 0, 0, 11585 / 16384]]) == QUAT_FRAME


def test_documented_imu_frame():
    batch = oht.ReferenceDecoder().feed(IMU_FRAME)
    assert batch.seq.tolist() == [43] and batch.t_device_s.tolist() == [1.01]
    assert np.allclose(batch.gyr_rad_s, [[0, 0, 268 / 512]])
    assert np.allclose(batch.acc_m_s2, [[0, 0, 2511 / 256]])
    assert oht.encode_samples([43], [1_010_000], [[1, 0, 0, 0]], [[0, 0, 268 / 512]],
                              [[0, 0, 2511 / 256]]) == IMU_FRAME


def test_documented_commands():
    assert oht.encode_command(oht.CMD_TARE, 7) == bytes.fromhex("A55A83000700000000008BCC")
    assert oht.encode_command(oht.CMD_SET_RATE, 8, (100).to_bytes(2, "little")) == \
        bytes.fromhex("A55A82020800000000006400D4C4")


def test_documented_text_line():
    line = b"$OHTQ,42,1000,0.70711,0.00000,0.00000,0.70711,3*1A\r\n"
    assert oht.encode_text(42, 1000, [0.70711, 0, 0, 0.70711]) == line
    dec = oht.ReferenceTextDecoder()
    batch = dec.feed(b"boot banner\r\n" + line + line.replace(b"*1A", b"*1B"))
    assert batch.seq.tolist() == [42] and batch.t_device_s.tolist() == [1.0]
    assert dec.stats.frames == 1 and dec.stats.rejected_frames == 1


def test_flipped_bit_is_rejected_and_neighbours_survive():
    bad = bytearray(QUAT_FRAME)
    bad[12] ^= 0x04
    dec = oht.ReferenceDecoder()
    batch = dec.feed(IMU_FRAME + bytes(bad) + IMU_FRAME)
    assert batch.seq.tolist() == [43, 43]
    assert dec.stats.rejected_frames == 1
    assert dec.stats.skipped_bytes == len(QUAT_FRAME)


def _stream(n, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return oht.encode_samples(np.arange(n), np.arange(n) * 10_000, q,
                              rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) * 5), q


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=34 * 60), max_size=30))
def test_any_chunking_gives_the_same_samples(cuts):
    data, q = _stream(60)
    bounds = sorted(set([0, *cuts, len(data)]))
    dec = oht.ReferenceDecoder()
    batch = concat([dec.feed(data[a:b], float(i)) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))])
    assert batch.seq.tolist() == list(range(60))
    assert np.allclose(np.abs(np.sum(batch.quat_wxyz * q, axis=1)), 1.0, atol=1e-4)
    assert dec.stats.skipped_bytes == 0 and dec.stats.rejected_frames == 0


@settings(max_examples=40, deadline=None)
@given(garbage=st.binary(max_size=400), split=st.integers(min_value=1, max_value=50))
def test_garbage_never_raises_and_valid_frames_around_it_decode(garbage, split):
    data, _ = _stream(20)
    stream = data[:34 * 10] + garbage + data[34 * 10:]
    dec = oht.ReferenceDecoder()
    batch = concat([dec.feed(stream[i:i + split]) for i in range(0, len(stream), split)])
    assert set(range(10)) <= set(batch.seq.tolist())
    assert set(range(11, 20)) <= set(batch.seq.tolist())  # frame 10 may be swallowed by a false sync


def test_feed_chunks_stamps_each_frame_with_its_completing_chunk():
    data, _ = _stream(5)
    chunks = [Chunk(1.0, data[:50]), Chunk(2.0, data[50:100]), Chunk(3.0, data[100:])]
    batch = oht.ReferenceDecoder().feed_chunks(chunks)
    # Frame ends at 34, 68, 102, 136, 170 bytes.
    assert batch.t_host_s.tolist() == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_large_buffers_take_the_vectorised_path():
    data, _ = _stream(1000)
    dec = oht.ReferenceDecoder()
    batch = dec.feed(b"\xa5" + data + b"\xa5\x5a\x01")
    assert len(batch) == 1000 and dec.stats.skipped_bytes == 1
    assert len(dec._buf) == 3  # an incomplete frame waits for more bytes
    assert binascii.crc_hqx(data[2:32], 0xFFFF) == int.from_bytes(data[32:34], "little")
