"""A configurable text-line decoder: one regular expression per line, a field map and units.

Many hand-written sketches print orientation as text over USB serial or BLE UART. Rather than a
parser per sketch, a :class:`TextFormat` says how to read a line: a regular expression whose
groups are numbers, the field each group fills, the units, and for Euler angles the rotation
order. Presets (Bosch BNO055 datasheet and its hobby sketches; opentrack's tracker-hatire and proto-udp sources):

``bno055-orientation``
    Adafruit BNO055 ``bunny.ino``: ``Orientation: <heading> <roll> <pitch>`` (°, 115200 baud).
    Bosch Android convention (heading about z clockwise from above, pitch about x ±180, roll
    about y ±90), converted as intrinsic Z-X-Y ``q = Rz(-heading) · Rx(pitch) · Ry(roll)``
    **[UNVERIFIED]**.
``bno055-quaternion``
    Adafruit BNO055 ``webserial_3d.ino``: ``Quaternion: <w>, <x>, <y>, <z>`` (9600 baud).
    ``Serial.print(float)`` prints 2 decimals, so |q| is accepted within 0.03 of 1.
``razor``
    Razor AHRS: ``#YPR=<yaw>,<pitch>,<roll>`` (°, 57600 baud **[UNVERIFIED per fork]**),
    intrinsic Z-Y-X ``q = Rz(yaw) · Ry(pitch) · Rx(roll)``.
``csv`` (default)
    ``<w>,<x>,<y>,<z>`` quaternion lines.
``csv-imu``
    ``<t_ms>,<w>,<x>,<y>,<z>,<ax>,<ay>,<az>,<gx>,<gy>,<gz>`` with acc in m/s², gyro in rad/s.

Field names: ``qw qx qy qz`` (quaternion, sensor→world, scalar first), ``yaw pitch roll
heading`` (Euler angles, see ``euler_seq``), ``ax ay az`` (acc), ``gx gy gz`` (gyro),
``mx my mz`` (magnetometer), ``t`` (device time) and ``seq`` (counter). Units: ``angle`` deg or
rad, ``acc`` g or m/s2, ``gyr`` deg/s or rad/s, ``mag`` uT, ``t`` s, ms or us.

Lines that do not match (boot banners, calibration lines) count as skipped bytes; lines that
match but fail plausibility (|q| off 1, angles beyond ±360°, non-finite values) count as
rejected frames. Lines are split on ``\\n``; ``\\r`` and spaces around them are ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from cervitrack.firmware_bridge.protocols._convert import DEG_TO_RAD, G_M_S2, euler_deg_to_quat_wxyz
from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.signal.samples import SampleBatch

NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
MAX_LINE_BYTES = 256
ANGLE_LIMIT_DEG = 360.0

_ANGLE = {"deg": 1.0, "rad": 180.0 / math.pi}
_ACC = {"g": G_M_S2, "m/s2": 1.0}
_GYR = {"deg/s": DEG_TO_RAD, "rad/s": 1.0}
_MAG = {"uT": 1.0}
_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_FIELDS = {"qw", "qx", "qy", "qz", "yaw", "pitch", "roll", "heading", "ax", "ay", "az",
           "gx", "gy", "gz", "mx", "my", "mz", "t", "seq"}


@dataclass(frozen=True)
class TextFormat:
    """How to read one text line.

    Attributes:
        pattern: regular expression searched in each line; each group captures a number.
        fields: the field name for each group, in group order (see module docstring).
        units: unit per quantity: ``angle``, ``acc``, ``gyr``, ``mag``, ``t``.
        euler_seq: scipy intrinsic sequence for the Euler fields (e.g. ``"ZYX"``).
        euler_fields: the three angle fields in the order of ``euler_seq``.
        euler_signs: a sign per angle applied before conversion.
        quat_tolerance: accepted deviation of |q| from 1.
        baud: the sketch's usual serial rate.
        nominal_rate_hz: the rate assumed without a device clock.
    """

    pattern: str
    fields: tuple[str, ...]
    units: dict = field(default_factory=dict)
    euler_seq: str = "ZYX"
    euler_fields: tuple[str, str, str] = ("yaw", "pitch", "roll")
    euler_signs: tuple[float, float, float] = (1.0, 1.0, 1.0)
    quat_tolerance: float = 0.01
    baud: int = 115200
    nominal_rate_hz: float = 100.0

    def __post_init__(self) -> None:
        unknown = set(self.fields) - _FIELDS
        if unknown:
            raise ValueError(f"unknown text field(s): {', '.join(sorted(unknown))}")
        if re.compile(self.pattern).groups != len(self.fields):
            raise ValueError("text pattern must have one group per field")


def _csv(n: int) -> str:
    return r"^\s*" + r"\s*,\s*".join([NUM] * n) + r"\s*$"


PRESETS: dict[str, TextFormat] = {
    "bno055-orientation": TextFormat(
        rf"Orientation:\s*{NUM}\s+{NUM}\s+{NUM}", ("heading", "roll", "pitch"),
        euler_seq="ZXY", euler_fields=("heading", "pitch", "roll"),
        euler_signs=(-1.0, 1.0, 1.0)),
    "bno055-quaternion": TextFormat(
        rf"Quaternion:\s*{NUM}\s*,\s*{NUM}\s*,\s*{NUM}\s*,\s*{NUM}", ("qw", "qx", "qy", "qz"),
        quat_tolerance=0.03, baud=9600),
    "razor": TextFormat(rf"#YPR=\s*{NUM}\s*,\s*{NUM}\s*,\s*{NUM}", ("yaw", "pitch", "roll"),
                        baud=57600, nominal_rate_hz=50.0),
    "csv": TextFormat(_csv(4), ("qw", "qx", "qy", "qz")),
    "csv-imu": TextFormat(
        _csv(11), ("t", "qw", "qx", "qy", "qz", "ax", "ay", "az", "gx", "gy", "gz"),
        units={"t": "ms", "acc": "m/s2", "gyr": "rad/s"}),
}
DEFAULT_PRESET = "csv"


def _unit(units: dict, key: str, table: dict, default: str) -> float:
    name = units.get(key, default)
    if name not in table:
        raise ValueError(f"unknown {key} unit {name!r}; choose one of: {', '.join(table)}")
    return table[name]


class TextDecoder(Decoder):
    """Text lines → samples, per a :class:`TextFormat` preset or a custom format.

    Args:
        preset: a :data:`PRESETS` name (default ``csv``).
        fmt: a custom :class:`TextFormat`, used instead of the preset when given.
    """

    name = "text"
    seq_modulus = None
    has_clock = False
    clock_wrap_s = None
    nominal_rate_hz = 100.0

    def __init__(self, preset: str = DEFAULT_PRESET, fmt: TextFormat | None = None) -> None:
        super().__init__()
        if fmt is None:
            if preset not in PRESETS:
                raise ValueError(f"unknown text preset {preset!r}; choose one of: "
                                 f"{', '.join(sorted(PRESETS))}")
            fmt = PRESETS[preset]
        self.preset = preset if fmt is PRESETS.get(preset) else "custom"
        self.format = fmt
        self._re = re.compile(fmt.pattern.encode())
        self._index = {name: i for i, name in enumerate(fmt.fields)}
        self.has_clock = "t" in self._index
        self.nominal_rate_hz = fmt.nominal_rate_hz
        u = fmt.units
        self._angle = _unit(u, "angle", _ANGLE, "deg")
        self._acc = _unit(u, "acc", _ACC, "g")
        self._gyr = _unit(u, "gyr", _GYR, "deg/s")
        self._mag = _unit(u, "mag", _MAG, "uT")
        self._time = _unit(u, "t", _TIME, "ms")
        self._next_seq = 0

    def _decode(self, t_host_s: float) -> SampleBatch:
        data = bytes(self._buf)
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            if len(data) > MAX_LINE_BYTES:
                self.stats.skipped_bytes += len(data)
                self._buf.clear()
            return SampleBatch.empty()
        rest = data[last_nl + 1:]
        if len(rest) > MAX_LINE_BYTES:
            self.stats.skipped_bytes += len(rest)
            rest = b""
        self._buf[:] = rest
        rows = []
        for line in data[:last_nl].split(b"\n"):
            m = self._re.search(line) if len(line) <= MAX_LINE_BYTES else None
            if m is None:
                self.stats.skipped_bytes += len(line) + 1
                continue
            try:
                values = [float(g) for g in m.groups()]
            except (TypeError, ValueError):
                self.stats.rejected_frames += 1
                continue
            if not all(math.isfinite(v) for v in values):
                self.stats.rejected_frames += 1
                continue
            rows.append(values)
        if not rows:
            return SampleBatch.empty()
        return self._samples(np.array(rows, dtype=np.float64), t_host_s)

    def _cols(self, v: np.ndarray, names) -> np.ndarray | None:
        if not all(n in self._index for n in names):
            return None
        return v[:, [self._index[n] for n in names]]

    def _samples(self, v: np.ndarray, t_host_s: float) -> SampleBatch:
        fmt = self.format
        ok = np.ones(v.shape[0], dtype=bool)
        quat = self._cols(v, ("qw", "qx", "qy", "qz"))
        if quat is not None:
            norm = np.linalg.norm(quat, axis=1)
            ok &= np.abs(norm - 1.0) <= fmt.quat_tolerance
            quat = quat / np.where(norm > 0, norm, 1.0)[:, None]
        else:
            angles = self._cols(v, fmt.euler_fields)
            if angles is not None:
                angles = angles * self._angle * np.asarray(fmt.euler_signs)
                ok &= np.all(np.abs(angles) <= ANGLE_LIMIT_DEG, axis=1)
                quat = euler_deg_to_quat_wxyz(fmt.euler_seq, angles)
        acc, gyr, mag = (self._cols(v, names) for names in
                         (("ax", "ay", "az"), ("gx", "gy", "gz"), ("mx", "my", "mz")))
        t = self._cols(v, ("t",))
        seq = self._cols(v, ("seq",))
        self.stats.rejected_frames += int(np.count_nonzero(~ok))
        n = int(np.count_nonzero(ok))
        self.stats.frames += n
        if n == 0:
            return SampleBatch.empty()
        if seq is None:
            seq_out = self._next_seq + np.arange(n)
            self._next_seq += n
        else:
            seq_out = seq[ok, 0].astype(np.int64)

        def pick(x, scale=1.0):
            return None if x is None else x[ok] * scale

        return SampleBatch.build(
            seq_out, t_device_s=None if t is None else t[ok, 0] * self._time, t_host_s=t_host_s,
            quat_wxyz=pick(quat), acc_m_s2=pick(acc, self._acc), gyr_rad_s=pick(gyr, self._gyr),
            mag_uT=pick(mag, self._mag))
