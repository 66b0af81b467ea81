"""The Cervitrack recording format (``.cvtrec``), version 1: encoding and tolerant scanning.

Byte layout (all integers little-endian; full description in ``docs/recording-format.md``)::

    file    = magic(8) = 89 43 56 54 52 0D 0A 1A ("\\x89CVTR\\r\\n\\x1a")
              u32 version (= 1)
              record*
    record  = sync(2) = FF C7
              u8  kind
              u32 length            payload length in bytes
              payload[length]
              u32 crc32             zlib CRC-32 of kind, length and payload (not the sync)

Record kinds and their payloads:

    0x01 META     UTF-8 JSON object. The first record of every file is the header (device,
                  protocol, software, settings); the second is a copy of it carrying
                  ``"header_copy": true`` (read when the first is damaged); later META
                  records add or update keys.
    0x02 CHUNK    f64 t_host_s, then the transport bytes exactly as they arrived.
    0x03 GAP      UTF-8 JSON {"t_host_s": float, "reason": str, "lost_frames": int}.
    0x04 EVENT    UTF-8 JSON object, at least {"t_s": float, "kind": str}.
    0x05 SAMPLES  u32 H, H bytes of UTF-8 JSON {"n": N, "arrays": [{"name", "dtype", "shape"}]},
                  then each array's bytes in that order (C order; dtypes "<i8", "<f8", "|u1").
    0x06 END      UTF-8 JSON object written by a clean close ({"records": {...}, ...}).
    0x07 STEP     f64 t_host_s: the live run processed the stream items since the previous
                  STEP as one pipeline step, at host time t_host_s (replay repeats the steps).

The sync bytes let a reader find the next record after damage: 0xFF never occurs in UTF-8, and
a false sync inside binary data is rejected by the CRC. A record whose extent runs past the end
of the file, or a damaged stretch with no valid record after it, is a *truncated tail*; a
damaged stretch followed by valid records is a *corrupt region*. Readers skip both and report
them. Readers skip records of unknown kind (CRC-valid) so later versions can add kinds.

Hostile input: a damaged stretch is searched for the next record by its sync bytes. A candidate
must pass O(1) checks (kind, length within the file) before its CRC is computed, and the CRC work
spent on candidates that fail is capped at :data:`RESYNC_CRC_BUDGET_FACTOR` times the file size,
so scanning any byte sequence takes time linear in its size (a real file's damage costs a few
false candidates at most). Past the cap the rest of the file is reported as a damaged tail.

Pure: this module encodes to and decodes from ``bytes``; it does no file I/O.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from cervitrack.signal.samples import Chunk, Gap, SampleBatch

MAGIC = b"\x89CVTR\r\n\x1a"
VERSION = 1
FILE_HEADER = MAGIC + struct.pack("<I", VERSION)
FILE_HEADER_BYTES = len(FILE_HEADER)  # 12
SYNC = b"\xff\xc7"
RECORD_HEAD_BYTES = 7  # sync(2) + kind(1) + length(4)
RECORD_OVERHEAD_BYTES = RECORD_HEAD_BYTES + 4  # + crc32
#: Largest payload a reader accepts; longer lengths are treated as damage.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
#: Key of the header's copy (the file's second record).
HEADER_COPY_KEY = "header_copy"
#: CRC bytes a scan may spend on resync candidates that turn out invalid, per file byte.
RESYNC_CRC_BUDGET_FACTOR = 4
#: Deepest JSON nesting a record may hold (the writer never nests deeper than a few levels).
MAX_JSON_DEPTH = 64

META = 0x01
CHUNK = 0x02
GAP = 0x03
EVENT = 0x04
SAMPLES = 0x05
END = 0x06
STEP = 0x07
KIND_NAMES = {META: "meta", CHUNK: "chunk", GAP: "gap", EVENT: "event", SAMPLES: "samples",
              END: "end", STEP: "step"}
#: Kinds a reader may meet in a later version are 0x01..0x7F; 0x00 and 0x80.. are invalid.
MAX_KIND = 0x7F

_SAMPLE_ARRAYS = (("seq", "<i8"), ("t_device_s", "<f8"), ("t_host_s", "<f8"), ("t_s", "<f8"),
                  ("quat_wxyz", "<f8"), ("gyr_rad_s", "<f8"), ("acc_m_s2", "<f8"),
                  ("mag_uT", "<f8"), ("status", "|u1"), ("mag_raw", "<f8"))
_ALLOWED_DTYPES = {"<i8", "<f8", "|u1"}


class FormatError(ValueError):
    """The bytes are not a Cervitrack recording (wrong magic or unsupported version)."""


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def to_plain(value):
    """``value`` made JSON-safe: numpy scalars/arrays to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_bytes(obj) -> bytes:
    """Compact UTF-8 JSON (RFC 8259: NaN and infinities become null; objects JSON does not
    know, such as paths, are written as their ``str``)."""
    return json.dumps(to_plain(obj), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=str).encode("utf-8")


