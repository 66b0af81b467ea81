"""WitMotion WT901 family: serial 11-byte frames and BLE 5.0 20-byte packets.

Source: WitMotion's WT901 manual and its serial and BLE protocol manuals (layouts, scalings, UUIDs,
commands), checked against the public captures in tests/data/real.

Serial (WT901, WT901C, JY901, BWT901CL over SPP; WitMotion's serial protocol manual (WIT standard protocol)), little-endian::

    off 0  0x55   header
    off 1  type   0x50..0x5A data, 0x5F register read reply
    off 2  d0..d3 4 x int16
    off 10 sum    (0x55 + type + bytes 2..9) & 0xFF

    0x51 acc    d0..d2 / 32768 * 16 g (d3 = temperature / 100 °C)
    0x52 gyro   d0..d2 / 32768 * 2000 °/s
    0x53 Euler  roll d0, pitch d1, yaw d2, each / 32768 * 180 °
    0x54 mag    raw int16 (model-dependent units: reported as device-relative units)
    0x59 quat   q0..q3 / 32768, q0 the scalar part

Sample grouping (serial): the sensor sends one frame per output type and sample, always in the
same order (register order, lowest type first). Frames are grouped into one sample row; **a new
sample starts when a frame type repeats** within the current group. Once a group has closed on
a repeat, its type list, rotated to start at its lowest type, is the learned cycle (a shorter
group, from a lost frame, does not replace it). From then on a new sample also starts at the
cycle's first type, so a capture that begins mid-cycle still groups the frames of one sample
together, and a group that completes the cycle is emitted at once (without waiting for the next
frame). A frame type outside the learned cycle (the output content was changed, e.g. by
Cervitrack's configuration on connect) makes the decoder learn the cycle again. A lost frame leaves the missing channel NaN in that row. Type 0x50
(chip time) and the other data types take part in grouping but are not decoded; 0x5F replies are
kept in :attr:`WitMotionSerialDecoder.last_register_reply`. ``stats.frames`` counts 11-byte
frames, not samples.

BLE 5.0 (WT901BLECL, WT9011DCL; WitMotion's BLE 5.0 protocol manual (WT901BLECL)), 20 bytes, **no checksum, no counter, no clock**::

    off 0  55 61
    off 2  ax ay az        int16 / 32768 * 16 g
    off 8  wx wy wz        int16 / 32768 * 2000 °/s
    off 14 roll pitch yaw  int16 / 32768 * 180 °

    off 0  55 71 regL regH, then 8 x u16 registers from reg (register read reply)

Plausibility without a checksum: the header and type, pitch within ±90° (and, for quaternion
frames, |q| within 0.02 of 1). Overlapping candidates are resolved leftmost first.

Euler → quaternion: WitMotion documents roll about x (±180), pitch about y (±90), yaw about z
(±180); the order is "presumably Z-Y-X" (WitMotion's serial protocol manual (WIT standard protocol), **[UNVERIFIED]**). Cervitrack
uses intrinsic Z-Y-X: ``q = Rz(yaw) · Ry(pitch) · Rx(roll)``, sensor→world in the device's own
axes. Prefer the 0x59 quaternion on serial: when a sample has both, the quaternion is used.

Neither variant has a frame counter: samples are numbered from 0 (``seq_modulus`` None).
"""

from __future__ import annotations

import math
import struct

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import (
    DEG_TO_RAD,
    G_M_S2,
    euler_deg_to_quat_wxyz,
    quat_norm_ok,
    quat_wxyz_to_euler_deg,
)
from cervitrack.firmware_bridge.protocols._framing import scan_fixed
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch, concat

HEADER = 0x55
SERIAL_FRAME_BYTES = 11
BLE_FRAME_BYTES = 20

TYPE_TIME = 0x50
TYPE_ACC = 0x51
TYPE_GYRO = 0x52
TYPE_EULER = 0x53
TYPE_MAG = 0x54
TYPE_QUAT = 0x59
TYPE_REG_REPLY = 0x5F
TYPE_BLE_DATA = 0x61
TYPE_BLE_REPLY = 0x71

