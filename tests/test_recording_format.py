"""The .cvtrec format: round trip, truncated tails, corrupt records, the writer's guarantees."""

import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cervitrack.firmware_bridge.protocols.reference import encode_samples
from cervitrack.signal.samples import Chunk, Gap, SampleBatch
from cervitrack.trainer.recording import format as fmt
from cervitrack.trainer.recording.reader import load, parse
from cervitrack.trainer.recording.writer import Recorder


def _frames(n, start=0):
    seq = np.arange(start, start + n)
    t_us = seq * 10_000
    angle = 0.01 * seq
    quat = np.stack([np.cos(angle / 2), np.zeros(n), np.zeros(n), np.sin(angle / 2)], axis=1)
    return encode_samples(seq, t_us, quat, np.zeros((n, 3)), np.tile([0, 0, 9.81], (n, 1)))


def _write(path, n_chunks=20, **kwargs):
    with Recorder(path, {"protocol": "reference", "device": {"spec": "test"}}, **kwargs) as rec:
        for i in range(n_chunks):
            rec.write(Chunk(1.0 + 0.05 * i, _frames(5, 5 * i)))
            if i == 10:
                rec.write(Gap(1.52, "stall", 3))
                rec.write({"t_s": 1.5, "kind": "mark", "label": "ümlaut ok"})
        rec.metadata({"calibration": {"q_head_sensor": [1.0, 0.0, 0.0, 0.0]}})
        rec.write(SampleBatch.build([1, 2], t_device_s=[0.01, 0.02], t_host_s=np.nan,
                                    t_s=[5.0, 5.01], quat_wxyz=[[1, 0, 0, 0]] * 2,
                                    status=[3, 3]))
    return path


def test_round_trip(tmp_path):
    path = _write(tmp_path / "a.cvtrec")
    rec = load(path)
    assert rec.integrity.status == "ok" and rec.integrity.closed
    assert rec.header["protocol"] == "reference"
    assert rec.header["format_version"] == fmt.VERSION
    assert rec.metadata["calibration"]["q_head_sensor"] == [1.0, 0.0, 0.0, 0.0]
    chunks = rec.chunks
    assert [c.t_host_s for c in chunks] == [1.0 + 0.05 * i for i in range(20)]
    assert chunks[3].data == _frames(5, 15)
    assert rec.gaps == [Gap(1.52, "stall", 3)]
    assert rec.events == [{"t_s": 1.5, "kind": "mark", "label": "ümlaut ok"}]
    (batch,) = rec.sample_batches
    assert batch.seq.tolist() == [1, 2] and np.isnan(batch.t_host_s).all()
    assert batch.t_s.tolist() == [5.0, 5.01] and batch.status.tolist() == [3, 3]
    assert batch.gyr_rad_s is None and batch.quat_wxyz.shape == (2, 4)
    # Stream order is file order: the gap sits after the 11th chunk.
    assert isinstance(rec.stream[11], Gap)
    assert rec.end["records"]["chunk"] == 20


def test_new_file_is_private_and_never_overwritten(tmp_path):
    path = _write(tmp_path / "a.cvtrec", n_chunks=1)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        Recorder(path, {})


def test_every_truncation_is_read_and_reported(tmp_path):
    data = _write(tmp_path / "a.cvtrec", n_chunks=12).read_bytes()
    full = parse(data)
    boundaries = {fmt.FILE_HEADER_BYTES}
    for r in fmt.scan(data):
        boundaries.add(r.offset + fmt.RECORD_OVERHEAD_BYTES + len(r.payload))
    for cut in range(1, len(data)):
        rec = parse(data[:cut])
        integ = rec.integrity
        assert integ.corrupt_regions == 0 and integ.undecodable_records == 0
        if cut in boundaries:
            assert integ.truncated_at is None
        else:
            assert integ.status == "truncated", cut
            assert integ.truncated_at + integ.truncated_bytes == cut
        # Everything before the cut is kept.
        assert len(rec.chunks) == sum(
            1 for c_end, c in _chunk_ends(data) if c_end <= cut)
        assert not integ.closed
    assert len(full.chunks) == 12


def _chunk_ends(data):
    for r in fmt.scan(data):
        if r.kind == fmt.CHUNK:
            yield r.offset + fmt.RECORD_OVERHEAD_BYTES + len(r.payload), r


def test_corrupt_record_is_skipped_and_counted(tmp_path):
    data = bytearray(_write(tmp_path / "a.cvtrec").read_bytes())
    records = list(fmt.scan(bytes(data)))
    victim = [r for r in records if r.kind == fmt.CHUNK][7]
    data[victim.offset + fmt.RECORD_HEAD_BYTES + 20] ^= 0x40  # one bit flip in the payload
    rec = parse(bytes(data))
    assert rec.integrity.status == "corrupt"
    assert rec.integrity.corrupt_regions == 1
    assert rec.integrity.corrupt_offsets == [victim.offset]
    assert len(rec.chunks) == 19 and rec.integrity.closed
    # A damaged length field (the record would run past the end) is damage too, not a tail.
    data = bytearray(_write(tmp_path / "b.cvtrec").read_bytes())
    data[victim.offset + 3: victim.offset + 7] = struct.pack("<I", 10**6)
    rec = parse(bytes(data))
    assert rec.integrity.corrupt_regions == 1 and rec.integrity.truncated_at is None
    assert len(rec.chunks) == 19