def encode_record(kind: int, payload: bytes) -> bytes:
    """One framed record: sync, kind, length, payload, CRC-32."""
    if not 0 < kind <= MAX_KIND:
        raise ValueError(f"record kind {kind} outside 1..{MAX_KIND}")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"record payload of {len(payload)} B exceeds {MAX_PAYLOAD_BYTES} B")
    head = struct.pack("<BI", kind, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(head))
    return SYNC + head + payload + struct.pack("<I", crc)


def encode_meta(meta: dict) -> bytes:
    return encode_record(META, json_bytes(meta))


def encode_chunk(chunk: Chunk) -> bytes:
    return encode_record(CHUNK, struct.pack("<d", chunk.t_host_s) + bytes(chunk.data))


def encode_gap(gap: Gap) -> bytes:
    return encode_record(GAP, json_bytes({"t_host_s": gap.t_host_s, "reason": gap.reason,
                                          "lost_frames": int(gap.lost_frames)}))


def encode_event(event: dict) -> bytes:
    if not isinstance(event, dict) or "kind" not in event or "t_s" not in event:
        raise ValueError("an event must be a dict with at least 't_s' and 'kind'")
    return encode_record(EVENT, json_bytes(event))


def encode_samples(batch: SampleBatch) -> bytes:
    arrays, parts = [], []
    for name, dtype in _SAMPLE_ARRAYS:
        value = getattr(batch, name)
        if value is None:
            continue
        arr = np.ascontiguousarray(value, dtype=np.dtype(dtype))
        arrays.append({"name": name, "dtype": dtype, "shape": list(arr.shape)})
        parts.append(arr.tobytes())
    head = json_bytes({"n": len(batch), "arrays": arrays})
    return encode_record(SAMPLES, struct.pack("<I", len(head)) + head + b"".join(parts))


@dataclass(frozen=True)
class Step:
    """A pipeline-step boundary: the items before it (since the previous Step) were processed
    together by the live run, at host time ``t_host_s`` (s)."""

    t_host_s: float


def encode_step(step: Step) -> bytes:
    return encode_record(STEP, struct.pack("<d", step.t_host_s))


def decode_step(payload: bytes) -> Step:
    if len(payload) != 8:
        raise ValueError("step record must hold one f64")
    return Step(struct.unpack("<d", payload)[0])


def encode_end(summary: dict) -> bytes:
    return encode_record(END, json_bytes(summary))


# --------------------------------------------------------------------------------------------
# Decoding payloads
# --------------------------------------------------------------------------------------------


