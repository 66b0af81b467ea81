"""OHT/1, the Open Head Tracker reference protocol (binary and text forms).

Layout (docs/devices/oht-headset.md; little-endian)::

    off 0    A5 5A        sync
    off 2    u8  type     0x01 quat, 0x02 quat+gyro+acc, 0x10 device info (UTF-8 JSON),
                          0x7F log text; host→device 0x80 start, 0x81 stop, 0x82 set rate (u16 Hz),
                          0x83 tare, 0x84 fusion mode (0 = 6-axis, 1 = 9-axis), 0x85 get info
    off 3    u8  len      payload length N (0..239)
    off 4    u16 seq      +1 per frame, wraps at 65536
    off 6    u32 t_us     device monotonic µs, wraps at 2**32
    off 10   payload[N]
    off 10+N u16 crc      CRC-16/CCITT-FALSE over bytes 2 .. 9+N, little-endian

Payload 0x01 (10 B): w, x, y, z int16 Q14 (/16384), u8 status, u8 reserved.
Payload 0x02 (22 B): quaternion (8 B) + gyro 3 x int16 Q9 rad/s (/512) + acc 3 x int16 Q8 m/s²
(/256) + u8 status + u8 reserved.

The quaternion is Hamilton, scalar first, sensor→world. Cervitrack's headset axes when worn:
x forward (nose), y left, z up.

Text form: ``$OHTQ,<seq>,<t_ms>,<w>,<x>,<y>,<z>,<status>*<XX>\\r\\n`` where XX is the XOR of all
bytes between ``$`` and ``*`` (NMEA style).

The binary decoder is vectorised with numpy (sync search, CRC and field extraction run over all
buffered frames at once); a Python loop per frame would cost several µs per frame.
"""

from __future__ import annotations

import binascii
import math
import re
import struct

import numpy as np

from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch, concat

SYNC = b"\xa5\x5a"
HEADER_BYTES = 10
OVERHEAD_BYTES = 12  # header + CRC
MAX_PAYLOAD = 239

TYPE_QUAT = 0x01
TYPE_QUAT_IMU = 0x02
TYPE_INFO = 0x10
TYPE_LOG = 0x7F
CMD_START = 0x80
CMD_STOP = 0x81
CMD_SET_RATE = 0x82
CMD_TARE = 0x83
CMD_FUSION_MODE = 0x84
CMD_GET_INFO = 0x85

PAYLOAD_LEN = {TYPE_QUAT: 10, TYPE_QUAT_IMU: 22}
QUAT_SCALE = 16384.0  # Q14
GYR_SCALE_RAD_S = 512.0  # Q9
ACC_SCALE_M_S2 = 256.0  # Q8
#: |q| of a decoded Q14 quaternion must lie within this of 1 (quantisation is ~1e-4).
QUAT_NORM_TOLERANCE = 0.02
#: The same bounds on |q|² (the fast path checks the squared norm).
_NORM2_MIN = (1 - QUAT_NORM_TOLERANCE) ** 2
_NORM2_MAX = (1 + QUAT_NORM_TOLERANCE) ** 2

SEQ_MODULUS = 1 << 16
#: Frame bodies after the sync (type, len, seq, t_us, payload), for the few-frames path.
_BODY_STRUCT = {0x01: struct.Struct("<BBHI4hBB"), 0x02: struct.Struct("<BBHI4h3h3hBB")}
CLOCK_WRAP_S = (1 << 32) / 1e6


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint16)
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table[i] = crc & 0xFFFF
    return table


