"""Calibrations saved per device in the user data directory, and reused.

One JSON file per device under ``data_dir()/calibrations/`` (mode 0600: it describes a
person's head and is kept with their health data). The device is named by its id or spec
string (a BLE address, a serial port and protocol, "sim:reference"...); the file name is a
readable slug of it plus a short hash, so distinct ids never collide and any string is safe.

What is worth reusing: the sensor-to-head alignment (``q_sensor_head``, valid while the
headset sits the same way) and the gyro bias (drifts slowly with temperature and age; VQF keeps
refining it). The neutral posture is re-captured at every session (:mod:`.neutral`): without a
magnetometer each session's world heading is arbitrary.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from cervitrack.calibration.head import HeadCalibration
from cervitrack.trainer.paths import data_dir, read_text

FORMAT = "cervitrack-calibration/1"


def calibration_dir(create: bool = True) -> Path:
    path = data_dir(create) / "calibrations"
    if create:
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def calibration_path(device_id: str, create: bool = False) -> Path:
    """The file for ``device_id`` (any non-empty string)."""
    if not device_id:
        raise ValueError("a device id is needed to save or load a calibration")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", device_id).strip("-.")[:40] or "device"
    digest = hashlib.sha256(device_id.encode("utf-8")).hexdigest()[:10]
    return calibration_dir(create) / f"{slug}-{digest}.json"


def save_calibration(device_id: str, calibration: HeadCalibration, t_saved_s: float | None = None) -> Path:
    """Write the calibration for ``device_id`` (replacing any earlier one); returns the path.

    ``t_saved_s``: an optional timestamp (e.g. Unix time) stored with it; processing code never
    reads the clock itself.
    """
    path = calibration_path(device_id, create=True)
    doc = {"format": FORMAT, "device_id": device_id, "t_saved_s": t_saved_s,
           "calibration": calibration.to_dict()}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def load_calibration(device_id: str) -> HeadCalibration | None:
    """The saved calibration for ``device_id``, or None if there is none.

    Raises ValueError naming the file when it exists but cannot be read as a calibration.
    """
    path = calibration_path(device_id)
    if not path.is_file():
        return None
    return read_calibration_file(path, device_id)


def read_calibration_json(path: str | Path):
    """The parsed JSON of a calibration file; one ValueError naming the file otherwise."""
    path = Path(path)
    text = read_text(path, "calibration file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"calibration file {path} cannot be read: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"calibration file {path}: nested too deeply") from None


def summary(path: str | Path) -> tuple[str, float | None]:
    """(device id, quality score or None) of a saved calibration file for listings; ValueError
    naming the file when it is not one."""
    doc = read_calibration_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("calibration"), dict):
        raise ValueError(f"calibration file {path} is not a saved calibration")
    quality = doc["calibration"].get("quality")
    score = quality.get("score") if isinstance(quality, dict) else None
    return str(doc.get("device_id", "?")), score if isinstance(score, (int, float)) else None


def read_calibration_file(path: str | Path, device_id: str | None = None) -> HeadCalibration:
    """Read a calibration JSON file (as saved here, or a bare ``HeadCalibration.to_dict()``)."""
    path = Path(path)
    doc = read_calibration_json(path)
    if not isinstance(doc, dict):
        raise ValueError(f"calibration file {path} is not a calibration")
    if "calibration" in doc:
        if doc.get("format") != FORMAT:
            raise ValueError(f"calibration file {path} has unknown format {doc.get('format')!r}")
        if device_id is not None and doc.get("device_id") != device_id:
            raise ValueError(f"calibration file {path} belongs to device {doc.get('device_id')!r}")
        doc = doc["calibration"]
    try:
        cal = HeadCalibration.from_dict(doc)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"calibration file {path} is not a valid calibration: {reason}") from None
    if cal.q_sensor_head.shape != (4,) or not abs(float((cal.q_sensor_head**2).sum()) - 1.0) < 1e-6:
        raise ValueError(f"calibration file {path}: q_sensor_head_wxyz must be a unit quaternion [w, x, y, z]")
    return cal


def delete_calibration(device_id: str) -> bool:
    """Remove the saved calibration; returns whether there was one."""
    path = calibration_path(device_id)
    if path.is_file():
        path.unlink()
        return True
    return False
