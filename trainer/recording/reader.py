"""Load a recording into memory, skipping and reporting damage.

:func:`load` never fails on a damaged file: a truncated tail or corrupt records are skipped
and counted in :attr:`Recording.integrity`. It raises only when the path cannot be read or is
not a Cervitrack recording at all.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cervitrack.signal.samples import Chunk, Gap, SampleBatch
from cervitrack.trainer.recording import format as fmt


@dataclass
class Recording:
    """A recording's content, in file order.

    Attributes:
        path: where it was read from.
        header: the first META record (empty if it was lost).
        metadata: the header updated by every later META record, in order.
        stream: the stream items in file order: :class:`Chunk`, :class:`Gap`,
            :class:`SampleBatch` (with the times as recorded) and :class:`format.Step`
            pipeline-step boundaries.
        events: event dicts in file order (``t_s`` host monotonic s, ``kind``...).
        meta_updates: the META records after the header as ``(position, dict)``, where
            ``position`` is the number of stream items before it (to apply a calibration or
            pipeline setting at the step where the live run applied it).
        end: the END record of a clean close, or None.
        integrity: what the scan skipped (see :class:`format.Integrity`).
    """

    path: Path
    header: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    stream: list = field(default_factory=list)
    events: list = field(default_factory=list)
    meta_updates: list = field(default_factory=list)
    end: dict | None = None
    integrity: fmt.Integrity = field(default_factory=fmt.Integrity)

    #: A protocol named by the user (``--protocol``), used when the metadata names none.
    protocol_override: str | None = None

    @property
    def protocol(self) -> str | None:
        """Name of the decoder for the recorded chunks: the user's override, else the recorded
        one, else None (a damaged header with no copy)."""
        if self.protocol_override:
            return self.protocol_override
        value = self.metadata.get("protocol")
        return value if isinstance(value, str) and value else None

    @property
    def chunks(self) -> list[Chunk]:
        return [item for item in self.stream if isinstance(item, Chunk)]

    @property
    def gaps(self) -> list[Gap]:
        return [item for item in self.stream if isinstance(item, Gap)]

    @property
    def steps(self) -> list[fmt.Step]:
        return [item for item in self.stream if isinstance(item, fmt.Step)]

    def polls(self, step_s: float = 0.1) -> list[list]:
        """The stream items grouped into the live run's pipeline steps.

        With STEP records, each group is what the live run processed together. Without
        them, items are grouped by host time into ``step_s`` bins (an approximation).
        """
        groups: list[list] = []
        current: list = []
        if self.steps:
            for item in self.stream:
                if isinstance(item, fmt.Step):
                    groups.append(current)
                    current = []
                else:
                    current.append(item)
        else:
            edge = None
            for item in self.stream:
                t = _item_time(item)
                if edge is None and math.isfinite(t):
                    edge = (math.floor(t / step_s) + 1) * step_s
                elif edge is not None and math.isfinite(t) and t > edge:
                    groups.append(current)
                    current = []
                    edge = (math.floor(t / step_s) + 1) * step_s
                current.append(item)
        if current:
            groups.append(current)
        return groups

    @property
    def sample_batches(self) -> list[SampleBatch]:
        return [item for item in self.stream if isinstance(item, SampleBatch)]


def _item_time(item) -> float:
    if isinstance(item, (Chunk, Gap)):
        return item.t_host_s
    if isinstance(item, SampleBatch) and len(item):
        return float(item.t_host_s[-1])
    return math.nan


def read_bytes(path) -> bytes:
    """The file's bytes; OSError with a one-line message when it cannot be read."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a directory, not a recording")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise OSError(f"cannot read {p}: {exc.strerror or exc}") from None


#: What decoding a CRC-valid record may raise on a malformed payload; all are counted, none
#: escapes (RecursionError cannot happen: JSON nesting is bounded before parsing).
_PAYLOAD_ERRORS = (ValueError, KeyError, TypeError, UnicodeDecodeError, struct.error,
                   OverflowError, MemoryError)


#: Metadata keys whose type the readers rely on.
_META_TYPES: dict[str, type | tuple[type, ...]] = {
    "protocol": str, "nominal_rate_hz": (int, float), "device": (dict, str),
    "test": dict, "settings": dict, "calibration": dict}


def _checked_meta(meta: dict) -> dict:
    """``meta`` if the keys readers rely on have their types, else ValueError."""
    for key, kind in _META_TYPES.items():
        if key in meta and meta[key] is not None and not isinstance(meta[key], kind):
            raise ValueError(f"metadata key {key!r} holds {type(meta[key]).__name__}")
    return meta


def parse(data: bytes, path=None, protocol: str | None = None) -> Recording:
    """A :class:`Recording` from a whole file's bytes (see :func:`load`)."""
    rec = Recording(Path(path) if path is not None else Path("<bytes>"))
    rec.protocol_override = protocol or None
    first = True
    header_seen = False
    for record in fmt.scan(data, rec.integrity):
        try:
            if record.kind == fmt.META:
                meta = _checked_meta(fmt.decode_json(record.payload))
                if meta.get(fmt.HEADER_COPY_KEY) is True:
                    # The header's copy: the header when the first record was lost.
                    if not header_seen:
                        meta = {k: v for k, v in meta.items() if k != fmt.HEADER_COPY_KEY}
                        rec.header = dict(meta)
                        rec.metadata.update(meta)
                        rec.integrity.header_from_copy = True
                        header_seen = True
                    first = False
                    continue
                if first and record.offset == fmt.FILE_HEADER_BYTES:
                    rec.header = dict(meta)
                    header_seen = True
                else:
                    rec.meta_updates.append((len(rec.stream), meta))
                rec.metadata.update(meta)
            elif record.kind == fmt.CHUNK:
                rec.stream.append(fmt.decode_chunk(record.payload))
            elif record.kind == fmt.GAP:
                rec.stream.append(fmt.decode_gap(record.payload))
            elif record.kind == fmt.SAMPLES:
                rec.stream.append(fmt.decode_samples(record.payload))
            elif record.kind == fmt.EVENT:
                rec.events.append(fmt.decode_json(record.payload))
            elif record.kind == fmt.STEP:
                rec.stream.append(fmt.decode_step(record.payload))
            elif record.kind == fmt.END:
                rec.end = fmt.decode_json(record.payload)
        except _PAYLOAD_ERRORS:
            rec.integrity.undecodable_records += 1
            if first and record.offset == fmt.FILE_HEADER_BYTES:
                rec.integrity.header_lost = True
        first = False
    return rec


def load(path, protocol: str | None = None) -> Recording:
    """Read the recording at ``path``; ``protocol`` names the decoder when the recording's
    own header was lost (``--protocol`` on the command line).

    Raises:
        OSError: the path does not exist or cannot be read.
        format.FormatError: the file is not a Cervitrack recording.
    """
    data = read_bytes(path)
    try:
        return parse(data, path, protocol)
    except fmt.FormatError as exc:
        raise fmt.FormatError(f"{path}: {exc}") from None
