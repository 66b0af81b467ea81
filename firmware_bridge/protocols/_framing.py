"""Vectorised framing shared by the fixed-length protocols.

A protocol with fixed-length frames is scanned in three numpy steps: find every candidate start
(positions where a header matches, or every position for header-less protocols), check all
complete candidates at once (checksum and/or plausibility, a function of the (M, L) uint8 rows),
then accept valid candidates greedily from the left so accepted frames never overlap. This is the
"find header, check, on failure drop one byte and rescan" loop of pyserial's documentation,
computed for the whole buffer at once.

Byte accounting (what the decoders add to ``stats``):

- ``skipped``: bytes before ``keep_from`` not inside an accepted frame.
- ``rejected``: with a header, candidates that failed the check and are not inside an accepted
  frame; without a header, the number of runs of skipped bytes (one damaged record each).
- ``keep_from``: the first byte that must stay buffered because a frame may still start there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scan:
    """Result of :func:`scan_fixed`.

    Attributes:
        starts: int64 (K,), accepted frame starts, ascending, non-overlapping.
        rows: uint8 (K, L), the accepted frames' bytes (C-contiguous).
        keep_from: bytes before this index can be dropped from the buffer.
        skipped: garbage bytes before ``keep_from``.
        rejected: rejected frames (see module docstring).
    """

    starts: np.ndarray
    rows: np.ndarray
    keep_from: int
    skipped: int
    rejected: int


def header_positions(buf: np.ndarray, header: bytes) -> np.ndarray:
    """Start indices where ``header`` occurs in the uint8 array ``buf`` (overlaps included)."""
    h = len(header)
    n = buf.size - h + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    mask = buf[:n] == header[0]
    for k in range(1, h):
        mask &= buf[k:k + n] == header[k]
    return np.flatnonzero(mask)


def _greedy(starts: np.ndarray, length: int) -> np.ndarray:
    """Boolean mask keeping the leftmost non-overlapping subset of sorted ``starts``."""
    keep = np.ones(starts.size, dtype=bool)
    if starts.size < 2 or np.all(np.diff(starts) >= length):
        return keep
    last_end = -1
    for i, s in enumerate(starts.tolist()):
        if s >= last_end:
            last_end = s + length
        else:
            keep[i] = False
    return keep


def scan_fixed(buf: np.ndarray, length: int, check, header: bytes | None = None) -> Scan:
    """Find, check and accept fixed-length frames in ``buf``.

    Args:
        buf: uint8 (n,), the decoder's buffered bytes.
        length: frame length in bytes, L.
        check: function of uint8 rows (M, L) returning a bool mask (M,) of valid frames.
        header: the bytes every frame starts with, or None for header-less records (every
            position is then a candidate and only ``check`` decides).
    """
    n = buf.size
    hlen = len(header) if header else 0
    # Fast path: the buffer is a run of valid frames from offset 0 (the steady state). The
    # leftmost-greedy choice is then exactly these frames, so the result is the same.
    k = n // length
    if k:
        aligned = buf[: k * length].reshape(k, length)
        head_ok = True
        for j, byte in enumerate(header or b""):
            head_ok = head_ok and bool((aligned[:, j] == byte).all())
        if head_ok and check(aligned).all():
            rest = buf[k * length:]
            more = _tail_start(rest, header) if header is not None else 0
            return Scan(np.arange(k, dtype=np.int64) * length, aligned, k * length + more,
                        more, 0)
    if header is not None:
        cand = header_positions(buf, header)
        tail_keep = max(n - hlen + 1, 0)
    else:
        cand = np.arange(max(n - length + 1, 0), dtype=np.int64)
        tail_keep = max(n - length + 1, 0)
    complete = cand + length <= n
    starts = cand[complete]
    pending = cand[~complete]
    keep_from = int(pending[0]) if pending.size else tail_keep
    if starts.size:
        rows = buf[starts[:, None] + np.arange(length)]
        valid = check(rows)
    else:
        rows = np.zeros((0, length), dtype=np.uint8)
        valid = np.zeros(0, dtype=bool)
    vstarts = starts[valid]
    keep = _greedy(vstarts, length)
    acc_starts = vstarts[keep]
    acc_rows = rows[valid][keep]
    if acc_starts.size:
        keep_from = max(keep_from, int(acc_starts[-1]) + length)
    covered = acc_starts.size * length
    skipped = max(0, keep_from - covered)
    if header is not None:
        bad = starts[~valid]
        bad = bad[bad < keep_from]
        if acc_starts.size and bad.size:
            pos = np.searchsorted(acc_starts, bad, side="right") - 1
            inside = (pos >= 0) & (bad < acc_starts[np.maximum(pos, 0)] + length)
            bad = bad[~inside]
        rejected = int(bad.size)
    else:
        rejected = _garbage_runs(acc_starts, length, keep_from)
    return Scan(acc_starts, np.ascontiguousarray(acc_rows), keep_from, skipped, rejected)


def _tail_start(rest: np.ndarray, header: bytes) -> int:
    """Bytes of ``rest`` (the partial tail after aligned frames) that are garbage."""
    if rest.size == 0:
        return 0
    hlen = len(header)
    cand = header_positions(rest, header)
    if cand.size:
        return int(cand[0])
    # A header may be split across feeds: keep a trailing header prefix.
    for k in range(min(hlen - 1, rest.size), 0, -1):
        if bytes(rest[-k:]) == header[:k]:
            return rest.size - k
    return rest.size


def _garbage_runs(starts: np.ndarray, length: int, keep_from: int) -> int:
    """Number of maximal runs of bytes before ``keep_from`` not covered by accepted frames."""
    if starts.size == 0:
        return 1 if keep_from > 0 else 0
    runs = int(starts[0] > 0)
    runs += int(np.count_nonzero(starts[1:] > starts[:-1] + length))
    runs += int(keep_from > starts[-1] + length)
    return runs