_CRC_TABLE = _crc_table()


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF); ``binascii.crc_hqx`` computes exactly it."""
    return binascii.crc_hqx(data, 0xFFFF)


def _crc_linear_tables(length: int) -> tuple[np.ndarray, int]:
    """Per-position tables for CRC-16/CCITT-FALSE of ``length``-byte messages.

    The CRC is affine in the message bytes: ``crc(m) = c0 ^ XOR_i T[i, m_i]`` where ``T[i, v]``
    is the CRC (init 0) of ``v`` at position ``i`` followed by zeros, and ``c0`` the CRC (init
    0xFFFF) of ``length`` zero bytes. One gather and one XOR-reduce then check every frame.
    """
    tables = np.zeros((length, 256), dtype=np.uint16)
    crc = _CRC_TABLE.copy()  # byte v alone, init 0: the last position
    for pos in range(length - 1, -1, -1):
        tables[pos] = crc
        crc = (crc << 8) ^ _CRC_TABLE[(crc >> 8).astype(np.uint8)]  # one more zero byte after
    return tables, crc16_ccitt_false(bytes(length))


_LINEAR: dict[int, tuple[np.ndarray, int, np.ndarray]] = {}
_CHECK: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}


def _crc_ok(frames: np.ndarray) -> np.ndarray:
    """Bool (M,): the stored CRC of each whole frame (uint8 rows (M, L)) matches.

    ``crc(body) ^ stored`` is affine in the body and CRC bytes together, so one table gather
    over columns 2..L-1 and an XOR-reduce checks every frame (zero when it matches ``c0``).
    """
    length = frames.shape[1]
    if length not in _CHECK:
        tables, c0 = _crc_linear_tables(length - 4)
        crc_lo = np.arange(256, dtype=np.uint16)
        flat = np.concatenate([tables, crc_lo[None], (crc_lo << 8)[None]]).reshape(-1)
        _CHECK[length] = (flat, (np.arange(length - 2) * 256).astype(np.uint16), c0)
    flat, offsets, c0 = _CHECK[length]
    return np.bitwise_xor.reduce(flat[offsets + frames[:, 2:]], axis=1) == c0


def _crc_rows(rows: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE of each row of a uint8 array (M, L), vectorised over rows."""
    length = rows.shape[1]
    if length not in _LINEAR:
        tables, c0 = _crc_linear_tables(length)
        _LINEAR[length] = (tables.reshape(-1), c0, np.arange(length) * 256)
    flat, c0, offsets = _LINEAR[length]
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=np.uint16)
    return np.bitwise_xor.reduce(flat[offsets + rows], axis=1) ^ np.uint16(c0)


# --------------------------------------------------------------------------------------------
# Encoder
# --------------------------------------------------------------------------------------------