ACC_G_PER_LSB = 16.0 / 32768.0
GYR_DPS_PER_LSB = 2000.0 / 32768.0
ANGLE_DEG_PER_LSB = 180.0 / 32768.0
QUAT_PER_LSB = 1.0 / 32768.0
#: |pitch| beyond 90° (+ a little quantisation margin) is implausible, in LSB.
PITCH_LIMIT_LSB = 16400
QUAT_NORM_TOLERANCE = 0.02
EULER_SEQ = "ZYX"  # intrinsic; angles passed as (yaw, pitch, roll)

REG_MAG = 0x3A
REG_TEMPERATURE = 0x40
REG_QUAT = 0x51
REG_BATTERY = 0x64


def _sum8(rows: np.ndarray, upto: int) -> np.ndarray:
    return rows[:, :upto].sum(axis=1, dtype=np.uint8)


def _words(rows: np.ndarray, start: int, count: int, dtype: str = "<i2") -> np.ndarray:
    """(M, count) 16-bit words from byte offset ``start`` of each row."""
    return np.ascontiguousarray(rows[:, start:start + 2 * count]).view(dtype).reshape(-1, count)


def _euler_quat(words: np.ndarray) -> np.ndarray:
    """(M, 4) quaternions from (M, 3) int16 roll, pitch, yaw words."""
    angles = words[:, [2, 1, 0]] * ANGLE_DEG_PER_LSB  # yaw, pitch, roll
    return euler_deg_to_quat_wxyz(EULER_SEQ, angles)


# --------------------------------------------------------------------------------------------
# Encoders (tests, simulator)
# --------------------------------------------------------------------------------------------


def encode_serial_frame(frame_type: int, words) -> bytes:
    """One 11-byte serial frame from four int16 data words."""
    body = struct.pack("<BB4h", HEADER, frame_type, *(int(w) for w in words))
    return body + bytes([sum(body) & 0xFF])


def _lsb(values, per_lsb: float) -> np.ndarray:
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) / per_lsb), -32768, 32767)


def quat_to_euler_deg(quat_wxyz) -> np.ndarray:
    """(N, 3) roll, pitch, yaw in ° from sensor→world quaternions: the inverse of the decoders'
    Euler conversion (intrinsic Z-Y-X, see the module docstring)."""
    yaw_pitch_roll = quat_wxyz_to_euler_deg(EULER_SEQ, quat_wxyz)
    return yaw_pitch_roll[:, ::-1]


#: Epoch of the emulated chip clock (0x50 frames): the device's time 0.
CHIP_EPOCH = (2000, 1, 1)


def chip_time_bytes(t_s) -> np.ndarray:
    """(N, 8) uint8 0x50 payloads ``YY MM DD hh mm ss ms(u16)`` for device times t_s (N,) in s
    counted from :data:`CHIP_EPOCH`."""
    import datetime as dt

    base = dt.datetime(*CHIP_EPOCH)
    out = np.zeros((len(np.atleast_1d(t_s)), 8), dtype=np.uint8)
    for i, t in enumerate(np.atleast_1d(np.asarray(t_s, dtype=np.float64)).tolist()):
        ms_total = int(round(t * 1000.0))
        when = base + dt.timedelta(milliseconds=ms_total)
        out[i, :6] = (when.year % 100, when.month, when.day, when.hour, when.minute, when.second)
        out[i, 6:8] = np.frombuffer(struct.pack("<H", ms_total % 1000), dtype=np.uint8)
    return out


def chip_time_s(payload: bytes) -> float:
    """Seconds since :data:`CHIP_EPOCH` from an 8-byte 0x50 payload (inverse of
    :func:`chip_time_bytes`)."""
    import datetime as dt

    yy, mo, dd, hh, mi, ss = payload[:6]
    ms = struct.unpack("<H", bytes(payload[6:8]))[0]
    when = dt.datetime(2000 + yy, mo, dd, hh, mi, ss)
    return (when - dt.datetime(*CHIP_EPOCH)).total_seconds() + ms / 1000.0


