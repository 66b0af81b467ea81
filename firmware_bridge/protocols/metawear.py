"""MbientLab MetaMotion (MetaWear protocol) sensor-fusion notifications.

Source: MbientLab MetaWear-SDK-Cpp unit tests (MetaWear SDK unit tests). Messages are
``[module][register][payload]``; the fusion module is 0x19. Little-endian float32::

    19 07  w x y z                    quaternion, 18 B
    19 08  heading pitch roll yaw     Euler angles in °, 18 B

Other messages (acc, gyro, settings, calibration state...) have no length field in the stream;
bytes not belonging to a fusion frame are skipped. There is no checksum and **no device
timestamp**: samples are numbered from 0.

Integrity: finite values, |q| within 0.01 of 1; Euler heading and yaw in [0, 360], pitch ±180,
roll ±90, and heading equal to yaw (the SDK reports the same value twice).

Euler → quaternion: the Bosch fusion library behind MetaWear uses the Android convention
(heading about z, clockwise seen from above, 0..360; pitch about x, ±180; roll about y, ±90).
Cervitrack converts with intrinsic Z-X-Y, ``q = Rz(-heading) · Rx(pitch) · Ry(roll)``. This
order and these signs are **[UNVERIFIED]** (not stated in the MetaWear SDK): prefer the
quaternion output, which the device profile starts.
"""

from __future__ import annotations

import struct

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import (
    euler_deg_to_quat_wxyz,
    plausible_float,
    quat_norm_ok,
)
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch

MODULE_SETTINGS = 0x11
REG_CONN_PARAMS = 0x09
MODULE_FUSION = 0x19
REG_QUAT = 0x07
REG_EULER = 0x08
FRAME_BYTES = 18
QUAT_NORM_TOLERANCE = 0.01


def encode_quaternions(quat_wxyz) -> bytes:
    """N ``19 07`` notifications from (N, 4) quaternions, concatenated."""
    q = np.ascontiguousarray(quat_wxyz, dtype="<f4").reshape(-1, 4)
    head = np.tile(np.array([MODULE_FUSION, REG_QUAT], dtype=np.uint8), (q.shape[0], 1))
    return np.concatenate([head, q.view(np.uint8)], axis=1).tobytes()


def encode_euler(heading_pitch_roll_deg) -> bytes:
    """N ``19 08`` notifications from (N, 3) heading, pitch, roll in ° (yaw = heading)."""
    e = np.asarray(heading_pitch_roll_deg, dtype=np.float64).reshape(-1, 3)
    vals = np.column_stack([e, e[:, 0]]).astype("<f4")
    head = np.tile(np.array([MODULE_FUSION, REG_EULER], dtype=np.uint8), (e.shape[0], 1))
    return np.concatenate([head, vals.view(np.uint8)], axis=1).tobytes()


def encode_connection_parameters(min_interval_ms: float, max_interval_ms: float,
                                 latency: int, timeout_ms: float) -> bytes:
    """The ``11 09`` settings command asking for BLE connection parameters (MbientLab MetaWear-SDK-Cpp unit tests).

    Intervals are sent in units of 1.25 ms and the supervision timeout in units of 10 ms, each
    u16 little-endian: 7.5 ms gives ``06 00``.
    """
    return struct.pack("<BB4H", MODULE_SETTINGS, REG_CONN_PARAMS,
                       round(min_interval_ms / 1.25), round(max_interval_ms / 1.25),
                       int(latency), round(timeout_ms / 10.0))


def decode_connection_parameters(message: bytes) -> dict | None:
    """``11 09`` + 4 x u16 → intervals and timeout in ms, latency in events; None if not one."""
    if len(message) != 10 or message[0] != MODULE_SETTINGS or message[1] & 0x7F != REG_CONN_PARAMS:
        return None
    lo, hi, latency, timeout = struct.unpack("<4H", message[2:])
    return {"min_interval_ms": lo * 1.25, "max_interval_ms": hi * 1.25, "latency": latency,
            "timeout_ms": timeout * 10.0}


def _values(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows[:, 2:18]).view("<f4").reshape(-1, 4).astype(np.float64)


def _check(rows: np.ndarray) -> np.ndarray:
    reg = rows[:, 1]
    v = _values(rows)
    ok_q = (reg == REG_QUAT) & quat_norm_ok(v, QUAT_NORM_TOLERANCE) & np.all(
        plausible_float(v, 1.01), axis=1)
    fin = np.nan_to_num(v, nan=-1e9, posinf=1e9, neginf=-1e9)
    ok_e = ((reg == REG_EULER) & np.all(plausible_float(v, 360.0), axis=1)
            & (fin[:, 0] >= 0) & (fin[:, 0] <= 360) & (np.abs(fin[:, 1]) <= 180)
            & (np.abs(fin[:, 2]) <= 90) & (np.abs(fin[:, 3] - fin[:, 0]) <= 1e-3))
    return ok_q | ok_e


class MetaWearDecoder(Decoder):
    """Sensor-fusion quaternion (0x19 0x07) and Euler (0x19 0x08) → ``quat_wxyz``."""

    name = "metawear"
    seq_modulus = None
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def __init__(self) -> None:
        super().__init__()
        #: The last Euler frame as received: (heading, pitch, roll, yaw) in °, or None.
        self.last_euler_deg: tuple[float, float, float, float] | None = None
        self._next_seq = 0

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(FRAME_BYTES, _check, bytes([MODULE_FUSION]))
        n = rows.shape[0]
        if n == 0:
            return SampleBatch.empty()
        v = _values(rows)
        quat = v.copy()
        euler = rows[:, 1] == REG_EULER
        if euler.any():
            hpr = v[euler, :3]
            e0, e1, e2, e3 = (float(x) for x in v[euler][-1])
            self.last_euler_deg = (e0, e1, e2, e3)
            quat[euler] = euler_deg_to_quat_wxyz(
                "ZXY", np.column_stack([-hpr[:, 0], hpr[:, 1], hpr[:, 2]]))
        quat /= np.linalg.norm(quat, axis=1, keepdims=True)
        seq = self._next_seq + np.arange(n)
        self._next_seq += n
        return SampleBatch.build(seq, t_host_s=t_host_s, quat_wxyz=quat)
