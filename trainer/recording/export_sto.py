"""OpenSim / OpenSense ``.sto`` quaternion export (``IMUPlacer`` / ``IMUInverseKinematicsTool``).

Layout (tab-separated)::

    DataRate=100.000000
    DataType=Quaternion
    version=3
    OpenSimVersion=4.5
    endheader
    time<TAB>head_imu
    0.000000<TAB>w,x,y,z
    ...

``time`` is seconds since the first sample (from the timebase-mapped ``t_s``); each cell is the
orientation ``q_world_sensor`` (sensor → world, Hamilton, scalar first) as OpenSense expects.
The world frame is z up (ENU with a magnetometer, arbitrary heading without); OpenSim is y up,
so set ``sensor_to_opensim_rotations`` to (-π/2, 0, 0) in the IMUPlacer settings. The column is
named ``head_imu``: OpenSense maps ``<body>_imu`` columns to model bodies, so rename it to the
body your model carries the head on (the Rajagopal model has no separate head body).

The orientation is the device's quaternion when it sends one, else the live pipeline's fusion
(VQF) of the raw gyro and accelerometer data. Recordings of decoded samples without either
cannot be exported; a ValueError says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cervitrack.trainer.paths import make_private_dir, write_private_text

OPENSIM_VERSION = "4.5"
COLUMN = "head_imu"


def sto_text(t_s: np.ndarray, quat_wxyz: np.ndarray, rate_hz: float) -> str:
    """The file content for times ``t_s`` (N,) s and quaternions (N, 4) scalar first."""
    lines = [f"DataRate={rate_hz:.6f}", "DataType=Quaternion", "version=3",
             f"OpenSimVersion={OPENSIM_VERSION}", "endheader", f"time\t{COLUMN}"]
    t = np.asarray(t_s, dtype=np.float64)
    t = t - t[0] if t.size else t
    for ti, q in zip(t.tolist(), np.asarray(quat_wxyz, dtype=np.float64).tolist()):
        lines.append(f"{ti:.6f}\t{q[0]:.8f},{q[1]:.8f},{q[2]:.8f},{q[3]:.8f}")
    return "\n".join(lines) + "\n"


def export_sto(decoded, recording, out_dir, stem: str | None = None,
               overwrite: bool = False) -> list[Path]:
    """Write ``<stem>_orientations.sto`` into ``out_dir`` (an existing file only with
    ``overwrite``); return it."""
    samples = decoded.samples
    if decoded.q_world_sensor is None or not len(samples):
        raise ValueError(f"{recording.path}: no orientation samples to export as .sto")
    out_dir = Path(out_dir)
    path = out_dir / f"{stem or Path(recording.path).stem}_orientations.sto"
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; add --force to overwrite it")
    make_private_dir(out_dir)
    rate = decoded.nominal_rate_hz or 100.0
    write_private_text(path, sto_text(samples.t_s, decoded.q_world_sensor, rate))
    return [path]