def encode_serial_samples(quat_wxyz=None, acc_m_s2=None, gyr_rad_s=None, euler_deg=None,
                          mag_raw=None, chip_time_s=None) -> bytes:
    """Encode N samples as serial frames in the device's order (0x50, 0x51, 0x52, 0x53, 0x54,
    0x59).

    Args (each (N, k) or None; at least one given): ``chip_time_s`` (N,) device time in s
    (0x50 frames); ``acc_m_s2`` (N, 3); ``gyr_rad_s`` (N, 3); ``euler_deg`` (N, 3) roll, pitch,
    yaw; ``mag_raw`` (N, 3) int16; ``quat_wxyz`` (N, 4).
    """
    parts = []
    if chip_time_s is not None:
        parts.append((TYPE_TIME, chip_time_bytes(chip_time_s).view("<i2")))
    if acc_m_s2 is not None:
        a = _lsb(np.asarray(acc_m_s2) / G_M_S2, ACC_G_PER_LSB)
        parts.append((TYPE_ACC, np.column_stack([a, np.full(len(a), 2500)])))
    if gyr_rad_s is not None:
        g = _lsb(np.asarray(gyr_rad_s) / DEG_TO_RAD, GYR_DPS_PER_LSB)
        parts.append((TYPE_GYRO, np.column_stack([g, np.full(len(g), 2500)])))
    if euler_deg is not None:
        e = _lsb(euler_deg, ANGLE_DEG_PER_LSB)
        parts.append((TYPE_EULER, np.column_stack([e, np.zeros(len(e))])))
    if mag_raw is not None:
        m = np.clip(np.rint(np.asarray(mag_raw, dtype=np.float64)), -32768, 32767)
        parts.append((TYPE_MAG, np.column_stack([m, np.zeros(len(m))])))
    if quat_wxyz is not None:
        parts.append((TYPE_QUAT, _lsb(quat_wxyz, QUAT_PER_LSB)))
    if not parts:
        raise ValueError("encode_serial_samples needs at least one channel")
    n = len(parts[0][1])
    rec = np.zeros((n, len(parts), SERIAL_FRAME_BYTES), dtype=np.uint8)
    for k, (frame_type, words) in enumerate(parts):
        rec[:, k, 0] = HEADER
        rec[:, k, 1] = frame_type
        rec[:, k, 2:10] = np.ascontiguousarray(words, dtype="<i2").reshape(n, 4).view(np.uint8)
        rec[:, k, 10] = rec[:, k, :10].sum(axis=1, dtype=np.uint8)
    return rec.tobytes()


def encode_register_reply(values) -> bytes:
    """An 11-byte 0x5F serial register reply: four u16 registers (the read's first and next)."""
    vals = [int(v) & 0xFFFF for v in values][:4]
    vals += [0] * (4 - len(vals))
    return encode_serial_frame(TYPE_REG_REPLY, [v - 65536 if v >= 32768 else v for v in vals])


# --------------------------------------------------------------------------------------------
# Host → device commands (configuration)
# --------------------------------------------------------------------------------------------

COMMAND_PREFIX = b"\xff\xaa"
COMMAND_BYTES = 5
REG_SAVE = 0x00
REG_RSW = 0x02
REG_RATE = 0x03
REG_BAUD = 0x04
REG_READ = 0x27
REG_UNLOCK = 0x69
UNLOCK_VALUE = 0xB588
#: Output content (register 0x02) bits: frame type 0x50 + bit index (WitMotion's serial protocol manual (WIT standard protocol)).
RSW_DEFAULT = 0x001E  # acc, gyro, angle, mag
#: Output rate register 0x03 → Hz. 0x06 (10 Hz, factory default), 0x08, 0x09 and 0x0B are
#: WitMotion's serial protocol manual (WIT standard protocol); the other codes follow the WT901 datasheet's RRATE table.
RATE_CODES_HZ = {0x01: 0.2, 0x02: 0.5, 0x03: 1.0, 0x04: 2.0, 0x05: 5.0, 0x06: 10.0,
                 0x07: 20.0, 0x08: 50.0, 0x09: 100.0, 0x0A: 125.0, 0x0B: 200.0}


def encode_command(register: int, value: int) -> bytes:
    """``FF AA <reg> <lo> <hi>``: write ``value`` (u16) to ``register``."""
    return COMMAND_PREFIX + struct.pack("<BH", register, int(value) & 0xFFFF)


