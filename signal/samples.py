"""The core data model: batches of IMU samples, and gap markers between them.

Every array in a :class:`SampleBatch` has the batch length N on axis 0 and carries its unit in
its name. Fields a protocol does not carry are ``None``.

Frames
------
- **Sensor frame**: the IMU's own axes, as printed on the device. Gyro, accelerometer and
  magnetometer vectors are in the sensor frame.
- **World frame**: right-handed, z up (opposite to gravity), x and y horizontal. Heading (the
  direction of x about z) is arbitrary unless a magnetometer is used, in which case it is ENU
  (x east, y north). This is the frame VQF estimates in.
- ``quat_wxyz`` is the orientation of the sensor frame in the world frame: it maps a vector's
  sensor coordinates to world coordinates (``v_world = q ⊗ v_sensor ⊗ q*``). Hamilton product,
  scalar first ``[w, x, y, z]``. scipy's ``Rotation`` is scalar last; convert only through
  :mod:`cervitrack.signal.quaternion`.
- For device-fused quaternions, the device's own world frame (its own axes, no remapping).

Times
-----
- ``seq``: the frame counter. A decoder reports it as on the wire (it wraps at the decoder's
  ``seq_modulus``); the timebase unwraps it into a monotonically increasing int64.
- ``t_device_s``: the device clock reading in seconds, or NaN where the device has no clock.
  Raw from a decoder (wraps at the decoder's ``clock_wrap_s``); unwrapped after the timebase.
- ``t_host_s``: host monotonic time at which the chunk that completed the frame arrived, or NaN.
  Arrival times bunch per BLE connection event: never use them as sample times.
- ``t_s``: the sample time on the host monotonic clock, mapped from the device clock (or from
  the counter times the nominal period) by :mod:`cervitrack.signal.timebase`. NaN until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

_VECTOR_FIELDS = ("gyr_rad_s", "acc_m_s2", "mag_uT", "mag_raw")


@dataclass(frozen=True)
class SampleBatch:
    """N consecutive samples from one device.

    Attributes:
        seq: int64, shape (N,). Frame counter (see module docstring).
        t_device_s: float64, shape (N,). Device clock in s, NaN where the device has none.
        t_host_s: float64, shape (N,). Host monotonic arrival time in s, NaN when unknown.
        t_s: float64, shape (N,). Sample time on the host monotonic clock in s; NaN until the
            timebase has run.
        quat_wxyz: float64, shape (N, 4) or None. Sensor→world orientation, scalar first.
        gyr_rad_s: float64, shape (N, 3) or None. Angular rate in the sensor frame, rad/s.
        acc_m_s2: float64, shape (N, 3) or None. Specific force in the sensor frame, m/s²
            (reads about +9.81 on the up axis at rest).
        mag_uT: float64, shape (N, 3) or None. Magnetic field in the sensor frame, µT. Only
            where the device's scale to µT is known.
        mag_raw: float64, shape (N, 3) or None. Magnetometer in the sensor frame in the
            device's raw counts, where its scale to µT is not known (e.g. WitMotion 0x54:
            about 885 counts on one model and 5300 on another in the same Earth field).
        status: uint8, shape (N,) or None. Device status bits, protocol specific.
    """

    seq: np.ndarray
    t_device_s: np.ndarray
    t_host_s: np.ndarray
    t_s: np.ndarray
    quat_wxyz: np.ndarray | None = None
    gyr_rad_s: np.ndarray | None = None
    acc_m_s2: np.ndarray | None = None
    mag_uT: np.ndarray | None = None
    mag_raw: np.ndarray | None = None
    status: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.seq)
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"SampleBatch.{name} has length {len(value)}, expected {n}")

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def build(
        cls,
        seq,
        *,
        t_device_s=None,
        t_host_s=None,
        t_s=None,
        quat_wxyz=None,
        gyr_rad_s=None,
        acc_m_s2=None,
        mag_uT=None,
        mag_raw=None,
        status=None,
    ) -> SampleBatch:
        """Make a batch with dtypes normalised; missing time arrays become NaN."""
        seq_arr = np.asarray(seq, dtype=np.int64).reshape(-1)
        n = len(seq_arr)

        def times(x):
            if x is None:
                return np.full(n, np.nan)
            arr = np.asarray(x, dtype=np.float64).reshape(-1)
            return np.full(n, arr[0]) if arr.size == 1 and n != 1 else arr

        def mat(x, width):
            return None if x is None else np.asarray(x, dtype=np.float64).reshape(n, width)

        return cls(
            seq=seq_arr,
            t_device_s=times(t_device_s),
            t_host_s=times(t_host_s),
            t_s=times(t_s),
            quat_wxyz=mat(quat_wxyz, 4),
            gyr_rad_s=mat(gyr_rad_s, 3),
            acc_m_s2=mat(acc_m_s2, 3),
            mag_uT=mat(mag_uT, 3),
            mag_raw=mat(mag_raw, 3),
            status=None if status is None else np.asarray(status, dtype=np.uint8).reshape(n),
        )

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls.build(np.zeros(0, dtype=np.int64))

    def with_(self, **changes) -> SampleBatch:
        """A copy with some fields replaced (dataclasses.replace)."""
        return replace(self, **changes)

    def take(self, index) -> SampleBatch:
        """The samples selected by ``index`` (slice, boolean mask or integer array)."""
        taken: dict[str, Any] = {
            f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[index]
            for f in fields(self)}
        return replace(self, **taken)

    @property
    def channels(self) -> tuple[str, ...]:
        """Names of the optional data fields present: a subset of quat/gyr/acc/mag/status."""
        return tuple(
            name for name in ("quat_wxyz", *_VECTOR_FIELDS, "status")
            if getattr(self, name) is not None
        )


_FIELD_NAMES = tuple(f.name for f in fields(SampleBatch))


def concat(batches: list[SampleBatch]) -> SampleBatch:
    """Concatenate batches along the sample axis.

    A field present in some batches but not others is filled with NaN (or 0 for ``status``)
    where missing, so channels are never silently dropped.
    """
    batches = [b for b in batches if len(b)]
    if not batches:
        return SampleBatch.empty()
    if len(batches) == 1:
        return batches[0]
    out: dict[str, Any] = {}
    for f in fields(SampleBatch):
        parts = [getattr(b, f.name) for b in batches]
        if all(p is None for p in parts):
            out[f.name] = None
            continue
        template = next(p for p in parts if p is not None)
        filled = []
        for b, p in zip(batches, parts):
            if p is None:
                fill = 0 if f.name == "status" else np.nan
                p = np.full((len(b),) + template.shape[1:], fill, dtype=template.dtype)
            filled.append(p)
        out[f.name] = np.concatenate(filled)
    return SampleBatch(**out)


@dataclass(frozen=True)
class Gap:
    """A marker passed downstream where the stream was interrupted.

    Attributes:
        t_host_s: host monotonic time at which the gap was detected, s.
        reason: short machine-readable reason: "disconnect", "stall", "seq_jump", "sim".
        lost_frames: frames known to be missing (from counters), or -1 when unknown.
    """

    t_host_s: float
    reason: str
    lost_frames: int = -1


@dataclass
class LinkStats:
    """Per-link counters kept by decoders and supervisors (all counts since start)."""

    frames: int = 0
    rejected_frames: int = 0
    skipped_bytes: int = 0
    gaps: int = 0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """Bytes as a transport delivered them, before decoding.

    Attributes:
        t_host_s: host monotonic time at which the bytes arrived, s (simulated time for the
            simulated link).
        data: the bytes, in whatever chunking the transport produced.
    """

    t_host_s: float
    data: bytes
