"""Movella (Xsens) DOT BLE measurement payloads.

Source: Movella DOT BLE Service Specification (Movella DOT BLE Service Specification
XD0506P Rev C). Each notification carries one record; records have no header and no checksum.
Little-endian, ``t`` = u32 device time in µs (wraps after 2**32 µs ≈ 71.6 min), quaternion
``w, x, y, z`` float32, Euler ``roll, pitch, yaw`` float32 in degrees, free acceleration float32
m/s² (world frame, gravity removed)::

    mode 2  Extended (Quaternion)  36 B  t q[4] freeacc[3] status u16 clipAcc u8 clipGyr u8
    mode 3  Complete (Quaternion)  32 B  t q[4] freeacc[3]
    mode 4  Orientation (Euler)    16 B  t euler[3]
    mode 5  Orientation (Quaternion) 20 B  t q[4]                      (default)
    mode 7  Extended (Euler)       32 B  t euler[3] freeacc[3] status u16 clipAcc u8 clipGyr u8
    mode 16 Complete (Euler)       28 B  t euler[3] freeacc[3]
    mode 26 Custom Mode 5          44 B  t q[4] acc[3] gyr[3]     (long payload, 63 B)

Mode 26 ("Custom Mode 5": timestamp, quaternion, acceleration, angular velocity) is used in
practice (shiven01/movella-dot, MIT, parser ``src/movella/parser.py`` and a 599-sample log
@ a292163fe78bcb80ec463be5119fa823916e80d0): acc is sensor-frame specific force in m/s² (with
gravity), gyr in °/s, both float32; they become ``acc_m_s2`` and ``gyr_rad_s``.

The layouts of modes 7 and 16 (and the roll, pitch, yaw field order of the Euler modes) are
**[UNVERIFIED]**: the Movella DOT BLE Services Specification as we have it lists the modes but not these
layouts; they follow the
quaternion modes with the 16-byte quaternion replaced by 12 bytes of Euler angles.

Record length: a notification can be padded beyond the mode's content: a DOT in mode 2 (36 B
content) sent 40-byte notifications (shiven01/movella-dot ``movella_quaternion.log`` @
73ce9c4a3ec975fb4d58f43764672b5044899a79, "Unsupported data format with length: 40. Expected 36
bytes"). Pass ``record_bytes`` (``--protocol movella-dot:2,40``) to skip the padding; other
modes' padding is **[UNVERIFIED]**.

Integrity (no checksum): finite values, |q| within 0.01 of 1, angles in range (roll and yaw
±180°, pitch ±90°), free acceleration within ±160 m/s², and no absurdly small non-zero floats
(random bytes are mostly those). Records are found at any byte offset, leftmost first.

Euler → quaternion (Euler modes only): intrinsic Z-Y-X, ``q = Rz(yaw) · Ry(pitch) · Rx(roll)``
with Euler_X/Y/Z = roll/pitch/yaw, proven on real DOT recordings (tests/test_real_captures.py:
gravity within 0.1° of the accelerometer at rest, orientation increments within about 1° of the
gyro's direction in motion). Quaternions arrive w first with w < 0 as often as not (every row
of one real capture): q and −q are the same orientation. ``quat_wxyz`` is sensor→world (the DOT's local world frame).
Free acceleration is not ``acc_m_s2`` (which is sensor-frame specific force): it is kept in
:attr:`MovellaDotDecoder.last_free_acc_m_s2` and ``status`` carries the low byte of the
extended modes' status word.
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import (
    euler_deg_to_quat_wxyz,
    plausible_float,
    quat_norm_ok,
)
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch

#: mode → (content bytes, orientation kind, has free acceleration, has status/clip bytes,
#: has sensor-frame acc (m/s²) + gyro (°/s))
MODES = {
    2: (36, "quat", True, True, False),
    3: (32, "quat", True, False, False),
    4: (16, "euler", False, False, False),
    5: (20, "quat", False, False, False),
    7: (32, "euler", True, True, False),
    16: (28, "euler", True, False, False),
    26: (44, "quat", False, False, True),
}
DEG_TO_RAD = np.pi / 180.0
ACC_LIMIT_M_S2 = 160.0
GYR_LIMIT_DPS = 4000.0
DEFAULT_MODE = 5
QUAT_NORM_TOLERANCE = 0.01
FREE_ACC_LIMIT_M_S2 = 160.0
CLOCK_WRAP_S = (1 << 32) / 1e6


def encode_records(mode: int, t_us, quat_wxyz=None, euler_deg=None, free_acc_m_s2=None,
                   status=0, record_bytes: int | None = None, acc_m_s2=None,
                   gyr_rad_s=None) -> bytes:
    """N records of ``mode``: t_us (N,), quat (N, 4) or euler roll, pitch, yaw (N, 3) in °;
    mode 26 also ``acc_m_s2`` and ``gyr_rad_s`` (N, 3) (zeros when None)."""
    size, kind, has_acc, has_status, has_imu = MODES[mode]
    t = np.asarray(t_us, dtype=np.int64).reshape(-1) % (1 << 32)
    n = t.size
    cols = [t.astype("<u4").view(np.uint8).reshape(n, 4)]
    orient = quat_wxyz if kind == "quat" else euler_deg
    cols.append(np.ascontiguousarray(orient, dtype="<f4").reshape(n, -1).view(np.uint8))
    if has_acc:
        acc = np.zeros((n, 3)) if free_acc_m_s2 is None else free_acc_m_s2
        cols.append(np.ascontiguousarray(acc, dtype="<f4").reshape(n, 3).view(np.uint8))
    if has_status:
        st = np.zeros(n, dtype="<u2") + np.asarray(status, dtype="<u2")
        cols.append(st.reshape(n, 1).view(np.uint8))
        cols.append(np.zeros((n, 2), dtype=np.uint8))
    if has_imu:
        acc = np.zeros((n, 3)) if acc_m_s2 is None else acc_m_s2
        gyr = np.zeros((n, 3)) if gyr_rad_s is None else np.asarray(gyr_rad_s) / DEG_TO_RAD
        for v in (acc, gyr):
            cols.append(np.ascontiguousarray(v, dtype="<f4").reshape(n, 3).view(np.uint8))
    rec = np.concatenate(cols, axis=1)
    assert rec.shape[1] == size
    if record_bytes is not None and record_bytes > size:
        rec = np.concatenate([rec, np.zeros((n, record_bytes - size), dtype=np.uint8)], axis=1)
    return np.ascontiguousarray(rec).tobytes()


class MovellaDotDecoder(Decoder):
    """Movella DOT measurement records of one payload mode (constructor ``mode``, default 5).

    Args:
        mode: payload mode, one of :data:`MODES` (2, 3, 4, 5, 7, 16, 26).
        record_bytes: bytes per record on the wire when notifications are padded to the
            characteristic size; default the mode's content size.
    """

    name = "movella-dot"
    seq_modulus = None
    has_clock = True
    clock_wrap_s = CLOCK_WRAP_S
    nominal_rate_hz = 60.0

    def __init__(self, mode: int | str = DEFAULT_MODE, record_bytes: int | None = None) -> None:
        super().__init__()
        if isinstance(mode, str):  # "MODE" or "MODE,RECORD_BYTES" (the --protocol option)
            head, _, tail = mode.partition(",")
            try:
                mode = int(head)
                record_bytes = int(tail) if tail else record_bytes
            except ValueError:
                raise ValueError(f"invalid Movella DOT option {mode!r}: expected MODE or "
                                 "MODE,RECORD_BYTES (e.g. 2,40)") from None
        mode = int(mode)
        if mode not in MODES:
            raise ValueError(f"unsupported Movella DOT payload mode {mode}; "
                             f"choose one of {sorted(MODES)}")
        self.mode = mode
        self._size, self._kind, self._has_acc, self._has_status, self._has_imu = MODES[mode]
        if record_bytes is not None and int(record_bytes) < self._size:
            raise ValueError(f"Movella DOT mode {mode} records are {self._size} bytes; "
                             f"record_bytes {record_bytes} is too short")
        self.record_bytes = int(record_bytes or self._size)
        self.last_free_acc_m_s2: np.ndarray | None = None
        self._next_seq = 0

    def _fields(self, rows: np.ndarray):
        with np.errstate(invalid="ignore", over="ignore"):
            return self._fields_raw(rows)

    def _fields_raw(self, rows: np.ndarray):
        n = rows.shape[0]
        t_us = np.ascontiguousarray(rows[:, 0:4]).view("<u4").reshape(n)
        width = 4 if self._kind == "quat" else 3
        orient = np.ascontiguousarray(rows[:, 4:4 + 4 * width]).view("<f4").reshape(n, width)
        off = 4 + 4 * width
        acc = status = imu = None
        if self._has_acc:
            acc = np.ascontiguousarray(rows[:, off:off + 12]).view("<f4").reshape(n, 3)
            off += 12
        if self._has_status:
            status = rows[:, off]
        if self._has_imu:
            imu = np.ascontiguousarray(rows[:, off:off + 24]).view("<f4").reshape(n, 6).astype(
                np.float64)
        return t_us, orient.astype(np.float64), acc, status, imu

    def _check(self, rows: np.ndarray) -> np.ndarray:
        _, orient, acc, _, imu = self._fields(rows)
        if self._kind == "quat":
            # The unit norm is the check: a near-identity orientation has components below
            # 1e-6 (real captures hold them), so no smallest magnitude (tiny=0) here.
            ok = quat_norm_ok(orient, QUAT_NORM_TOLERANCE) & np.all(
                plausible_float(orient, 1.01, tiny=0.0), axis=1)
        else:
            limits = np.array([180.0, 90.0, 180.0]) + 1e-3
            ok = np.all(plausible_float(orient, 360.0) & (np.abs(np.nan_to_num(orient)) <= limits),
                        axis=1)
        if acc is not None:
            ok &= np.all(plausible_float(acc, FREE_ACC_LIMIT_M_S2), axis=1)
        if imu is not None:
            ok &= (np.all(plausible_float(imu[:, :3], ACC_LIMIT_M_S2), axis=1)
                   & np.all(plausible_float(imu[:, 3:], GYR_LIMIT_DPS), axis=1))
        return ok

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(self.record_bytes, self._check, None)
        n = rows.shape[0]
        if n == 0:
            return SampleBatch.empty()
        t_us, orient, acc, status, imu = self._fields(rows)
        if self._kind == "quat":
            quat = orient / np.linalg.norm(orient, axis=1, keepdims=True)
        else:
            quat = euler_deg_to_quat_wxyz("ZYX", orient[:, ::-1])
        if acc is not None:
            self.last_free_acc_m_s2 = acc[-1].astype(np.float64)
        seq = self._next_seq + np.arange(n)
        self._next_seq += n
        return SampleBatch.build(
            seq, t_device_s=t_us / 1e6, t_host_s=t_host_s, quat_wxyz=quat, status=status,
            acc_m_s2=None if imu is None else imu[:, :3],
            gyr_rad_s=None if imu is None else imu[:, 3:] * DEG_TO_RAD)