def parse_commands(buf: bytearray) -> list[tuple[int, int]]:
    """Take complete ``FF AA <reg> <lo> <hi>`` commands from the front of ``buf`` (consumed in
    place; bytes before a prefix are dropped, a partial command stays) → [(register, value)]."""
    out: list[tuple[int, int]] = []
    while True:
        start = buf.find(COMMAND_PREFIX)
        if start < 0:
            keep = 1 if buf[-1:] == COMMAND_PREFIX[:1] else 0
            del buf[:len(buf) - keep]
            return out
        if len(buf) - start < COMMAND_BYTES:
            del buf[:start]
            return out
        reg, value = struct.unpack("<BH", bytes(buf[start + 2:start + COMMAND_BYTES]))
        out.append((reg, value))
        del buf[:start + COMMAND_BYTES]


def encode_ble_packets(acc_m_s2, gyr_rad_s, euler_deg) -> bytes:
    """N 20-byte 0x61 packets from (N, 3) acc m/s², gyro rad/s and roll, pitch, yaw in °."""
    a = _lsb(np.asarray(acc_m_s2) / G_M_S2, ACC_G_PER_LSB)
    g = _lsb(np.asarray(gyr_rad_s) / DEG_TO_RAD, GYR_DPS_PER_LSB)
    e = _lsb(euler_deg, ANGLE_DEG_PER_LSB)
    n = len(a)
    rec = np.zeros((n, BLE_FRAME_BYTES), dtype=np.uint8)
    rec[:, 0] = HEADER
    rec[:, 1] = TYPE_BLE_DATA
    rec[:, 2:] = np.column_stack([a, g, e]).astype("<i2").view(np.uint8)
    return rec.tobytes()


def encode_ble_samples(quat_wxyz, acc_m_s2, gyr_rad_s) -> bytes:
    """N 0x61 packets from sensor→world quaternions (N, 4), acc (N, 3) m/s², gyro (N, 3) rad/s:
    the inverse of :class:`WitMotionBleDecoder` (Euler angles by :func:`quat_to_euler_deg`)."""
    return encode_ble_packets(acc_m_s2, gyr_rad_s, quat_to_euler_deg(quat_wxyz))


def encode_ble_reply(register: int, values) -> bytes:
    """A 20-byte 0x71 register reply: ``register`` and 8 u16 values (int16 allowed)."""
    vals = [int(v) & 0xFFFF for v in values][:8]
    vals += [0] * (8 - len(vals))
    return struct.pack("<BBH8H", HEADER, TYPE_BLE_REPLY, register, *vals)


# --------------------------------------------------------------------------------------------
# Serial decoder
# --------------------------------------------------------------------------------------------