def test_false_sync_inside_data_is_not_a_record():
    payload = struct.pack("<d", 1.0) + fmt.SYNC + b"\x02\x05\x00\x00\x00abcde" + b"\0" * 4
    data = fmt.FILE_HEADER + fmt.encode_record(fmt.CHUNK, payload)
    (record,) = list(fmt.scan(data))
    assert record.payload == payload


def test_unknown_kinds_are_skipped_and_counted():
    data = (fmt.FILE_HEADER + fmt.encode_meta({"protocol": "reference"})
            + fmt.encode_record(0x40, b"future") + fmt.encode_chunk(Chunk(2.0, b"xy")))
    rec = parse(data)
    assert rec.integrity.unknown_kind_records == 1 and rec.integrity.status == "ok"
    assert rec.chunks == [Chunk(2.0, b"xy")]


def test_not_a_recording_raises_format_error(tmp_path):
    with pytest.raises(fmt.FormatError):
        parse(b"hello world, this is text")
    with pytest.raises(fmt.FormatError):
        parse(fmt.MAGIC + struct.pack("<I", 99))
    # A header cut short is an empty, truncated recording.
    rec = parse(fmt.MAGIC[:5])
    assert rec.integrity.truncated_at == 0 and rec.stream == []


def test_crc_covers_kind_and_length():
    record = fmt.encode_record(fmt.CHUNK, b"12345678abc")
    kind_len = record[2:7]
    payload = record[7:-4]
    assert struct.unpack("<I", record[-4:])[0] == zlib.crc32(kind_len + payload)


def test_writer_flushes_without_being_fed(tmp_path):
    """The flusher thread writes pending records even when the producer stalls."""
    path = tmp_path / "a.cvtrec"
    rec = Recorder(path, {"protocol": "reference"}, flush_interval_s=0.05, fsync=False)
    try:
        rec.write(Chunk(0.0, _frames(3)))
        # Wait without feeding (bounded liveness check, not a timing assertion).
        for _ in range(400):
            on_disk = parse(path.read_bytes())
            if on_disk.chunks:
                break
            rec._stop.wait(0.025)
        assert len(on_disk.chunks) == 1 and not on_disk.integrity.closed
    finally:
        rec.close()


def test_writer_rejects_bad_settings_and_items(tmp_path):
    with pytest.raises(ValueError):
        Recorder(tmp_path / "a.cvtrec", {}, flush_interval_s=1.0)
    with Recorder(tmp_path / "b.cvtrec", {}) as rec:
        with pytest.raises(TypeError):
            rec.write(42)
        with pytest.raises(ValueError):
            rec.write({"no": "kind"})
    with pytest.raises(ValueError):
        rec.write(Chunk(0.0, b""))


_FUZZ_BASE = None


def _fuzz_base():
    global _FUZZ_BASE
    if _FUZZ_BASE is None:
        data = bytearray(fmt.FILE_HEADER + fmt.encode_meta({"protocol": "reference"}))
        for i in range(12):
            data += fmt.encode_chunk(Chunk(float(i), _frames(2, 2 * i)))
            if i % 4 == 0:
                data += fmt.encode_event({"t_s": float(i), "kind": "mark"})
        data += fmt.encode_end({})
        _FUZZ_BASE = bytes(data)
    return _FUZZ_BASE


@settings(max_examples=150, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(fmt.FILE_HEADER_BYTES, 10_000), st.integers(1, 255)),
                      max_size=6),
       cut=st.integers(fmt.FILE_HEADER_BYTES, 10_000))
def test_damage_never_raises_and_keeps_intact_records(flips, cut):
    base = _fuzz_base()
    data = bytearray(base)
    body = len(base) - fmt.FILE_HEADER_BYTES
    positions = [fmt.FILE_HEADER_BYTES + pos % body for pos, _ in flips]
    for pos, (_, mask) in zip(positions, flips):
        data[pos] ^= mask
    data = bytes(data[: min(cut, len(data))])
    rec = parse(data)  # must not raise
    good = list(fmt.scan(base))
    damaged = set(positions)
    first_damage = min(damaged | {len(data)})
    # Every record that ends before the first damaged byte is read back unchanged.
    intact = [r for r in good if r.offset + fmt.RECORD_OVERHEAD_BYTES + len(r.payload)
              <= first_damage]
    got = list(fmt.scan(data))
    assert [(r.kind, r.payload) for r in got[: len(intact)]] == \
        [(r.kind, r.payload) for r in intact]
    assert rec.integrity.records == len(got)