def encode_frame(frame_type: int, seq: int, t_us: int, payload: bytes = b"") -> bytes:
    """One frame of any type (device→host or host→device)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"OHT/1 payload of {len(payload)} B exceeds {MAX_PAYLOAD} B")
    body = struct.pack("<BBHI", frame_type, len(payload), seq % SEQ_MODULUS,
                       int(t_us) % (1 << 32)) + payload
    return SYNC + body + struct.pack("<H", crc16_ccitt_false(body))


def encode_command(frame_type: int, seq: int, payload: bytes = b"") -> bytes:
    """A host→device command frame (t_us = 0)."""
    return encode_frame(frame_type, seq, 0, payload)


def _q(values: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * scale), -32768, 32767).astype("<i2")


def encode_samples(
    seq: np.ndarray,
    t_us: np.ndarray,
    quat_wxyz: np.ndarray,
    gyr_rad_s: np.ndarray | None = None,
    acc_m_s2: np.ndarray | None = None,
    status: np.ndarray | int = 3,
) -> bytes:
    """Encode N samples as N consecutive frames, vectorised.

    Args:
        seq: (N,) frame counters (taken modulo 65536).
        t_us: (N,) device times in µs (taken modulo 2**32).
        quat_wxyz: (N, 4) sensor→world quaternions, scalar first.
        gyr_rad_s, acc_m_s2: (N, 3) each, or both None for type 0x01 frames.
        status: (N,) or scalar status byte.
    """
    quat = np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4)
    n = quat.shape[0]
    imu = gyr_rad_s is not None
    frame_type = TYPE_QUAT_IMU if imu else TYPE_QUAT
    plen = PAYLOAD_LEN[frame_type]
    dtype = [("sync", "u1", 2), ("type", "u1"), ("len", "u1"), ("seq", "<u2"), ("t_us", "<u4"),
             ("q", "<i2", 4)]
    if imu:
        dtype += [("gyr", "<i2", 3), ("acc", "<i2", 3)]
    dtype += [("status", "u1"), ("reserved", "u1"), ("crc", "<u2")]
    rec = np.zeros(n, dtype=np.dtype(dtype))
    rec["sync"] = (0xA5, 0x5A)
    rec["type"] = frame_type
    rec["len"] = plen
    rec["seq"] = np.asarray(seq, dtype=np.int64) % SEQ_MODULUS
    rec["t_us"] = np.asarray(t_us, dtype=np.int64) % (1 << 32)
    rec["q"] = _q(quat, QUAT_SCALE)
    if gyr_rad_s is not None:
        if acc_m_s2 is None:
            raise ValueError("encode_samples: gyr_rad_s and acc_m_s2 go together")
        rec["gyr"] = _q(gyr_rad_s, GYR_SCALE_RAD_S)
        rec["acc"] = _q(acc_m_s2, ACC_SCALE_M_S2)
    rec["status"] = status
    raw = rec.view(np.uint8).reshape(n, -1)
    rec["crc"] = _crc_rows(raw[:, 2: HEADER_BYTES + plen])
    return rec.tobytes()


# --------------------------------------------------------------------------------------------
# Binary decoder
# --------------------------------------------------------------------------------------------

_HEAD = [("sync", "u1", 2), ("type", "u1"), ("len", "u1"), ("seq", "<u2"), ("t_us", "<u4"),
         ("q", "<i2", 4)]
_TAIL = [("status", "u1"), ("reserved", "u1"), ("crc", "<u2")]
#: Packed record dtypes of the two data frames, for zero-copy field access.
_RECORD = {
    TYPE_QUAT: np.dtype(_HEAD + _TAIL),
    TYPE_QUAT_IMU: np.dtype(_HEAD + [("gyr", "<i2", 3), ("acc", "<i2", 3)] + _TAIL),
}


class ReferenceDecoder(Decoder):
    """Incremental, vectorised OHT/1 binary decoder.

    Frames are accepted when the sync, a known length for the type and the CRC all check, and
    the quaternion norm is within :data:`QUAT_NORM_TOLERANCE` of 1. Device info (0x10) is kept
    in :attr:`device_info`, log text (0x7F) in :attr:`log_lines`; host→device frames are
    counted in ``stats.extra["commands"]`` and yield no samples.
    """

    name = "reference"
    seq_modulus = SEQ_MODULUS
    has_clock = True
    reports_frame_ends = True
    clock_wrap_s = CLOCK_WRAP_S
    nominal_rate_hz = 100.0

    def __init__(self) -> None:
        super().__init__()
        self.device_info: dict | None = None
        self.log_lines: list[str] = []

    #: Below this many buffered bytes, frames are parsed one by one in Python: for a handful of
    #: frames (a BLE notification) that is ~10x cheaper than the vectorised path's fixed cost.
    SCALAR_PATH_MAX_BYTES = 400

    def _decode(self, t_host_s: float) -> SampleBatch:
        if len(self._buf) <= self.SCALAR_PATH_MAX_BYTES:
            return self._decode_scalar(t_host_s)
        buf = np.frombuffer(bytes(self._buf), dtype=np.uint8)
        n = buf.size
        fast = self._aligned(buf, t_host_s)
        if fast is not None:
            return fast
        cand = np.flatnonzero((buf[:-1] == 0xA5) & (buf[1:] == 0x5A))
        # Candidates need the 4-byte prefix up to `len` to know their size.
        header_ok = cand + 4 <= n
        cand_complete = cand[header_ok]
        lengths = OVERHEAD_BYTES + buf[cand_complete + 3].astype(np.int64)
        complete = cand_complete + lengths <= n
        starts = cand_complete[complete]
        lengths = lengths[complete]
        # Earliest position at which an incomplete frame may begin: keep from there.
        pending = np.concatenate([cand[~header_ok], cand_complete[~complete]])
        keep_from = int(pending.min()) if pending.size else (n - 1 if buf[-1] == 0xA5 else n)

        valid = np.zeros(starts.size, dtype=bool)
        for length in np.unique(lengths):
            sel = np.flatnonzero(lengths == length)
            idx = starts[sel, None] + np.arange(2, length - 2)
            rows = buf[idx]
            crc = buf[starts[sel] + length - 2].astype(np.uint16) | (
                buf[starts[sel] + length - 1].astype(np.uint16) << 8)
            valid[sel] = _crc_rows(rows) == crc
        vstarts, vlengths = starts[valid], lengths[valid]
        # Accept non-overlapping frames greedily (a false sync inside a valid frame is skipped).
        ends = vstarts + vlengths
        if vstarts.size > 1 and not np.all(vstarts[1:] >= ends[:-1]):
            accepted = np.zeros(vstarts.size, dtype=bool)
            last_end = -1
            for i, (s, e) in enumerate(zip(vstarts.tolist(), ends.tolist())):
                if s >= last_end:
                    accepted[i] = True
                    last_end = e
            vstarts, vlengths, ends = vstarts[accepted], vlengths[accepted], ends[accepted]
        consumed_to = int(ends[-1]) if ends.size else 0
        keep_from = max(keep_from, consumed_to)
        # Everything before keep_from that is not inside an accepted frame is skipped garbage.
        covered = int(vlengths.sum())
        self.stats.skipped_bytes += max(0, keep_from - covered)
        invalid_starts = starts[~valid]
        inside = np.zeros(invalid_starts.size, dtype=bool)
        if vstarts.size and invalid_starts.size:
            pos = np.searchsorted(vstarts, invalid_starts, side="right") - 1
            ok = pos >= 0
            inside[ok] = invalid_starts[ok] < ends[pos[ok]]
        self.stats.rejected_frames += int(np.count_nonzero(~inside & (invalid_starts < keep_from)))
        del self._buf[:keep_from]
        return self._samples(buf, vstarts, vlengths, t_host_s)

    def _aligned(self, buf: np.ndarray, t_host_s: float) -> SampleBatch | None:
        """Steady-state fast path: the buffer is back-to-back valid data frames of one type.

        Accepts exactly what the general path would (every frame from offset 0 valid, so the
        leftmost-greedy choice is all of them) with a handful of numpy calls; returns None to
        fall back to the general path otherwise.
        """
        if buf[0] != 0xA5 or buf[1] != 0x5A:
            return None
        frame_type = int(buf[2])
        plen = PAYLOAD_LEN.get(frame_type)
        if plen is None or buf[3] != plen:
            return None
        length = OVERHEAD_BYTES + plen
        k = buf.size // length
        if k == 0:
            return None
        rows = buf[: k * length].reshape(k, length)
        head = np.ndarray((k,), dtype="<u4", buffer=rows, strides=(length,))
        if not (head == head[0]).all() or not _crc_ok(rows).all():
            return None
        rec = rows.reshape(-1).view(_RECORD[frame_type])
        quat = rec["q"] * (1.0 / QUAT_SCALE)
        norm2 = np.einsum("ij,ij->i", quat, quat)
        if not ((norm2 >= _NORM2_MIN) & (norm2 <= _NORM2_MAX)).all():
            return None
        quat /= np.sqrt(norm2)[:, None]
        imu = frame_type == TYPE_QUAT_IMU
        del self._buf[: k * length]
        self.stats.frames += k
        self._frame_ends = np.arange(1, k + 1, dtype=np.int64) * length
        return SampleBatch(
            seq=rec["seq"].astype(np.int64), t_device_s=rec["t_us"] * 1e-6,
            t_host_s=np.full(k, t_host_s), t_s=np.full(k, np.nan), quat_wxyz=quat,
            gyr_rad_s=rec["gyr"] * (1.0 / GYR_SCALE_RAD_S) if imu else None,
            acc_m_s2=rec["acc"] * (1.0 / ACC_SCALE_M_S2) if imu else None,
            status=rec["status"].copy())

    def _decode_scalar(self, t_host_s: float) -> SampleBatch:
        buf = self._buf
        pos = 0
        n = len(buf)
        rows: dict[int, list[bytes]] = {TYPE_QUAT: [], TYPE_QUAT_IMU: []}
        order: list[int] = []
        ends: list[int] = []
        while True:
            start = buf.find(SYNC, pos)
            if start < 0:
                keep = n - 1 if n and buf[-1] == 0xA5 else n
                self.stats.skipped_bytes += max(0, keep - pos)
                pos = max(pos, keep)
                break
            if start + 4 > n:
                self.stats.skipped_bytes += start - pos
                pos = start
                break
            length = OVERHEAD_BYTES + buf[start + 3]
            if start + length > n:
                self.stats.skipped_bytes += start - pos
                pos = start
                break
            body = bytes(buf[start + 2: start + length - 2])
            crc = buf[start + length - 2] | (buf[start + length - 1] << 8)
            if binascii.crc_hqx(body, 0xFFFF) != crc:
                self.stats.rejected_frames += 1
                pos_next = start + 1
                self.stats.skipped_bytes += pos_next - pos
                pos = pos_next
                continue
            self.stats.skipped_bytes += start - pos
            frame_type, plen = body[0], body[1]
            if frame_type in rows:
                if plen != PAYLOAD_LEN[frame_type]:
                    self.stats.rejected_frames += 1
                else:
                    rows[frame_type].append(body)
                    order.append(frame_type)
                    ends.append(start + length)
            else:
                self._other_frame(frame_type, body[8:])
            pos = start + length
        del self._buf[:pos]
        if not order:
            self._frame_ends = np.zeros(0, dtype=np.int64)
            return SampleBatch.empty()
        if not rows[TYPE_QUAT] or not rows[TYPE_QUAT_IMU]:
            frame_type = TYPE_QUAT if rows[TYPE_QUAT] else TYPE_QUAT_IMU
            return self._small_batch(frame_type, rows[frame_type], ends, t_host_s)
        batches: list[SampleBatch] = []
        kept_ends: list[np.ndarray] = []
        ends_arr, order_arr = np.array(ends), np.array(order)
        for frame_type, bodies in rows.items():
            if bodies:
                raw = np.frombuffer(b"".join(b"\xa5\x5a" + b for b in bodies), dtype=np.uint8)
                raw = raw.reshape(len(bodies), -1)
                batch, kept = self._data_frames(raw, ends_arr[order_arr == frame_type],
                                                frame_type, t_host_s, flat=False)
                batches.append(batch)
                kept_ends.append(kept)
        all_kept_ends = np.concatenate(kept_ends)
        by_end = np.argsort(all_kept_ends, kind="stable")
        self._frame_ends = all_kept_ends[by_end]
        return batches[0] if len(batches) == 1 else concat(batches).take(by_end)

    def _small_batch(self, frame_type: int, bodies: list, ends: list, t_host_s: float) -> SampleBatch:
        """A few frames of one type (a BLE notification), unpacked with struct: for a handful of
        frames this costs a third of the numpy field extraction's fixed overhead."""
        rows = np.array([_BODY_STRUCT[frame_type].unpack(b) for b in bodies], dtype=np.float64)
        quat = rows[:, 4:8] * (1.0 / QUAT_SCALE)
        norm = np.sqrt(np.einsum("ij,ij->i", quat, quat))
        ok = np.abs(norm - 1.0) <= QUAT_NORM_TOLERANCE
        k = int(np.count_nonzero(ok))
        self.stats.rejected_frames += len(bodies) - k
        self.stats.frames += k
        if k < len(bodies):
            rows, quat, norm = rows[ok], quat[ok], norm[ok]
        self._frame_ends = np.asarray(ends, dtype=np.int64)[ok]
        imu = frame_type == TYPE_QUAT_IMU
        return SampleBatch(
            seq=rows[:, 2].astype(np.int64), t_device_s=rows[:, 3] * 1e-6,
            t_host_s=np.full(k, t_host_s), t_s=np.full(k, np.nan),
            quat_wxyz=quat / norm[:, None],
            gyr_rad_s=rows[:, 8:11] * (1.0 / GYR_SCALE_RAD_S) if imu else None,
            acc_m_s2=rows[:, 11:14] * (1.0 / ACC_SCALE_M_S2) if imu else None,
            status=rows[:, 14 if imu else 8].astype(np.uint8))

    def _samples(self, buf, starts, lengths, t_host_s) -> SampleBatch:
        self._frame_ends = np.zeros(0, dtype=np.int64)
        if starts.size == 0:
            return SampleBatch.empty()
        types = buf[starts + 2]
        plen = lengths - OVERHEAD_BYTES
        batches, positions = [], []
        for frame_type in (TYPE_QUAT, TYPE_QUAT_IMU):
            sel = (types == frame_type) & (plen == PAYLOAD_LEN[frame_type])
            if np.any(sel):
                batch, kept = self._data_frames(buf, starts[sel], frame_type, t_host_s)
                batches.append(batch)
                positions.append(kept + OVERHEAD_BYTES + PAYLOAD_LEN[frame_type])
        other = ~np.isin(types, (TYPE_QUAT, TYPE_QUAT_IMU))
        wrong_len = np.isin(types, (TYPE_QUAT, TYPE_QUAT_IMU)) & ~(
            ((types == TYPE_QUAT) & (plen == 10)) | ((types == TYPE_QUAT_IMU) & (plen == 22)))
        self.stats.rejected_frames += int(np.count_nonzero(wrong_len))
        for s, length, frame_type in zip(starts[other].tolist(), lengths[other].tolist(),
                                         types[other].tolist()):
            payload = bytes(buf[s + HEADER_BYTES: s + length - 2])
            self._other_frame(frame_type, payload)
        if not batches:
            return SampleBatch.empty()
        frame_ends = np.concatenate(positions)
        order = np.argsort(frame_ends, kind="stable")
        self._frame_ends = frame_ends[order]
        if len(batches) == 1:
            return batches[0]
        # Mixed frame types in one chunk: restore wire order.
        return concat(batches).take(order)

    def _data_frames(self, buf, starts, frame_type, t_host_s, flat=True):
        plen = PAYLOAD_LEN[frame_type]
        if flat:
            raw = np.ascontiguousarray(buf[starts[:, None] + np.arange(HEADER_BYTES + plen)])
        else:
            raw = buf
        seq = raw[:, 4:6].copy().view("<u2").reshape(-1).astype(np.int64)
        t_us = raw[:, 6:10].copy().view("<u4").reshape(-1).astype(np.int64)
        quat = raw[:, 10:18].copy().view("<i2").reshape(-1, 4) / QUAT_SCALE
        gyr = acc = None
        if frame_type == TYPE_QUAT_IMU:
            gyr = raw[:, 18:24].copy().view("<i2").reshape(-1, 3) / GYR_SCALE_RAD_S
            acc = raw[:, 24:30].copy().view("<i2").reshape(-1, 3) / ACC_SCALE_M_S2
            status = raw[:, 30]
        else:
            status = raw[:, 18]
        norm = np.linalg.norm(quat, axis=1)
        ok = np.abs(norm - 1.0) <= QUAT_NORM_TOLERANCE
        self.stats.rejected_frames += int(np.count_nonzero(~ok))
        self.stats.frames += int(np.count_nonzero(ok))
        batch = SampleBatch.build(
            seq[ok], t_device_s=t_us[ok] / 1e6, t_host_s=t_host_s,
            quat_wxyz=quat[ok] / norm[ok, None],
            gyr_rad_s=None if gyr is None else gyr[ok],
            acc_m_s2=None if acc is None else acc[ok],
            status=status[ok],
        )
        return batch, starts[ok]

    def _other_frame(self, frame_type: int, payload: bytes) -> None:
        if frame_type == TYPE_INFO:
            import json

            try:
                info = json.loads(payload.decode("utf-8"))
                self.device_info = info if isinstance(info, dict) else {"info": info}
            except (UnicodeDecodeError, ValueError):
                self.stats.rejected_frames += 1
        elif frame_type == TYPE_LOG:
            self.log_lines.append(payload.decode("utf-8", errors="replace"))
            del self.log_lines[:-100]
        elif frame_type >= 0x80:
            self.stats.extra["commands"] = self.stats.extra.get("commands", 0) + 1
        else:
            self.stats.rejected_frames += 1