class WitMotionSerialDecoder(Decoder):
    """WitMotion serial frames (sum8) grouped into one sample row per output cycle.

    Channels: ``acc_m_s2`` (0x51), ``gyr_rad_s`` (0x52), ``quat_wxyz`` (0x59, else from 0x53
    Euler), ``mag_raw`` (0x54, raw counts: the scale to µT differs by model and is not
    documented). Sensor frame: the device's printed axes.
    """

    name = "witmotion-serial"
    seq_modulus = None
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def __init__(self) -> None:
        super().__init__()
        self.last_register_reply: tuple[int, int, int, int] | None = None
        #: Temperature from the last 0x51 frame (d3 / 100), °C, or None.
        self.last_temperature_c: float | None = None
        #: d3 of the last 0x53 (angle) frame: a constant firmware version word on real devices
        #: (18155 on a WTGAHRS2, 11608 on a WT901SD), not a temperature; None until seen.
        self.last_version: int | None = None
        self._pattern: tuple[int, ...] | None = None
        self._pending_types = np.zeros(0, dtype=np.uint8)
        self._pending_words = np.zeros((0, 4), dtype=np.int16)
        self._next_seq = 0

    @staticmethod
    def _check(rows: np.ndarray) -> np.ndarray:
        t = rows[:, 1]
        ok = ((t >= TYPE_TIME) & (t <= 0x5A)) | (t == TYPE_REG_REPLY)
        ok &= _sum8(rows, 10) == rows[:, 10]
        is_q, is_e = t == TYPE_QUAT, t == TYPE_EULER
        if is_q.any() or is_e.any():
            w = _words(rows, 2, 4)
            if is_q.any():
                ok &= ~is_q | quat_norm_ok(w * QUAT_PER_LSB, QUAT_NORM_TOLERANCE)
            if is_e.any():
                ok &= ~is_e | (np.abs(w[:, 1].astype(np.int32)) <= PITCH_LIMIT_LSB)
        return ok

    def _decode(self, t_host_s: float) -> SampleBatch:
        buf = np.frombuffer(bytes(self._buf), dtype=np.uint8)
        if buf.size < SERIAL_FRAME_BYTES:
            return SampleBatch.empty()
        if self._pattern is not None and self._pending_types.size == 0:
            fast = self._aligned_groups(buf, t_host_s)
            if fast is not None:
                # A partial group after the aligned groups stays buffered as bytes (less than
                # one cycle); _finish decodes it at the end of a capture.
                return fast
        return self._general(buf, t_host_s)

    def _general(self, buf: np.ndarray, t_host_s: float) -> SampleBatch:
        """Scan anywhere in the buffer, then group frames (see the module docstring)."""
        scan = scan_fixed(buf, SERIAL_FRAME_BYTES, self._check, bytes([HEADER]))
        del buf
        del self._buf[:scan.keep_from]
        self.stats.skipped_bytes += scan.skipped
        self.stats.rejected_frames += scan.rejected
        self.stats.frames += scan.starts.size
        if scan.starts.size == 0:
            return SampleBatch.empty()
        rows = scan.rows
        types = rows[:, 1]
        words = _words(rows, 2, 4)
        reply = types == TYPE_REG_REPLY
        if reply.any():
            r0, r1, r2, r3 = (int(v) for v in words[reply][-1].view("<u2"))
            self.last_register_reply = (r0, r1, r2, r3)
            types, words = types[~reply], words[~reply]
        acc = types == TYPE_ACC
        if acc.any():
            self.last_temperature_c = float(words[acc][-1, 3]) / 100.0
        euler = types == TYPE_EULER
        if euler.any():
            self.last_version = int(words[euler][-1, 3])
        types = np.concatenate([self._pending_types, types])
        words = np.concatenate([self._pending_words, words])
        gid, n_groups = self._group(types)
        done = gid < n_groups
        self._pending_types, self._pending_words = types[~done], words[~done]
        if n_groups == 0:
            return SampleBatch.empty()
        return self._samples(types[done], words[done], gid[done], n_groups, t_host_s)

    def _aligned_groups(self, buf: np.ndarray, t_host_s: float) -> SampleBatch | None:
        """Steady-state fast path: the buffer starts with whole groups in the learned pattern.

        Accepts exactly what the general path would when every frame from offset 0 is valid
        and follows the pattern; returns None (general path) otherwise.
        """
        pattern = self._pattern
        assert pattern is not None, "called only once the group pattern is learned"
        k = len(pattern)
        group_bytes = k * SERIAL_FRAME_BYTES
        g = buf.size // group_bytes
        if g == 0:
            return None
        rows = buf[: g * group_bytes].reshape(g * k, SERIAL_FRAME_BYTES)
        head = np.ndarray((g, k), dtype="<u2", buffer=rows,
                          strides=(group_bytes, SERIAL_FRAME_BYTES))
        template = np.array([HEADER | (t << 8) for t in pattern], dtype=np.uint16)
        if not (head == template).all() or not (_sum8(rows, 10) == rows[:, 10]).all():
            return None
        words = np.ascontiguousarray(rows[:, 2:10]).view("<i2").reshape(g, k, 4)
        index = {t: i for i, t in enumerate(pattern)}
        quat = None
        if TYPE_QUAT in index:
            quat = words[:, index[TYPE_QUAT], :] * QUAT_PER_LSB
            norm = np.sqrt(np.einsum("ij,ij->i", quat, quat))
            if not (np.abs(norm - 1.0) <= QUAT_NORM_TOLERANCE).all():
                return None
            quat /= norm[:, None]
        if TYPE_EULER in index:
            euler = words[:, index[TYPE_EULER], :3]
            if not (np.abs(euler[:, 1].astype(np.int32)) <= PITCH_LIMIT_LSB).all():
                return None
            if quat is None:
                quat = _euler_quat(euler)

        def vec(frame_type, scale):
            return words[:, index[frame_type], :3] * scale if frame_type in index else None

        if TYPE_ACC in index:
            self.last_temperature_c = float(words[-1, index[TYPE_ACC], 3]) / 100.0
        if TYPE_EULER in index:
            self.last_version = int(words[-1, index[TYPE_EULER], 3])
        del self._buf[: g * group_bytes]
        self.stats.frames += g * k
        seq = np.arange(self._next_seq, self._next_seq + g, dtype=np.int64)
        self._next_seq += g
        return SampleBatch(
            seq=seq, t_device_s=np.full(g, np.nan), t_host_s=np.full(g, t_host_s),
            t_s=np.full(g, np.nan), quat_wxyz=quat,
            gyr_rad_s=vec(TYPE_GYRO, GYR_DPS_PER_LSB * DEG_TO_RAD),
            acc_m_s2=vec(TYPE_ACC, ACC_G_PER_LSB * G_M_S2), mag_raw=vec(TYPE_MAG, 1.0))

    def _finish(self, t_host_s: float) -> SampleBatch:
        """Emit the last, still open group as a sample (end of a capture)."""
        held = []
        if len(self._buf) >= SERIAL_FRAME_BYTES:
            held.append(self._general(np.frombuffer(bytes(self._buf), dtype=np.uint8), t_host_s))
        types, words = self._pending_types, self._pending_words
        self._pending_types = np.zeros(0, dtype=np.uint8)
        self._pending_words = np.zeros((0, 4), dtype=np.int16)
        if types.size:
            held.append(self._samples(types, words, np.zeros(types.size, dtype=np.int64), 1,
                                      t_host_s))
        return concat(held)

    def flush(self) -> None:
        """Drop buffered bytes and the open group (after a disconnect)."""
        super().flush()
        self._pending_types = np.zeros(0, dtype=np.uint8)
        self._pending_words = np.zeros((0, 4), dtype=np.int16)

    def _group(self, types: np.ndarray) -> tuple[np.ndarray, int]:
        """Group id per frame and the number of complete groups (ids >= it are pending)."""
        n = types.size
        p = self._pattern
        if p is not None and n:
            k = len(p)
            if np.array_equal(types, np.asarray(p, dtype=np.uint8)[np.arange(n) % k]):
                return np.arange(n) // k, n // k
        gid = np.empty(n, dtype=np.int64)
        current: list[int] = []
        g, mask = 0, 0
        for i, t in enumerate(types.tolist()):
            bit = 1 << (t - TYPE_TIME)
            if p is not None and t not in p:
                # A type outside the learned cycle: the output content changed (e.g. the
                # quaternion frame was switched on): learn the cycle again from repeats.
                self._pattern = p = None
            if mask & bit or (current and p is not None and t == p[0]):
                if mask & bit and (p is None or len(current) >= len(p)):
                    start = current.index(min(current))
                    self._pattern = p = tuple(current[start:] + current[:start])
                g, mask, current = g + 1, 0, []
            mask |= bit
            current.append(t)
            gid[i] = g
            if p is not None and len(current) == len(p) and tuple(current) == p:
                g, mask, current = g + 1, 0, []
        return gid, g

    def _samples(self, types, words, gid, n_groups, t_host_s) -> SampleBatch:
        def channel(frame_type, width, scale):
            sel = types == frame_type
            if not sel.any():
                return None, None
            out = np.full((n_groups, width), np.nan)
            out[gid[sel]] = words[sel, :width] * scale
            return out, sel

        acc, _ = channel(TYPE_ACC, 3, ACC_G_PER_LSB * G_M_S2)
        gyr, _ = channel(TYPE_GYRO, 3, GYR_DPS_PER_LSB * DEG_TO_RAD)
        mag, _ = channel(TYPE_MAG, 3, 1.0)
        quat, _ = channel(TYPE_QUAT, 4, QUAT_PER_LSB)
        if quat is not None:
            quat /= np.linalg.norm(quat, axis=1, keepdims=True)
        euler_sel = types == TYPE_EULER
        if euler_sel.any():
            if quat is None:
                quat = np.full((n_groups, 4), np.nan)
            missing = np.isnan(quat[gid[euler_sel], 0])
            if missing.any():
                g = gid[euler_sel][missing]
                quat[g] = _euler_quat(words[euler_sel][missing, :3])
        seq = self._next_seq + np.arange(n_groups)
        self._next_seq += n_groups
        return SampleBatch.build(seq, t_host_s=t_host_s, quat_wxyz=quat, gyr_rad_s=gyr,
                                 acc_m_s2=acc, mag_raw=mag)