def _json_depth_ok(text: str) -> bool:
    """Whether brackets in ``text`` nest at most :data:`MAX_JSON_DEPTH` deep (a cheap bound
    checked before parsing, so hostile nesting never reaches the parser's recursion)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def decode_json(payload: bytes) -> dict:
    text = payload.decode("utf-8")
    if not _json_depth_ok(text):
        raise ValueError(f"record JSON nests deeper than {MAX_JSON_DEPTH} levels")
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("record payload is not a JSON object")
    return obj


def decode_chunk(payload: bytes) -> Chunk:
    if len(payload) < 8:
        raise ValueError("chunk record shorter than its 8-byte time")
    (t_host_s,) = struct.unpack_from("<d", payload)
    return Chunk(t_host_s, bytes(payload[8:]))


def decode_gap(payload: bytes) -> Gap:
    obj = decode_json(payload)
    t = obj.get("t_host_s")
    lost = obj.get("lost_frames", -1)
    if isinstance(lost, bool) or not isinstance(lost, (int, float)) or not math.isfinite(lost):
        raise ValueError(f"gap record's lost_frames is {lost!r}, not a whole number")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
        raise ValueError(f"gap record's t_host_s is {t!r}, not a number")
    return Gap(math.nan if t is None else float(t), str(obj.get("reason", "")), int(lost))


def decode_samples(payload: bytes) -> SampleBatch:
    if len(payload) < 4:
        raise ValueError("samples record shorter than its 4-byte header length")
    (h,) = struct.unpack_from("<I", payload)
    if 4 + h > len(payload):
        raise ValueError("samples record header runs past the record")
    head = decode_json(payload[4: 4 + h])
    n = head.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"samples record count {n!r} is not a whole number")
    arrays = head.get("arrays")
    if not isinstance(arrays, list) or not all(isinstance(s, dict) for s in arrays):
        raise ValueError("samples record has no list of arrays")
    pos = 4 + h
    values = {}
    known = dict(_SAMPLE_ARRAYS)
    for spec in arrays:
        name, dtype, raw_shape = spec.get("name"), spec.get("dtype"), spec.get("shape")
        if (not isinstance(raw_shape, list) or not 1 <= len(raw_shape) <= 2
                or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= len(payload)
                           for s in raw_shape)):
            raise ValueError(f"samples record array {name!r} has shape {raw_shape!r}")
        shape = tuple(raw_shape)
        if dtype not in _ALLOWED_DTYPES or (shape[:1] != (n,)):
            raise ValueError(f"samples record array {name!r} has dtype {dtype} shape {shape}")
        if name in known and known[name] != dtype:
            raise ValueError(f"samples record array {name!r} has dtype {dtype}, not {known[name]}")
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if pos + size > len(payload):
            raise ValueError(f"samples record array {name!r} runs past the record")
        arr = np.frombuffer(payload, dtype=np.dtype(dtype), count=int(np.prod(shape)),
                            offset=pos).reshape(shape)
        pos += size
        if name in known:  # SampleBatch.build converts to native dtypes (copies)
            values[name] = arr
    if pos != len(payload):
        raise ValueError("samples record length does not match its arrays")
    if "seq" not in values:
        raise ValueError("samples record has no seq array")
    seq = values.pop("seq")
    return SampleBatch.build(seq, **values)


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One CRC-valid record: its kind, the file offset of its sync bytes, and its payload."""

    kind: int
    offset: int
    payload: bytes


@dataclass
class Integrity:
    """What a scan found besides valid records.

    Attributes:
        records: number of CRC-valid records.
        corrupt_regions: damaged stretches skipped between valid records (each may have held
            one or more records).
        corrupt_bytes: total bytes in those stretches.
        corrupt_offsets: file offset of each damaged stretch.
        truncated_at: file offset where an incomplete or damaged tail begins, or None.
        truncated_bytes: bytes from ``truncated_at`` to the end of the file.
        undecodable_records: CRC-valid records whose payload could not be interpreted.
        unknown_kind_records: CRC-valid records of a kind this version does not know.
        closed: whether the file ends with an END record (a clean close).
        file_bytes: file size.
        header_lost: the first record (the header) was damaged.
        header_from_copy: the header was read from its copy (the file's second record).
        resync_budget_exhausted: damage so dense that the scan stopped searching (the rest
            of the file counts as the truncated tail).
    """

    records: int = 0
    corrupt_regions: int = 0
    corrupt_bytes: int = 0
    corrupt_offsets: list = field(default_factory=list)
    truncated_at: int | None = None
    truncated_bytes: int = 0
    undecodable_records: int = 0
    unknown_kind_records: int = 0
    closed: bool = False
    file_bytes: int = 0
    header_lost: bool = False
    header_from_copy: bool = False
    resync_budget_exhausted: bool = False

    @property
    def status(self) -> str:
        """"ok", "truncated" (only the tail is damaged), or "corrupt" (damage before the end)."""
        if self.corrupt_regions or self.undecodable_records:
            return "corrupt"
        if self.truncated_at is not None:
            return "truncated"
        return "ok"

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "closed": self.closed,
            "records": self.records,
            "corrupt_regions": self.corrupt_regions,
            "corrupt_bytes": self.corrupt_bytes,
            "corrupt_offsets": list(self.corrupt_offsets),
            "undecodable_records": self.undecodable_records,
            "unknown_kind_records": self.unknown_kind_records,
            "truncated_at": self.truncated_at,
            "truncated_bytes": self.truncated_bytes,
            "file_bytes": self.file_bytes,
            "header_lost": self.header_lost,
            "header_from_copy": self.header_from_copy,
            "resync_budget_exhausted": self.resync_budget_exhausted,
        }


