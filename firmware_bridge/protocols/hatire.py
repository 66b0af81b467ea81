"""opentrack Hatire (Arduino head tracker) 30-byte frames over serial.

Source: opentrack tracker-hatire (``ftnoir_arduino_type.h``, ``ftnoir_tracker_hat.cpp`` and
``ftnoir_tracker_hat_settings.h`` @ f009bb52cab7bf3884b8a9b3a326aa9ce84d6299). Little-endian,
packed::

    off 0  u16 0xAAAA      begin (AA AA)
    off 2  u16 code        <= 1000: a data frame (many sketches count 0..999, some send a
                           constant 0); > 1000: a message (2000 info, 3000 init, 5000 start,
                           9000 error...), no data
    off 4  float32 rot[3]  degrees, in the sketch's order (see AXIS_ORDERS)
    off 16 float32 trans[3] cm (many sketches never set them)
    off 28 u16 0x5555      end (55 55)

What opentrack accepts, and so what this decoder accepts: both markers, then ``Code <= 1000`` is
data (``if (ArduinoData.Code <= 1000) HAT = ArduinoData``), anything above a message.
opentrack checks no value; it clamps the angles to ±180°. Translation is therefore never
checked here (a sketch that leaves it uninitialised still tracks in opentrack, so it must here);
the angles must be finite and within ±360° with no absurdly small non-zero float, because a NaN
angle cannot make a pose (this is the one check stricter than opentrack's, and it keeps the
decoder from locking onto garbage between two markers). Frames with a code > 1000 are counted in
``stats.extra["messages"]`` (their code in :attr:`HatireDecoder.last_message_code`) and give no
sample. Translation is not part of a :class:`SampleBatch` and is dropped.

Frame numbers: the code is not trusted to be a counter. ``seq`` is the decoder's own frame
number, advanced by the code's step ``(code − previous code) mod 1000`` when the code moves (so
a counting sketch's lost frames still show as jumps) and by 1 when it does not (a sketch that
sends code 0 in every frame still gets 0, 1, 2...). There is no device clock: times come from
the frame numbers at the nominal rate, mapped onto arrival times by the timebase when streaming.

Axis order (``HatireDecoder(axis_order)``, ``--protocol hatire:ypr``): opentrack's default
mapping reads rot[0] as yaw, rot[1] as roll, rot[2] as pitch (``yaw-axis`` 0, ``roll-axis`` 1,
``pitch-axis`` 2); sketches differ, see :data:`AXIS_ORDERS`.

Euler → quaternion: yaw, then pitch, then roll: intrinsic Z-Y-X,
``q = Rz(yaw) · Ry(pitch) · Rx(roll)`` with Cervitrack's z up, x forward. Sign conventions are
the sketch's own **[UNVERIFIED]**: no public byte capture of a Hatire device exists.
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

HEADER = b"\xaa\xaa"
FOOTER = b"\x55\x55"
FRAME_BYTES = 30
COUNTER_MODULUS = 1000
#: Codes up to and including this are data frames (opentrack: ``Code <= 1000``).
MAX_DATA_CODE = 1000
ANGLE_LIMIT_DEG = 360.0

#: Which rot[] slot holds yaw, pitch and roll, per preset.
#: - ``opentrack``: opentrack's default axis mapping, rot = (yaw, roll, pitch).
#: - ``ypr``: rot = (yaw, pitch, roll): FuraX49's HAT mode of the Razor AHRS firmware
#:   (``hat.rot[i] = ypr[i] - offset``) and a BNO086 Hatire sketch (issue 14).
AXIS_ORDERS: dict[str, tuple[int, int, int]] = {
    "opentrack": (0, 2, 1),
    "ypr": (0, 1, 2),
}
DEFAULT_AXIS_ORDER = "opentrack"


def encode_frames(code, yaw_roll_pitch_deg, trans_cm=None) -> bytes:
    """N frames from codes (N,), (N, 3) rot[0..2] in ° (yaw, roll, pitch in opentrack's default
    order) and optional (N, 3) cm."""
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


def encode_samples(code, quat_wxyz, trans_cm=None) -> bytes:
    """N data frames from codes (N,) (taken modulo 1000) and sensor→world quaternions (N, 4):
    the exact inverse of :class:`HatireDecoder` (change both together)."""
    yaw_pitch_roll = quat_wxyz_to_euler_deg("ZYX", quat_wxyz)
    code = np.asarray(code, dtype=np.int64) % COUNTER_MODULUS
    return encode_frames(code, yaw_pitch_roll[:, [0, 2, 1]], trans_cm)


def _fields(rows: np.ndarray):
    n = rows.shape[0]
    code = np.ascontiguousarray(rows[:, 2:4]).view("<u2").reshape(n).astype(np.int64)
    vals = np.ascontiguousarray(rows[:, 4:28]).view("<f4").reshape(n, 6).astype(np.float64)
    return code, vals[:, :3], vals[:, 3:]


def _check(rows: np.ndarray) -> np.ndarray:
    code, rot, _ = _fields(rows)
    ok = (rows[:, 28] == 0x55) & (rows[:, 29] == 0x55)
    data = code <= MAX_DATA_CODE
    return ok & (~data | np.all(plausible_float(rot, ANGLE_LIMIT_DEG), axis=1))


class HatireDecoder(Decoder):
    """Hatire frames → ``quat_wxyz`` from yaw, pitch, roll; seq numbered by the decoder.

    Args:
        axis_order: a key of :data:`AXIS_ORDERS` (default ``"opentrack"``).
    """

    name = "hatire"
    seq_modulus = None
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def __init__(self, axis_order: str = DEFAULT_AXIS_ORDER) -> None:
        super().__init__()
        if axis_order not in AXIS_ORDERS:
            raise ValueError(f"unknown Hatire axis order {axis_order!r}; "
                             f"choose one of: {', '.join(sorted(AXIS_ORDERS))}")
        self.axis_order = axis_order
        self._slots = AXIS_ORDERS[axis_order]
        self.last_message_code: int | None = None
        #: The last data frame's code, and the decoder's frame number for it.
        self._last_code: int | None = None
        self._last_seq = -1

    def _decode(self, t_host_s: float) -> SampleBatch:
        rows = self._take_fixed_frames(FRAME_BYTES, _check, HEADER)
        if rows.shape[0] == 0:
            return SampleBatch.empty()
        code, rot, _ = _fields(rows)
        data = code <= MAX_DATA_CODE
        if not data.all():
            self.last_message_code = int(code[~data][-1])
            self.stats.extra["messages"] = (self.stats.extra.get("messages", 0)
                                            + int(np.count_nonzero(~data)))
        if not data.any():
            return SampleBatch.empty()
        ypr = rot[data][:, self._slots]
        quat = euler_deg_to_quat_wxyz("ZYX", ypr)
        return SampleBatch.build(self._number(code[data]), t_host_s=t_host_s, quat_wxyz=quat)

    def _number(self, code: np.ndarray) -> np.ndarray:
        """Frame numbers: + the code's step mod 1000 when it moves, + 1 when it repeats."""
        prev = np.concatenate([[code[0] - 1 if self._last_code is None else self._last_code],
                               code[:-1]])
        step = (code - prev) % COUNTER_MODULUS
        step[step == 0] = 1
        seq = self._last_seq + np.cumsum(step)
        self._last_code, self._last_seq = int(code[-1]), int(seq[-1])
        return seq