# --------------------------------------------------------------------------------------------
# BLE decoder
# --------------------------------------------------------------------------------------------


class WitMotionBleDecoder(Decoder):
    """WitMotion BLE 5.0 0x61 packets (samples) and 0x71 register replies (attributes).

    Attributes (updated by 0x71 replies; None until seen):
        registers: dict register → raw u16 value, from every reply so far.
        last_quat_wxyz: (4,) float quaternion from a reply to reg 0x51 (regs 0x51-0x54 / 32768,
            scalar first; the scalar-first order is **[UNVERIFIED]**, WitMotion's WT901 manual).
        last_mag_raw: (3,) int, reply to reg 0x3A (device units).
        last_temperature_c: float, reply to reg 0x40 (/ 100, °C).
        last_battery_raw: int, reply to reg 0x64. Its scale (voltage or percent) is not given in
            WitMotion's BLE protocol manual: reported raw.
    """

    name = "witmotion-ble"
    seq_modulus = None
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 10.0  # factory default (WitMotion's BLE 5.0 protocol manual (WT901BLECL))

    def __init__(self) -> None:
        super().__init__()
        self.registers: dict[int, int] = {}
        self.last_quat_wxyz: np.ndarray | None = None
        self.last_mag_raw: tuple[int, int, int] | None = None
        self.last_temperature_c: float | None = None
        self.last_battery_raw: int | None = None
        self._next_seq = 0

    @staticmethod
    def _check(rows: np.ndarray) -> np.ndarray:
        t = rows[:, 1]
        rows = np.ascontiguousarray(rows)
        pitch = np.ndarray((rows.shape[0],), dtype="<i2", buffer=rows, offset=16,
                           strides=(BLE_FRAME_BYTES,))
        return (t == TYPE_BLE_REPLY) | ((t == TYPE_BLE_DATA) & (pitch >= -PITCH_LIMIT_LSB)
                                        & (pitch <= PITCH_LIMIT_LSB))

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(BLE_FRAME_BYTES, self._check, bytes([HEADER]))
        if rows.shape[0] == 0:
            return SampleBatch.empty()
        data = rows[:, 1] == TYPE_BLE_DATA
        if not data.all():
            for row in rows[~data]:
                self._reply(row)
            rows = rows[data]
            if rows.shape[0] == 0:
                return SampleBatch.empty()
        w = _words(rows, 2, 9)
        n = rows.shape[0]
        seq = self._next_seq + np.arange(n)
        self._next_seq += n
        return SampleBatch.build(
            seq, t_host_s=t_host_s, quat_wxyz=_euler_quat(w[:, 6:9]),
            acc_m_s2=w[:, 0:3] * (ACC_G_PER_LSB * G_M_S2),
            gyr_rad_s=w[:, 3:6] * (GYR_DPS_PER_LSB * DEG_TO_RAD))

    def _reply(self, row: np.ndarray) -> None:
        reg = int(row[2]) | (int(row[3]) << 8)
        raw = [int(v) for v in row[4:20].copy().view("<u2")]
        signed = [v - 65536 if v >= 32768 else v for v in raw]
        for i, v in enumerate(raw):
            self.registers[reg + i] = v

        def block(first: int, count: int):
            """The reply's values for registers first..first+count-1, or None."""
            k = first - reg
            return signed[k:k + count] if 0 <= k and k + count <= len(signed) else None

        # A reply carries 8 consecutive registers: a read of 0x3A also returns the angles
        # (0x3D-0x3F) and the temperature (0x40), as a real WT901BLE does.
        q = block(REG_QUAT, 4)
        if q is not None:
            q = np.array(q, dtype=np.float64) * QUAT_PER_LSB
            norm = math.sqrt(float(q @ q))
            if abs(norm - 1.0) <= QUAT_NORM_TOLERANCE:
                self.last_quat_wxyz = q / norm
        if (m := block(REG_MAG, 3)) is not None:
            self.last_mag_raw = tuple(m)
        if (t := block(REG_TEMPERATURE, 1)) is not None:
            self.last_temperature_c = t[0] / 100.0
        if block(REG_BATTERY, 1) is not None:
            self.last_battery_raw = raw[REG_BATTERY - reg]
        self.stats.extra["register_replies"] = self.stats.extra.get("register_replies", 0) + 1
