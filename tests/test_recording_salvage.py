"""A damaged recording is salvaged, never refused: the reader survives any bytes, in linear time.

Defects covered (issue 16): one flipped bit in the first record made inspect, export and replay
refuse a whole file although every frame was intact; CRC-valid but malformed records crashed the
reader (short SAMPLES payload: struct.error; GAP lost_frames Infinity: OverflowError; deeply
nested META: RecursionError; ``"protocol": 5``: AttributeError); 16 MiB of fake sync markers
took 53 s (quadratic).
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cervitrack.firmware_bridge.protocols.reference import encode_samples
from cervitrack.signal.samples import Chunk, Gap
from cervitrack.trainer.cli import main
from cervitrack.trainer.recording import format as fmt
from cervitrack.trainer.recording.reader import load, parse
from cervitrack.trainer.recording.summary import summarise
from cervitrack.trainer.recording.writer import Recorder


def _frames(n, start=0):
    seq = np.arange(start, start + n)
    angle = 0.01 * seq
    quat = np.stack([np.cos(angle / 2), np.zeros(n), np.zeros(n), np.sin(angle / 2)], axis=1)
    return encode_samples(seq, seq * 10_000, quat, np.zeros((n, 3)), np.tile([0, 0, 9.81], (n, 1)))


def _record(path, n_chunks=40):
    with Recorder(path, {"protocol": "reference", "device": {"spec": "test"},
                         "nominal_rate_hz": 100.0}) as rec:
        for i in range(n_chunks):
            rec.write(Chunk(1.0 + 0.05 * i, _frames(5, 5 * i)))
    return path


def _flip_in_first_record(path, offset_in_payload=5):
    data = bytearray(path.read_bytes())
    data[fmt.FILE_HEADER_BYTES + fmt.RECORD_HEAD_BYTES + offset_in_payload] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_bit_in_the_header_costs_nothing_the_copy_holds_it(tmp_path):
    path = _record(tmp_path / "a.cvtrec")
    intact = summarise(load(path))
    _flip_in_first_record(path)
    rec = load(path)
    assert rec.integrity.header_lost and rec.integrity.header_from_copy
    assert rec.protocol == "reference" and rec.header["nominal_rate_hz"] == 100.0
    damaged = summarise(rec)
    assert damaged["samples"] == intact["samples"] == 200


def test_inspect_and_export_of_a_damaged_header_say_what_was_lost(tmp_path, capsys):
    path = _record(tmp_path / "a.cvtrec")
    _flip_in_first_record(path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "header damaged, read from its copy" in out and "200" in out
    assert main(["export", str(path), "--to", "csv", "--out", str(tmp_path / "csv")]) == 0


def _old_style_file(tmp_path):
    """A recording from before the header copy: one header record, then chunks."""
    data = bytearray(fmt.FILE_HEADER + fmt.encode_meta({"protocol": "reference"}))
    for i in range(10):
        data += fmt.encode_chunk(Chunk(1.0 + 0.05 * i, _frames(5, 5 * i)))
    data[fmt.FILE_HEADER_BYTES + fmt.RECORD_HEAD_BYTES + 3] ^= 0x40
    path = tmp_path / "old.cvtrec"
    path.write_bytes(bytes(data))
    return path


def test_an_old_file_without_the_copy_is_read_with_protocol_named_by_the_user(tmp_path, capsys):
    path = _old_style_file(tmp_path)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "names no protocol" in err and "--protocol" in err
    assert main(["inspect", str(path), "--protocol", "reference"]) == 0
    out = capsys.readouterr().out
    assert "header damaged and no copy" in out
    assert summarise(load(path, "reference"))["samples"] == 50


# ------------------------------------------------------------------ CRC-valid malformed records

def _file(*records: bytes) -> bytes:
    return fmt.FILE_HEADER + fmt.encode_meta({"protocol": "reference"}) + b"".join(records)


def _named_malformed():
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    return {
        "short SAMPLES payload": fmt.encode_record(fmt.SAMPLES, b"\x01\x00"),
        "SAMPLES header past the record": fmt.encode_record(fmt.SAMPLES, struct.pack("<I", 999) + b"{}"),
        "SAMPLES arrays past the record": fmt.encode_record(
            fmt.SAMPLES, (lambda h: struct.pack("<I", len(h)) + h)(json.dumps(
                {"n": 1000, "arrays": [{"name": "seq", "dtype": "<i8", "shape": [1000]}]}).encode())),
        "GAP lost_frames Infinity": fmt.encode_record(
            fmt.GAP, b'{"t_host_s": 1.0, "reason": "x", "lost_frames": Infinity}'),
        "GAP t_host_s a string": fmt.encode_record(fmt.GAP, b'{"t_host_s": "soon"}'),
        "deeply nested META": fmt.encode_record(fmt.META, b'{"a":' + deep + b"}"),
        "deeply nested EVENT": fmt.encode_record(fmt.EVENT, b'{"t_s":0,"kind":"x","a":' + deep + b"}"),
        "protocol 5": fmt.encode_record(fmt.META, b'{"protocol": 5}'),
        "STEP of 3 bytes": fmt.encode_record(fmt.STEP, b"abc"),
        "CHUNK of 2 bytes": fmt.encode_record(fmt.CHUNK, b"ab"),
        "END not an object": fmt.encode_record(fmt.END, b"[1, 2]"),
        "META not UTF-8": fmt.encode_record(fmt.META, b"\xff\xfe{}"),
    }


def test_each_named_malformed_record_is_counted_not_raised():
    for name, record in _named_malformed().items():
        good = fmt.encode_chunk(Chunk(2.0, _frames(3)))
        rec = parse(_file(record, good))
        assert rec.integrity.undecodable_records == 1, name
        assert len(rec.chunks) == 1, name
        assert rec.protocol in ("reference", None), name  # never a non-string


def test_a_non_string_protocol_is_no_protocol():
    rec = parse(fmt.FILE_HEADER + fmt.encode_meta({"protocol": 5}))
    assert rec.protocol is None


_KINDS = st.sampled_from(sorted(fmt.KIND_NAMES) + [0x10, 0x7F])
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4), max_leaves=20)


@st.composite
def _payloads(draw):
    kind = draw(_KINDS)
    how = draw(st.sampled_from(["bytes", "json", "samples-head", "numbers"]))
    if how == "bytes":
        payload = draw(st.binary(max_size=200))
    elif how == "json":
        payload = json.dumps(draw(_JSONISH)).encode()
    elif how == "samples-head":
        head = json.dumps({"n": draw(st.integers(-3, 50)), "arrays": [
            {"name": draw(st.sampled_from(["seq", "t_s", "quat_wxyz", "x"])),
             "dtype": draw(st.sampled_from(["<i8", "<f8", "|u1", "<f4"])),
             "shape": draw(st.lists(st.integers(-2, 60), max_size=3))}
            for _ in range(draw(st.integers(0, 3)))]}).encode()
        payload = (struct.pack("<I", draw(st.integers(0, len(head) + 10))) + head
                   + draw(st.binary(max_size=100)))
    else:
        payload = struct.pack("<d", draw(st.floats())) + draw(st.binary(max_size=16))
    return fmt.encode_record(kind, payload)


@settings(max_examples=300, deadline=None)
@given(records=st.lists(_payloads(), max_size=6), header=st.booleans())
def test_crc_valid_malformed_records_of_every_kind_never_escape(records, header):
    data = (_file if header else (lambda *r: fmt.FILE_HEADER + b"".join(r)))(
        *records, fmt.encode_chunk(Chunk(5.0, _frames(2))))
    rec = parse(data)  # must not raise
    assert rec.integrity.records == len(records) + 1 + header
    try:
        summarise(rec)
    except ValueError as exc:  # a clear one-line refusal (unknown protocol, no protocol)
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000))
def test_any_bytes_after_the_magic_never_raise(data):
    rec = parse(fmt.FILE_HEADER + data)
    assert rec.integrity.file_bytes == fmt.FILE_HEADER_BYTES + len(data)


# ------------------------------------------------------------------ linear time on hostile bytes

def hostile(size: int) -> bytes:
    """Fake records that all claim to end at the end of the file: without a bound on the CRC
    work, every one of them costs a CRC over the rest of the file (quadratic)."""
    out = bytearray(fmt.FILE_HEADER)
    while len(out) + fmt.RECORD_OVERHEAD_BYTES < size:
        remaining = size - len(out) - fmt.RECORD_OVERHEAD_BYTES
        out += fmt.SYNC + struct.pack("<BI", fmt.CHUNK, remaining)
    out += b"\0" * (size - len(out))
    return bytes(out)


def test_crc_work_on_hostile_bytes_is_bounded_by_the_file_size(monkeypatch):
    crc_bytes = []
    real = zlib.crc32

    def counting(data, *args):
        crc_bytes.append(len(data))
        return real(data, *args)

    monkeypatch.setattr(fmt.zlib, "crc32", counting)
    for size in (64 * 1024, 256 * 1024):
        crc_bytes.clear()
        rec = parse(hostile(size))
        assert sum(crc_bytes) <= (fmt.RESYNC_CRC_BUDGET_FACTOR + 1) * size + 8192
        assert rec.integrity.truncated_at is not None
        assert rec.integrity.records == 0


def test_real_damage_does_not_touch_the_budget(tmp_path):
    path = _record(tmp_path / "a.cvtrec", n_chunks=200)
    data = bytearray(path.read_bytes())
    for pos in range(500, len(data), 997):
        data[pos] ^= 0x10
    rec = parse(bytes(data))
    assert not rec.integrity.resync_budget_exhausted
    assert rec.integrity.corrupt_regions > 10 and len(rec.chunks) > 100


def test_a_gap_record_keeps_its_values():
    rec = parse(_file(fmt.encode_gap(Gap(3.0, "stall", 7))))
    assert rec.gaps == [Gap(3.0, "stall", 7)]
