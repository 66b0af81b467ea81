"""BNO080/085/086 UART-RVC ("robot vacuum cleaner") mode, 19-byte frames at 100 Hz.

Source: CEVA BNO080 datasheet 1000-3927 §1.3.5.2.
Little-endian::

    off 0  AA AA          header
    off 2  index u8       +1 per report (wraps at 256)
    off 3  yaw   int16    0.01°, ±180 (relative heading since reset)
    off 5  pitch int16    0.01°, ±90
    off 7  roll  int16    0.01°, ±180
    off 9  ax ay az int16 mg
    off 15 3 bytes        reserved
    off 18 csum = sum(bytes 2..17) & 0xFF

Integrity: the sum8 plus angle ranges. ``AA AA`` can occur inside a payload; candidates are
accepted leftmost first and never overlap, so a false header inside a valid frame is skipped.

Euler → quaternion (proven on the datasheet's own example frame, tests/test_real_captures.py):
RVC "pitch" turns about the chip's **x** axis and "roll" about its **y** axis, and the heading
is clockwise-positive seen from above (a compass heading), so::

    q = Rz(−yaw) · Rx(pitch) · Ry(roll)      (intrinsic Z-X-Y of (−yaw, pitch, roll))

sensor→world in the chip's axes (x right, y forward, z up for an RVC-mounted chip), world
heading relative to the heading at reset. Evidence: the datasheet frame (yaw 0.01°, pitch
−1.10°, roll 20.85°, acc (−371, −20, 977) mg) predicts gravity within 0.06° of its own
accelerometer with this mapping, and 30.7° away with the datasheet text's reading
Rz(yaw)·Ry(pitch)·Rx(roll) (the decoder's convention before this fix). Composing the tilts
the other way round, Ry(roll)·Rx(pitch), fits within 0.09° too (pitch is only −1.1° in that
frame); Z-X-Y is chosen because its middle angle, pitch, is the one the datasheet limits to
±90° (roll ±180°). The **yaw sign** cannot be seen in gravity: it rests on an independent
user's Adafruit RVC sketch that rotates the accelerometer with Rz(−yaw)·Ry(roll)·Rx(pitch)
**[UNVERIFIED on a turning chip]**. ``acc_m_s2`` = mg × 9.80665e-3 in the sensor frame
(+1 g up at rest), in the same axes as ``quat_wxyz``.
No gyro, magnetometer or calibration status is sent.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import (
    G_M_S2,
    euler_deg_to_quat_wxyz,
)
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.quaternion import to_rotation
from cervitrack.signal.samples import SampleBatch

HEADER = b"\xaa\xaa"
FRAME_BYTES = 19
ANGLE_DEG_PER_LSB = 0.01
ACC_M_S2_PER_LSB = G_M_S2 / 1000.0
YAW_LIMIT_LSB = 18000
PITCH_LIMIT_LSB = 9000
ROLL_LIMIT_LSB = 18000
#: Euler sequence of the RVC angles (intrinsic): Rz(−yaw) · Rx(pitch) · Ry(roll).
EULER_SEQ: Final = "ZXY"


def rvc_quat_wxyz(yaw_pitch_roll_deg) -> np.ndarray:
    """(N, 4) sensor→world quaternions from (N, 3) RVC yaw, pitch, roll in degrees.

    ``q = Rz(−yaw) · Rx(pitch) · Ry(roll)`` (see the module docstring for the evidence).
    """
    a = np.asarray(yaw_pitch_roll_deg, dtype=np.float64).reshape(-1, 3)
    return euler_deg_to_quat_wxyz(EULER_SEQ, np.column_stack([-a[:, 0], a[:, 1], a[:, 2]]))


def rvc_yaw_pitch_roll_deg(quat_wxyz) -> np.ndarray:
    """Inverse of :func:`rvc_quat_wxyz`: (N, 3) yaw, pitch (±90), roll (±180) in degrees."""
    zxy = to_rotation(np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4)).as_euler(
        EULER_SEQ, degrees=True)
    return np.column_stack([-zxy[:, 0], zxy[:, 1], zxy[:, 2]])


def encode_frames(index, yaw_pitch_roll_deg, acc_m_s2) -> bytes:
    """N frames from indices (N,), (N, 3) yaw, pitch, roll in ° and (N, 3) acc in m/s²."""
    idx = np.asarray(index, dtype=np.int64) % 256
    n = idx.size
    angles = np.rint(np.asarray(yaw_pitch_roll_deg, dtype=np.float64).reshape(n, 3) / 0.01)
    acc = np.rint(np.asarray(acc_m_s2, dtype=np.float64).reshape(n, 3) / ACC_M_S2_PER_LSB)
    out = bytearray()
    for i in range(n):
        body = struct.pack("<B3h3h3x", int(idx[i]), *(int(v) for v in angles[i]),
                           *(int(v) for v in np.clip(acc[i], -32768, 32767)))
        out += HEADER + body + bytes([sum(body) & 0xFF])
    return bytes(out)


def encode_samples(index, quat_wxyz, acc_m_s2) -> bytes:
    """N frames from indices (N,), sensor→world quaternions (N, 4) and acc (N, 3) in m/s²: the
    exact inverse of :class:`Bno08xRvcDecoder` (yaw, pitch, roll from
    :func:`rvc_yaw_pitch_roll_deg`; change both together)."""
    return encode_frames(index, rvc_yaw_pitch_roll_deg(quat_wxyz), acc_m_s2)


def _check(rows: np.ndarray) -> np.ndarray:
    ok = rows[:, 2:18].sum(axis=1, dtype=np.uint8) == rows[:, 18]
    a = np.abs(np.ascontiguousarray(rows[:, 3:9]).view("<i2").astype(np.int32))
    return (ok & (a[:, 0] <= YAW_LIMIT_LSB) & (a[:, 1] <= PITCH_LIMIT_LSB)
            & (a[:, 2] <= ROLL_LIMIT_LSB))


class Bno08xRvcDecoder(Decoder):
    """UART-RVC frames → ``quat_wxyz`` (Rz(−yaw)·Rx(pitch)·Ry(roll)) and ``acc_m_s2``; seq = index."""

    name = "bno08x-rvc"
    seq_modulus = 256
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(FRAME_BYTES, _check, HEADER)
        if rows.shape[0] == 0:
            return SampleBatch.empty()
        w = np.ascontiguousarray(rows[:, 3:15]).view("<i2")
        quat = rvc_quat_wxyz(w[:, 0:3] * ANGLE_DEG_PER_LSB)
        return SampleBatch.build(rows[:, 2], t_host_s=t_host_s, quat_wxyz=quat,
                                 acc_m_s2=w[:, 3:6] * ACC_M_S2_PER_LSB)
