"""opentrack UDP datagrams: 48 bytes = 6 x float64.

Source: opentrack's tracker-hatire and proto-udp sources (opentrack tracker-udp; default port 4242)::

    off 0   x, y, z        float64, cm
    off 24  yaw, pitch, roll float64, degrees

Phone apps and other trackers send one datagram per pose; the UDP transport feeds each datagram
to this decoder (a capture file is the datagrams back to back). No header, counter, clock or
checksum: records are found at any byte offset when finite angles lie within ±360° and
translations within ±10 m (NaN translations are allowed, opentrack ignores them); samples are
numbered from 0. Translation is not part of a :class:`SampleBatch` and is dropped.

Euler → quaternion: yaw, then pitch, then roll, intrinsic Z-Y-X,
``q = Rz(yaw) · Ry(pitch) · Rx(roll)``, with z up and x forward. The sender's sign conventions
are **[UNVERIFIED]**.
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import euler_deg_to_quat_wxyz, plausible_float
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch

DATAGRAM_BYTES = 48
ANGLE_LIMIT_DEG = 360.0
TRANS_LIMIT_CM = 1000.0


def encode_datagrams(xyz_cm, yaw_pitch_roll_deg) -> bytes:
    """N datagrams back to back from (N, 3) cm and (N, 3) yaw, pitch, roll in °."""
    v = np.column_stack([np.asarray(xyz_cm, dtype=np.float64).reshape(-1, 3),
                         np.asarray(yaw_pitch_roll_deg, dtype=np.float64).reshape(-1, 3)])
    return v.astype("<f8").tobytes()


def _values(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows).view("<f8").reshape(-1, 6)


def _check(rows: np.ndarray) -> np.ndarray:
    v = _values(rows)
    trans = v[:, :3]
    ok_t = plausible_float(trans, TRANS_LIMIT_CM) | np.isnan(trans)
    return np.all(plausible_float(v[:, 3:], ANGLE_LIMIT_DEG), axis=1) & np.all(ok_t, axis=1)


class OpentrackUdpDecoder(Decoder):
    """opentrack 6-double datagrams → ``quat_wxyz``."""

    name = "opentrack-udp"
    seq_modulus = None
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 50.0

    def __init__(self) -> None:
        super().__init__()
        self._next_seq = 0

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(DATAGRAM_BYTES, _check, None)
        n = rows.shape[0]
        if n == 0:
            return SampleBatch.empty()
        v = _values(rows)
        quat = euler_deg_to_quat_wxyz("ZYX", v[:, 3:6])
        seq = self._next_seq + np.arange(n)
        self._next_seq += n
        return SampleBatch.build(seq, t_host_s=t_host_s, quat_wxyz=quat)
