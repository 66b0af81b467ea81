"""opentrack Hatire (Arduino head tracker) 30-byte frames over serial.

Source: opentrack's tracker-hatire and proto-udp sources (opentrack tracker-hatire/
ftnoir_arduino_type.h). Little-endian, packed::

    off 0  u16 0xAAAA      begin (AA AA)
    off 2  u16 code        0..999 frame counter; >= 2000 info, >= 3000 init, >= 5000 start,
                           >= 9000 error (no data)
    off 4  float32 rot[3]  degrees; default order yaw, roll, pitch
    off 16 float32 trans[3] cm
    off 28 u16 0x5555      end (55 55)

No checksum: frames need both markers, finite angles within ±360°, translations within
±10 m, and no absurdly small non-zero floats. Frames with a code >= 1000 are counted in
``stats.extra["messages"]`` (their code in :attr:`HatireDecoder.last_message_code`) and give no
sample. The counter wraps at 1000 (``seq_modulus``); there is no clock. Translation is not part
of a :class:`SampleBatch` and is dropped.

Euler → quaternion: opentrack's head angles are yaw, then pitch, then roll: intrinsic Z-Y-X,
``q = Rz(yaw) · Ry(pitch) · Rx(roll)`` with Cervitrack's z up, x forward. opentrack's own axis
signs differ by mapping and are **[UNVERIFIED]**; the sketch's own convention decides.
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import euler_deg_to_quat_wxyz, plausible_float
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch

HEADER = b"\xaa\xaa"
FOOTER = b"\x55\x55"
FRAME_BYTES = 30
COUNTER_MODULUS = 1000
ANGLE_LIMIT_DEG = 360.0
TRANS_LIMIT_CM = 1000.0


def encode_frames(code, yaw_roll_pitch_deg, trans_cm=None) -> bytes:
    """N frames from codes (N,), (N, 3) yaw, roll, pitch in ° and optional (N, 3) cm."""
    c = np.asarray(code, dtype=np.int64).reshape(-1)
    n = c.size
    rot = np.ascontiguousarray(yaw_roll_pitch_deg, dtype="<f4").reshape(n, 3)
    trans = np.zeros((n, 3), dtype="<f4") if trans_cm is None else np.asarray(
        trans_cm, dtype="<f4").reshape(n, 3)
    head = np.tile(np.frombuffer(HEADER, dtype=np.uint8), (n, 1))
    foot = np.tile(np.frombuffer(FOOTER, dtype=np.uint8), (n, 1))
    codes = c.astype("<u2").reshape(n, 1).view(np.uint8)
    return np.concatenate([head, codes, rot.view(np.uint8), trans.view(np.uint8), foot],
                          axis=1).tobytes()


def _fields(rows: np.ndarray):
    n = rows.shape[0]
    code = np.ascontiguousarray(rows[:, 2:4]).view("<u2").reshape(n).astype(np.int64)
    vals = np.ascontiguousarray(rows[:, 4:28]).view("<f4").reshape(n, 6).astype(np.float64)
    return code, vals[:, :3], vals[:, 3:]


def _check(rows: np.ndarray) -> np.ndarray:
    code, rot, trans = _fields(rows)
    ok = (rows[:, 28] == 0x55) & (rows[:, 29] == 0x55)
    data = code < COUNTER_MODULUS
    ok &= ~data | (np.all(plausible_float(rot, ANGLE_LIMIT_DEG), axis=1)
                   & np.all(plausible_float(trans, TRANS_LIMIT_CM), axis=1))
    return ok & (data | (code >= 2000))


class HatireDecoder(Decoder):
    """Hatire frames → ``quat_wxyz`` from yaw, pitch, roll; seq = frame code (wraps at 1000)."""

    name = "hatire"
    seq_modulus = COUNTER_MODULUS
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def __init__(self) -> None:
        super().__init__()
        self.last_message_code: int | None = None

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(FRAME_BYTES, _check, HEADER)
        if rows.shape[0] == 0:
            return SampleBatch.empty()
        code, rot, _ = _fields(rows)
        data = code < COUNTER_MODULUS
        if not data.all():
            self.last_message_code = int(code[~data][-1])
            self.stats.extra["messages"] = (self.stats.extra.get("messages", 0)
                                            + int(np.count_nonzero(~data)))
        if not data.any():
            return SampleBatch.empty()
        yaw, roll, pitch = rot[data, 0], rot[data, 1], rot[data, 2]
        quat = euler_deg_to_quat_wxyz("ZYX", np.column_stack([yaw, pitch, roll]))
        return SampleBatch.build(code[data], t_host_s=t_host_s, quat_wxyz=quat)
