"""opentrack UDP datagrams: 48 bytes = 6 x float64.

Source: opentrack ``tracker-udp/ftnoir_tracker_udp.cpp`` @ f009bb52cab7bf3884b8a9b3a326aa9ce84d6299
(default port 4242)::

    off 0   x, y, z        float64, cm
    off 24  yaw, pitch, roll float64, degrees

Phone apps and other trackers send one datagram per pose; the UDP transport feeds each datagram
to this decoder (a capture file is the datagrams back to back). No header, counter, clock or
checksum. opentrack drops a datagram when any of the six values is NaN or infinite
(``std::fpclassify(...) == FP_NAN || FP_INFINITE`` → the pose is not updated) and checks nothing
else; so does this decoder: a datagram with a non-finite value anywhere is rejected, finite
translations are accepted whatever their size. The angles must in addition lie within ±360°
with no absurdly small non-zero double: records are found at any byte offset of a capture, and
this is what keeps garbage out. Samples are numbered from 0; times come from arrival.
Translation is not part of a :class:`SampleBatch` and is dropped.

Euler → quaternion: yaw, then pitch, then roll, intrinsic Z-Y-X,
``q = Rz(yaw) · Ry(pitch) · Rx(roll)``, with z up and x forward. The sender's sign conventions
are **[UNVERIFIED]**.
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import (
    euler_deg_to_quat_wxyz,
    plausible_float,
    quat_wxyz_to_euler_deg,
)
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch

DATAGRAM_BYTES = 48
ANGLE_LIMIT_DEG = 360.0


def encode_datagrams(xyz_cm, yaw_pitch_roll_deg) -> bytes:
    """N datagrams back to back from (N, 3) cm and (N, 3) yaw, pitch, roll in °."""
    v = np.column_stack([np.asarray(xyz_cm, dtype=np.float64).reshape(-1, 3),
                         np.asarray(yaw_pitch_roll_deg, dtype=np.float64).reshape(-1, 3)])
    return v.astype("<f8").tobytes()


def encode_samples(quat_wxyz, xyz_cm=None) -> list[bytes]:
    """One datagram per sensor→world quaternion (N, 4) (translation 0 unless ``xyz_cm``): the
    exact inverse of :class:`OpentrackUdpDecoder` (change both together)."""
    q = np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4)
    xyz = np.zeros((len(q), 3)) if xyz_cm is None else xyz_cm
    data = encode_datagrams(xyz, quat_wxyz_to_euler_deg("ZYX", q))
    return [data[i:i + DATAGRAM_BYTES] for i in range(0, len(data), DATAGRAM_BYTES)]


def _values(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows).view("<f8").reshape(-1, 6)


def _check(rows: np.ndarray) -> np.ndarray:
    v = _values(rows)
    return (np.all(plausible_float(v[:, 3:], ANGLE_LIMIT_DEG), axis=1)
            & np.all(np.isfinite(v[:, :3]), axis=1))


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

    def feed_chunks(self, chunks) -> SampleBatch:
        """The UDP transport delivers one datagram per chunk: each is decoded at its own
        boundary, so that records of zeros (no translation, looking straight ahead), which
        are plausible at any byte offset, can never shift the framing. Other chunking (a
        capture file) is scanned."""
        chunks = [c for c in chunks if c.data]
        if self._buf or not chunks or any(len(c.data) != DATAGRAM_BYTES for c in chunks):
            return super().feed_chunks(chunks)
        rows = np.frombuffer(b"".join(c.data for c in chunks), dtype=np.uint8).reshape(-1, DATAGRAM_BYTES)
        ok = _check(rows)
        self.stats.frames += int(ok.sum())
        self.stats.rejected_frames += int((~ok).sum())
        self.stats.skipped_bytes += int((~ok).sum()) * DATAGRAM_BYTES
        n = int(ok.sum())
        if n == 0:
            return SampleBatch.empty()
        quat = euler_deg_to_quat_wxyz("ZYX", _values(rows[ok])[:, 3:6])
        seq = self._next_seq + np.arange(n)
        self._next_seq += n
        t_host = np.array([c.t_host_s for c in chunks], dtype=np.float64)[ok]
        return SampleBatch.build(seq, t_host_s=t_host, quat_wxyz=quat)

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
