"""Tidy CSV export: one row per sample, units in every column name, plus a JSON sidecar.

Columns, in order (``cervitrack process`` reads the first seven by name)::

    t_s                               sample time, s, host monotonic clock (timebase-mapped)
    acc_x_m_s2, acc_y_m_s2, acc_z_m_s2    specific force, sensor frame, m/s²
    gyr_x_rad_s, gyr_y_rad_s, gyr_z_rad_s angular rate, sensor frame, rad/s
    mag_x_uT, mag_y_uT, mag_z_uT      magnetic field, sensor frame, µT (only when recorded)
    seq                               unwrapped frame counter
    t_device_s                        unwrapped device clock, s (NaN without a device clock)
    t_host_s                          host arrival time of the frame's chunk, s
    quat_w, quat_x, quat_y, quat_z    orientation q_world_sensor, Hamilton, scalar first
    status                            device status byte
    axial_deg, lateral_deg, flexion_deg   head angles from the recorded test calibration, deg
                                      (only for recordings with one; nan before it was set)

Values a device does not provide are written ``nan``. Events go to ``<stem>_events.csv``
(``t_s,kind,data_json``). The sidecar ``<stem>.json`` states units, frames and provenance.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from cervitrack.trainer.paths import make_private_dir, open_private, write_private_text
from cervitrack.trainer.recording.format import to_plain

PROCESS_COLUMNS = ("t_s", "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2",
                   "gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s")
MAG_COLUMNS = ("mag_x_uT", "mag_y_uT", "mag_z_uT")
TAIL_COLUMNS = ("seq", "t_device_s", "t_host_s", "quat_w", "quat_x", "quat_y", "quat_z",
                "status")


def _col(arr, n, width):
    return np.full((n, width), np.nan) if arr is None else np.asarray(arr, dtype=np.float64)


HEAD_COLUMNS = ("axial_deg", "lateral_deg", "flexion_deg")


def table(samples, q_world_sensor=None, q_neutral_head=None
          ) -> tuple[list[str], np.ndarray, list[str]]:
    """Column names, an (N, C) float array and a printf format per column.

    ``q_world_sensor`` (N, 4) fills the quat columns (default ``samples.quat_wxyz``);
    ``q_neutral_head`` (N, 4, NaN rows where unknown) adds the head-angle columns."""
    n = len(samples)
    quat = samples.quat_wxyz if q_world_sensor is None else q_world_sensor
    cols = [samples.t_s[:, None], _col(samples.acc_m_s2, n, 3), _col(samples.gyr_rad_s, n, 3)]
    names = list(PROCESS_COLUMNS)
    fmts = ["%.6f"] + ["%.8g"] * 6
    if samples.mag_uT is not None:
        cols.append(_col(samples.mag_uT, n, 3))
        names += MAG_COLUMNS
        fmts += ["%.8g"] * 3
    cols += [samples.seq[:, None].astype(np.float64), samples.t_device_s[:, None],
             samples.t_host_s[:, None], _col(quat, n, 4),
             (np.full((n, 1), np.nan) if samples.status is None
              else samples.status[:, None].astype(np.float64))]
    names += TAIL_COLUMNS
    fmts += ["%d", "%.6f", "%.6f"] + ["%.8g"] * 4 + ["%d"]
    if q_neutral_head is not None:
        from cervitrack.signal.kinematics import head_angles_deg

        known = np.all(np.isfinite(q_neutral_head), axis=1)
        angles = np.full((n, 3), np.nan)
        if np.any(known):
            a = head_angles_deg(q_neutral_head[known])
            angles[known] = np.stack([a["axial"], a["lateral"], a["flexion"]], axis=1)
        cols.append(angles)
        names += HEAD_COLUMNS
        fmts += ["%.6f"] * 3
    data = np.hstack(cols) if n else np.zeros((0, len(names)))
    return names, data, fmts


def _format_rows(data: np.ndarray, fmts: list[str]) -> list[str]:
    """Rows as text; NaN (also in integer columns) written ``nan``."""
    out = []
    for row in data:
        out.append(",".join("nan" if np.isnan(v) else f % v for v, f in zip(row, fmts)))
    return out


#: Header keys that identify a recording or when it was made (kept only with ``keep_ids``).
IDENTIFYING_KEYS = ("recording_id", "created_utc", "created_monotonic_s")


def shareable_metadata(meta: dict, keep_ids: bool = False) -> dict:
    """The recording header for a shared export: no host platform details, and no recording
    id or creation time unless ``keep_ids``."""
    out = {k: v for k, v in meta.items() if keep_ids or k not in IDENTIFYING_KEYS}
    if isinstance(out.get("software"), dict):
        out["software"] = {k: v for k, v in out["software"].items() if k != "platform"}
    return out


def export_csv(decoded, recording, out_dir, stem: str | None = None,
               overwrite: bool = False, keep_ids: bool = False) -> list[Path]:
    """Write ``<stem>.csv``, ``<stem>_events.csv`` and ``<stem>.json`` into ``out_dir``.

    Args:
        decoded: :class:`~cervitrack.trainer.recording.decode.Decoded` samples.
        recording: the :class:`~cervitrack.trainer.recording.reader.Recording` (events,
            metadata).
        out_dir: created if missing. Existing files are not overwritten (FileExistsError)
            unless ``overwrite``.
        stem: file stem; default the recording's file stem.
    Returns:
        The written paths.
    """
    out_dir = Path(out_dir)
    stem = stem or Path(recording.path).stem
    paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}_events.csv", out_dir / f"{stem}.json"]
    for p in paths:
        if p.exists() and not overwrite:
            raise FileExistsError(f"{p} already exists; add --force to overwrite it")
    make_private_dir(out_dir)
    names, data, fmts = table(decoded.samples, decoded.q_world_sensor, decoded.q_neutral_head)
    with open_private(paths[0], "w", newline="") as f:
        f.write(",".join(names) + "\n")
        for line in _format_rows(data, fmts):
            f.write(line + "\n")
    with open_private(paths[1], "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["t_s", "kind", "data_json"])
        for event in recording.events:
            rest = {k: v for k, v in event.items() if k not in ("t_s", "kind")}
            t = event.get("t_s")
            writer.writerow(["nan" if t is None else f"{float(t):.6f}", event.get("kind"),
                             json.dumps(to_plain(rest), ensure_ascii=False, allow_nan=False)])
    sidecar = {
        "Description": "Cervitrack recording export: one row per IMU sample",
        "Source": str(recording.path),
        "Columns": {
            "t_s": "sample time on the host monotonic clock, s (device clock mapped by the "
                   "timebase)",
            "acc_*_m_s2": "specific force in the sensor frame, m/s^2",
            "gyr_*_rad_s": "angular rate in the sensor frame, rad/s",
            "mag_*_uT": "magnetic field in the sensor frame, uT",
            "seq": "frame counter, unwrapped",
            "t_device_s": "device clock, unwrapped, s",
            "t_host_s": "host monotonic arrival time of the chunk carrying the frame, s",
            "quat_w..quat_z": "orientation q_world_sensor (sensor to world), Hamilton, scalar "
                              "first; world frame right-handed, z up; from the device or "
                              "the fusion (see OrientationSource)",
            "status": "device status byte",
            "axial_deg, lateral_deg, flexion_deg": "head angles relative to the calibrated "
                "neutral, intrinsic Z-X-Y on head axes (x anterior, y left, z superior): axial "
                "+ to the left, lateral + to the right, flexion + chin down; deg; present when "
                "the recording holds a test calibration, nan before it was captured",
        },
        "SensorFrame": "device axes; headset worn: x forward (nose), y left, z up",
        "MissingValues": "nan",
        "OrientationSource": decoded.orientation_source,
        "SamplingFrequencyNominal_hz": decoded.nominal_rate_hz,
        "Protocol": recording.protocol,
        "Metadata": to_plain(shareable_metadata(recording.metadata, keep_ids)),
        "Integrity": recording.integrity.as_dict(),
    }
    write_private_text(paths[2], json.dumps(sidecar, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return paths