def check_file_header(data: bytes) -> int:
    """Validate the magic and version; return the offset of the first record.

    A file shorter than the header whose bytes are a prefix of it is an empty recording whose
    header write was cut off: returns ``len(data)`` (the scanner then reports a truncated tail).

    Raises:
        FormatError: not a Cervitrack recording, or an unsupported version.
    """
    if len(data) < FILE_HEADER_BYTES:
        if MAGIC.startswith(data[: len(MAGIC)]) and len(data) > 0:
            return len(data)
        raise FormatError("not a Cervitrack recording (file too short for the header)")
    if data[: len(MAGIC)] != MAGIC:
        raise FormatError("not a Cervitrack recording (bad magic bytes)")
    (version,) = struct.unpack_from("<I", data, len(MAGIC))
    if version != VERSION:
        raise FormatError(f"unsupported recording format version {version} (this reads {VERSION})")
    return FILE_HEADER_BYTES


class _Scanner:
    """Finds valid records; CRC work on invalid resync candidates is capped (linear time)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.budget = RESYNC_CRC_BUDGET_FACTOR * self.size + 4096

    def record_at(self, pos: int) -> Record | None:
        """The valid record starting at ``pos``, or None (incomplete, bad sync, bad CRC)."""
        data, size = self.data, self.size
        if size - pos < RECORD_HEAD_BYTES or data[pos: pos + 2] != SYNC:
            return None
        kind, length = struct.unpack_from("<BI", data, pos + 2)
        if not 0 < kind <= MAX_KIND or length > MAX_PAYLOAD_BYTES:
            return None
        end = pos + RECORD_OVERHEAD_BYTES + length
        if end > size:
            return None
        (crc,) = struct.unpack_from("<I", data, end - 4)
        if zlib.crc32(data[pos + 2: end - 4]) != crc:
            self.budget -= end - pos
            return None
        return Record(kind, pos, bytes(data[pos + RECORD_HEAD_BYTES: end - 4]))

    def resync(self, start: int) -> Record | None:
        """The first valid record at or after ``start``, found by its sync bytes; None when
        there is none or the CRC budget is spent."""
        pos = start
        while self.budget > 0:
            pos = self.data.find(SYNC, pos)
            if pos < 0:
                return None
            record = self.record_at(pos)
            if record is not None:
                return record
            pos += 1
        return None


def scan(data: bytes, integrity: Integrity | None = None):
    """Yield every valid :class:`Record` in ``data`` (a whole recording file), in order.

    Damage is skipped and counted in ``integrity`` (pass an :class:`Integrity` to read it
    afterwards). Raises :class:`FormatError` only when the file header is wrong. Time is
    linear in ``len(data)`` for any bytes (see the module docstring).
    """
    integ = integrity if integrity is not None else Integrity()
    integ.file_bytes = len(data)
    pos = check_file_header(data)
    if pos < FILE_HEADER_BYTES:  # header itself cut off
        integ.truncated_at, integ.truncated_bytes = 0, len(data)
        return
    scanner = _Scanner(data)
    size = len(data)
    last_kind = None
    while pos < size:
        record = scanner.record_at(pos)
        if record is None:
            if pos == FILE_HEADER_BYTES:
                integ.header_lost = True
            nxt = scanner.resync(pos + 1)
            if nxt is None:
                integ.truncated_at, integ.truncated_bytes = pos, size - pos
                integ.resync_budget_exhausted = scanner.budget <= 0
                break
            integ.corrupt_regions += 1
            integ.corrupt_bytes += nxt.offset - pos
            integ.corrupt_offsets.append(pos)
            record = nxt
        integ.records += 1
        if record.kind not in KIND_NAMES:
            integ.unknown_kind_records += 1
        last_kind = record.kind
        yield record
        pos = record.offset + RECORD_OVERHEAD_BYTES + len(record.payload)
    integ.closed = last_kind == END and integ.truncated_at is None
