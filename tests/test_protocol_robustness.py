"""Every decoder against garbage: hypothesis fuzzing, 1 MB of random bytes and bit flips.

Decoders must never raise (nor hide an internal error), must count consistently, and must keep
decoding the valid frames around damage. The CLI runs in-process (``main``) to keep this fast.
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols import (
    DECODERS,
    bno08x_rvc,
    hatire,
    make_decoder,
    metawear,
    movella_dot,
    opentrack_udp,
    reference,
    witmotion,
)
from cervitrack.signal.samples import concat
from cervitrack.trainer.cli import main

STATS_LINE = re.compile(r"^frames=(\d+) rejected=(\d+) skipped_bytes=(\d+)$")


def _quats(n, rng):
    q = Rotation.random(n, random_state=int(rng.integers(1 << 30))).as_quat()[:, [3, 0, 1, 2]]
    return q * np.sign(q[:, :1])


def _reference(n, rng):
    q = _quats(n, rng)
    half = n // 2
    return (reference.encode_samples(np.arange(half), np.arange(half) * 10000, q[:half])
            + reference.encode_samples(np.arange(half, n), np.arange(half, n) * 10000, q[half:],
                                       gyr_rad_s=rng.normal(0, 1, (n - half, 3)),
                                       acc_m_s2=rng.normal(0, 5, (n - half, 3)))), n


def _reference_text(n, rng):
    q = _quats(n, rng)
    return b"".join(reference.encode_text(i, i * 10, q[i]) for i in range(n)), n


def _witmotion_serial(n, rng):
    data = witmotion.encode_serial_samples(
        quat_wxyz=_quats(n, rng), acc_m_s2=rng.normal(0, 5, (n, 3)),
        gyr_rad_s=rng.normal(0, 1, (n, 3)), euler_deg=rng.uniform(-80, 80, (n, 3)))
    return data, 4 * n


def _witmotion_ble(n, rng):
    return witmotion.encode_ble_packets(rng.normal(0, 5, (n, 3)), rng.normal(0, 1, (n, 3)),
                                        rng.uniform(-80, 80, (n, 3))), n


def _bno(n, rng):
    return bno08x_rvc.encode_frames(np.arange(n), rng.uniform(-80, 80, (n, 3)),
                                    rng.normal(0, 5, (n, 3))), n


def _dot(n, rng):
    return movella_dot.encode_records(5, np.arange(n) * 16667, quat_wxyz=_quats(n, rng)), n


def _metawear(n, rng):
    return metawear.encode_quaternions(_quats(n, rng)), n


def _hatire(n, rng):
    return hatire.encode_frames(np.arange(n) % 1000, rng.uniform(-80, 80, (n, 3)),
                                rng.uniform(-10, 10, (n, 3))), n


def _text(n, rng):
    q = _quats(n, rng)
    return b"".join(b"%.5f,%.5f,%.5f,%.5f\r\n" % tuple(row) for row in q), n


def _udp(n, rng):
    return opentrack_udp.encode_datagrams(rng.uniform(-10, 10, (n, 3)),
                                          rng.uniform(-80, 80, (n, 3))), n


#: protocol → f(n samples, rng) → (valid bytes, wire frames)
STREAMS = {
    "reference": _reference, "reference-text": _reference_text,
    "witmotion-serial": _witmotion_serial, "witmotion-ble": _witmotion_ble,
    "bno08x-rvc": _bno, "movella-dot": _dot, "metawear": _metawear, "hatire": _hatire,
    "text": _text, "opentrack-udp": _udp,
}


#: Fixed frame sizes: for these, every byte fed is either in an accepted frame or skipped.
FRAME_BYTES = {"witmotion-serial": 11, "witmotion-ble": 20, "bno08x-rvc": 19, "movella-dot": 20,
               "metawear": 18, "hatire": 30, "opentrack-udp": 48}


def test_every_registered_decoder_has_a_stream():
    assert set(STREAMS) == set(DECODERS)


def _decode_all(protocol, data, chunks):
    d = make_decoder(protocol)
    parts, pos = [], 0
    for size in chunks:
        parts.append(d.feed(data[pos:pos + size]))
        pos += size
    parts.append(d.feed(data[pos:]))
    parts.append(d.finish())
    buffered = len(d._buf)
    d.flush()
    return d, concat(parts), buffered


@pytest.mark.parametrize("protocol", sorted(STREAMS))
def test_fuzz_arbitrary_bytes_any_chunking(protocol):
    rng = np.random.default_rng(7)
    valid, _ = STREAMS[protocol](20, rng)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(junk=st.binary(max_size=1500), cut=st.integers(0, len(valid)),
           chunks=st.lists(st.integers(1, 300), max_size=20))
    def run(junk, cut, chunks):
        data = valid[:cut] + junk + valid[cut:]
        d, batch, _ = _decode_all(protocol, data, chunks)
        assert "internal_errors" not in d.stats.extra, d.stats.extra
        assert 0 <= len(batch) <= d.stats.frames
        assert d.stats.skipped_bytes <= len(data) and d.stats.rejected_frames >= 0
        if protocol in FRAME_BYTES:
            assert d.stats.frames * FRAME_BYTES[protocol] + d.stats.skipped_bytes == len(data)
        whole, batch_whole, _ = _decode_all(protocol, data, [])
        assert whole.stats.frames == d.stats.frames
        np.testing.assert_array_equal(batch_whole.seq, batch.seq)

    run()


@pytest.mark.parametrize("protocol", sorted(STREAMS))
def test_one_megabyte_of_random_bytes_via_cli(protocol, tmp_path, capsys):
    f = tmp_path / "random.bin"
    f.write_bytes(np.random.default_rng(11).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes())
    code = main(["decode", str(f), "--protocol", protocol, "--format", "csv"])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    if code == 2:  # no frame at all: one line says so and names no protocol for random bytes
        assert out == "" and lines == [
            f"cervitrack: error: no valid {protocol} frame in {1 << 20} bytes; no other known "
            "protocol's frames were found in them either"]
        return
    assert code == 0
    assert len(lines) == 1 and STATS_LINE.match(lines[0]), err
    frames = int(STATS_LINE.match(lines[0]).group(1))
    assert frames < 2000  # random bytes rarely pass as frames
    assert len(out.splitlines()) - 1 <= frames


@pytest.mark.parametrize("protocol", sorted(STREAMS))
def test_bit_flipped_stream_keeps_frames_around_damage(protocol, tmp_path, capsys):
    rng = np.random.default_rng(5)
    data, n_frames = STREAMS[protocol](1500, rng)
    flips = 25
    damaged = bytearray(data)
    for pos in rng.choice(len(data) * 8, flips, replace=False):
        damaged[pos // 8] ^= 1 << (pos % 8)
    f = tmp_path / "flipped.bin"
    f.write_bytes(bytes(damaged))
    assert main(["decode", str(f), "--protocol", protocol]) == 0
    _, err = capsys.readouterr()
    frames, rejected, skipped = (int(x) for x in STATS_LINE.match(err.strip()).groups())
    # Each flip damages at most one frame (and may cost the frame it is realigned onto).
    assert n_frames - 2 * flips <= frames <= n_frames
    d, batch, _ = _decode_all(protocol, data, [])
    assert d.stats.frames == n_frames and d.stats.rejected_frames == 0
    assert d.stats.skipped_bytes == 0


@pytest.mark.parametrize("protocol", ["movella-dot:2", "movella-dot:4", "movella-dot:7",
                                      "movella-dot:16", "movella-dot:26", "movella-dot:2,40",
                                      "hatire:ypr", "text:razor", "text:bno055-orientation",
                                      "text:bno055-quaternion", "text:csv-imu"])
def test_fuzz_decoder_options(protocol):
    @settings(max_examples=40, deadline=None)
    @given(data=st.binary(max_size=2000), chunks=st.lists(st.integers(1, 300), max_size=10))
    def run(data, chunks):
        d, batch, _ = _decode_all(protocol, data, chunks)
        assert "internal_errors" not in d.stats.extra, d.stats.extra
        assert len(batch) <= d.stats.frames and d.stats.skipped_bytes <= len(data)

    run()


def test_fuzz_sniffer_and_no_frame_watch():
    """The sniffer tries every decoder on arbitrary bytes without raising; on a valid stream
    with junk around it, the stream's own protocol ranks first; the watch warns at most once."""
    from cervitrack.firmware_bridge.sniff import NoFrameWatch, no_frame_message, sniff

    rng = np.random.default_rng(3)
    streams = {p: STREAMS[p](60, rng)[0] for p in ("witmotion-serial", "bno08x-rvc", "hatire",
                                                  "metawear")}

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(junk=st.binary(max_size=64), which=st.sampled_from(sorted(streams)),
           chunks=st.lists(st.integers(1, 700), max_size=8))
    def run(junk, which, chunks):
        data = junk + streams[which] + junk
        ranked = sniff(data)
        assert ranked and ranked[0].protocol == which, ranked[:3]
        line = no_frame_message(data, "opentrack-udp")
        assert "\n" not in line and line.startswith("no valid opentrack-udp frame in ")
        watch = NoFrameWatch("opentrack-udp", limit=100)
        said = [m for m in (watch.see(junk[i:i + 1] if i < len(junk) else data[:c], 0)
                            for i, c in enumerate(chunks or [1])) if m]
        assert len(said) <= 1
        sniff(junk)  # arbitrary bytes alone: any answer, no exception

    run()