# --------------------------------------------------------------------------------------------
# Text form
# --------------------------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_TEXT_RE = re.compile(
    rb"\$(OHTQ,(\d+),(\d+),(" + _NUM.encode() + rb"),(" + _NUM.encode() + rb"),("
    + _NUM.encode() + rb"),(" + _NUM.encode() + rb"),(\d+))\*([0-9A-Fa-f]{2})"
)
#: Longest plausible text line; longer runs without a newline are dropped as garbage.
MAX_TEXT_LINE = 160


def nmea_checksum(body: bytes) -> int:
    """XOR of all bytes (the part between ``$`` and ``*``)."""
    value = 0
    for b in body:
        value ^= b
    return value


def encode_text(seq: int, t_ms: int, quat_wxyz, status: int = 3) -> bytes:
    """One ``$OHTQ`` line with 5 decimals."""
    w, x, y, z = (float(v) for v in quat_wxyz)
    body = f"OHTQ,{seq},{t_ms},{w:.5f},{x:.5f},{y:.5f},{z:.5f},{status}".encode()
    return b"$" + body + b"*%02X\r\n" % nmea_checksum(body)


class ReferenceTextDecoder(Decoder):
    """Incremental decoder of the OHT/1 text form (``$OHTQ`` lines with NMEA checksum)."""

    name = "reference-text"
    has_clock = True
    seq_modulus = None
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def _decode(self, t_host_s: float) -> SampleBatch:
        data = bytes(self._buf)
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            if len(data) > MAX_TEXT_LINE:
                self.stats.skipped_bytes += len(data)
                self._buf.clear()
            return SampleBatch.empty()
        complete, rest = data[: last_nl + 1], data[last_nl + 1:]
        if len(rest) > MAX_TEXT_LINE:
            self.stats.skipped_bytes += len(rest)
            rest = b""
        self._buf[:] = rest
        seq, t_s, quat, status = [], [], [], []
        for line in complete.split(b"\n"):
            line = line.strip(b"\r\x00 ")
            if not line:
                continue
            m = _TEXT_RE.fullmatch(line)
            if m is None:
                self.stats.skipped_bytes += len(line) + 1
                if line.startswith(b"$OHTQ"):
                    self.stats.rejected_frames += 1
                continue
            if nmea_checksum(m.group(1)) != int(m.group(9), 16):
                self.stats.rejected_frames += 1
                continue
            q = np.array([float(m.group(i)) for i in (4, 5, 6, 7)])
            norm = math.sqrt(float(q @ q))
            if abs(norm - 1.0) > QUAT_NORM_TOLERANCE or int(m.group(8)) > 255:
                self.stats.rejected_frames += 1
                continue
            seq.append(int(m.group(2)))
            t_s.append(int(m.group(3)) / 1e3)
            quat.append(q / norm)
            status.append(int(m.group(8)))
        self.stats.frames += len(seq)
        if not seq:
            return SampleBatch.empty()
        return SampleBatch.build(seq, t_device_s=t_s, t_host_s=t_host_s,
                                 quat_wxyz=np.array(quat), status=status)
