"""BIDS-Motion export (BIDS 1.9+, BEP029; see BIDS Specification 1.9+, Motion (BEP029)).

One recording becomes one ``_motion.tsv`` of a raw BIDS dataset::

    OUT/dataset_description.json           created once
    OUT/participants.tsv                   one row per subject (appended)
    OUT/README                             created once
    OUT/sub-<s>/[ses-<e>/]sub-<s>[_ses-<e>]_scans.tsv      filename + acq_time (appended;
                                                           date shifted unless keep_dates)
    OUT/sub-<s>/[ses-<e>/]motion/<prefix>_motion.tsv       data, no header row, "n/a" missing
    OUT/sub-<s>/[ses-<e>/]motion/<prefix>_motion.json      sidecar (TaskName, rates, counts)
    OUT/sub-<s>/[ses-<e>/]motion/<prefix>_channels.tsv     one row per data column
    OUT/sub-<s>/[ses-<e>/]motion/<prefix>_channels.json    reference-frame levels
    OUT/sub-<s>/[ses-<e>/]motion/<prefix>_events.tsv       onset, duration, trial_type, ...
    OUT/sub-<s>/[ses-<e>/]motion/<prefix>_events.json      the events columns described

with ``<prefix> = sub-<s>[_ses-<e>]_task-<t>_tracksys-headimu[_run-<r>]``.

Channels, in column order: ``head_quat_w/x/y/z`` (ORNT, components quat_w/x/y/z, units n/a,
reference frame ``global`` = the orientation filter's world frame), ``head_gyro_x/y/z`` (GYRO,
rad/s), ``head_acc_x/y/z`` (ACCEL, m/s^2), ``head_magn_x/y/z`` (MAGN, uT) where recorded, all
three in the ``local`` (sensor) frame, and ``latency`` (LATENCY, s: sample time since the first
sample, from the device clock mapped by the timebase).

Subject labels are pseudonymous by default: ``sub-`` + 10 hex digits of an HMAC-SHA256 keyed
with a secret kept in the user's data folder, over the recording's ``subject`` metadata (so one
person keeps one label across recordings on this installation) or, without one, over its
``recording_id``. Pass ``subject`` to choose a label instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import re
import secrets
from pathlib import Path

import numpy as np

import cervitrack
from cervitrack.trainer.paths import make_private_dir, open_private, write_private_text
from cervitrack.trainer.recording.format import to_plain

BIDS_VERSION = "1.11.1"
TRACKSYS = "headimu"
TRACKED_POINT = "head"
PLACEMENT = "forehead"
_LABEL_RE = re.compile(r"^[0-9a-zA-Z]+$")
CHANNEL_COLUMNS = ("name", "component", "type", "tracked_point", "units", "placement",
                   "reference_frame", "description")


def _label(value: str, entity: str) -> str:
    value = str(value)
    if not _LABEL_RE.match(value):
        raise ValueError(f"BIDS {entity} label {value!r} must be letters and digits only")
    return value


def _pseudonym_key() -> bytes:
    """The installation's secret pseudonymisation key (created on first use, mode 0600)."""
    from cervitrack.trainer.paths import data_dir

    path = data_dir() / "pseudonym.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def pseudonym(recording) -> str:
    """The default subject label for ``recording`` (see the module docstring)."""
    meta = recording.metadata
    basis = (f"subject:{meta['subject']}" if meta.get("subject")
             else f"recording:{meta.get('recording_id') or meta.get('created_utc')}")
    digest = hmac.new(_pseudonym_key(), basis.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:10]


def channels(samples, q_world_sensor=None) -> list[dict]:
    """The channel rows for the fields ``samples`` carries, in column order (ORNT when
    ``q_world_sensor`` (N, 4) is given)."""
    rows = []

    def add(name, component, ctype, units, frame, description):
        rows.append({"name": name, "component": component, "type": ctype,
                     "tracked_point": TRACKED_POINT if ctype != "LATENCY" else "n/a",
                     "units": units, "placement": PLACEMENT if ctype != "LATENCY" else "n/a",
                     "reference_frame": frame, "description": description})

    if q_world_sensor is not None:
        for c in "wxyz":
            add(f"head_quat_{c}", f"quat_{c}", "ORNT", "n/a", "global",
                f"orientation of the sensor in the world frame, quaternion {c} component"
                + (" (scalar)" if c == "w" else ""))
    for field, ctype, units, label, what in (
            ("gyr_rad_s", "GYRO", "rad/s", "gyro", "angular rate"),
            ("acc_m_s2", "ACCEL", "m/s^2", "acc", "specific force"),
            ("mag_uT", "MAGN", "uT", "magn", "magnetic field")):
        if getattr(samples, field) is not None:
            for c in "xyz":
                add(f"head_{label}_{c}", c, ctype, units, "local", f"{what}, sensor {c} axis")
    add("latency", "n/a", "LATENCY", "s", "n/a",
        "sample time since the first sample (device clock mapped to the host clock)")
    return rows


def motion_array(samples, q_world_sensor=None) -> np.ndarray:
    """The (N, C) data matrix in :func:`channels` order."""
    cols = []
    if q_world_sensor is not None:
        cols.append(np.asarray(q_world_sensor, dtype=np.float64))
    for field in ("gyr_rad_s", "acc_m_s2", "mag_uT"):
        if getattr(samples, field) is not None:
            cols.append(getattr(samples, field))
    t = samples.t_s
    cols.append((t - t[0])[:, None] if len(t) else np.zeros((0, 1)))
    return np.hstack(cols) if len(samples) else np.zeros((0, len(cols)))


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.9g}"


#: De-identified dates are moved back by this many days plus a per-subject share of
#: DATE_SHIFT_SPREAD_DAYS: any date before 2035 lands in 1925 or earlier, as the BIDS
#: specification asks of shifted dates (BIDS 1.9, "Scans file": acq_time).
DATE_SHIFT_BASE_DAYS = 40_000
DATE_SHIFT_SPREAD_DAYS = 3_650


def date_shift_days(subject: str) -> int:
    """Days every date of ``subject`` is moved back by: the same for all the subject's
    recordings (relative timing is kept), secret (from the installation's pseudonym key, so
    the label does not reveal it)."""
    digest = hmac.new(_pseudonym_key(), f"date-shift:{subject}".encode(), hashlib.sha256).digest()
    return DATE_SHIFT_BASE_DAYS + int.from_bytes(digest[:4], "big") % DATE_SHIFT_SPREAD_DAYS


def _acq_time(recording, t0_s: float, shift_days: int = 0) -> str:
    """ISO time of the first sample (UTC, whole seconds) moved back by ``shift_days``, or n/a
    when unknown."""
    meta = recording.metadata
    created = meta.get("created_utc")
    if not created:
        return "n/a"
    start = dt.datetime.fromisoformat(created)
    mono = meta.get("created_monotonic_s")
    if meta.get("host_clock", "monotonic") == "monotonic" and mono is not None and \
            math.isfinite(t0_s):
        start = start + dt.timedelta(seconds=t0_s - float(mono))
    start = start.astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=shift_days)
    return start.isoformat(timespec="seconds")


def _append_tsv(path: Path, header: list[str], row: list[str], key_column: int = 0) -> None:
    """Append ``row`` to a TSV (creating it with ``header``), unless its key is present."""
    if path.exists():
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))
        if any(r and r[key_column] == row[key_column] for r in rows[1:]):
            return
        with open_private(path, "a", newline="") as f:
            f.write("\t".join(row) + "\n")
    else:
        write_private_text(path, "\t".join(header) + "\n" + "\t".join(row) + "\n")


def _event_rows(events: list[dict], t0_s: float) -> tuple[list[str], list[list[str]]]:
    extra = []
    for e in events:
        for k in e:
            if k not in ("t_s", "kind", "duration_s") and k not in extra:
                extra.append(k)
    header = ["onset", "duration", "trial_type"] + [re.sub(r"\W", "_", k) for k in extra]
    rows = []
    for e in events:
        t = e.get("t_s")
        onset = "n/a" if t is None else f"{float(t) - t0_s:.6f}"
        duration = e.get("duration_s", 0.0)
        row = [onset, _fmt(float(duration)) if duration is not None else "n/a",
               str(e.get("kind", "n/a"))]
        for k in extra:
            v = to_plain(e.get(k))
            if v is None:
                row.append("n/a")
            elif isinstance(v, (dict, list)):
                row.append(json.dumps(v, separators=(",", ":"), ensure_ascii=False))
            elif isinstance(v, float):
                row.append(_fmt(v))
            else:
                row.append(str(v).replace("\t", " ").replace("\n", " "))
        rows.append(row)
    return header, rows


_UNIT_SUFFIXES = {"_deg": "deg", "_s": "s", "_hz": "Hz", "_cm": "cm", "_rad_s": "rad/s"}


def _events_sidecar(header: list[str], events: list[dict]) -> dict:
    """Column descriptions for the events file (the extra columns are Cervitrack fields)."""
    kinds = sorted({str(e.get("kind")) for e in events})
    doc = {
        "onset": {"Description": "event time since the first sample of the motion file",
                  "Units": "s"},
        "duration": {"Description": "event duration (0 for instantaneous events)",
                     "Units": "s"},
        "trial_type": {"Description": "Cervitrack event kind",
                       "Levels": {k: f"Cervitrack '{k}' event" for k in kinds}},
    }
    for column in header[3:]:
        entry = {"Description": f"Cervitrack event field '{column}'; nested values are JSON "
                                "text, n/a where an event has no such field"}
        for suffix, unit in sorted(_UNIT_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
            if column.endswith(suffix):
                entry["Units"] = unit
                break
        doc[column] = entry
    return doc


def export_bids(decoded, recording, out_dir, *, subject: str | None = None,
                session: str | None = None, task: str | None = None,
                run: int | None = None, overwrite: bool = False,
                keep_dates: bool = False) -> list[Path]:
    """Write (or add to) a BIDS-Motion dataset in ``out_dir``; return the files written.

    Args:
        decoded: :class:`~cervitrack.trainer.recording.decode.Decoded` samples.
        recording: the loaded recording (metadata, events).
        subject: subject label (letters and digits); default a pseudonym.
        session: session label, or None for no session level.
        task: task label; default the recording's ``task`` metadata, else "record".
        run: run index, or None. A motion file that exists already is overwritten only with
            ``overwrite`` (the run's other files with it).
        keep_dates: write the true acquisition time in scans.tsv; by default it is shifted
            back by the subject's secret :func:`date_shift_days` (de-identified, as BIDS allows).
            Files are created 0600 and folders 0700 (existing ones keep their mode).
    """
    samples = decoded.samples
    if not len(samples):
        raise ValueError(f"{recording.path}: no samples to export")
    meta = recording.metadata
    sub = _label(subject if subject is not None else pseudonym(recording), "subject")
    ses = _label(session, "session") if session is not None else None
    task = _label(task or meta.get("task") or "record", "task")
    out = Path(out_dir)
    subject_dir = out / f"sub-{sub}" / (f"ses-{ses}" if ses else "")
    motion_dir = subject_dir / "motion"
    prefix = f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + f"_task-{task}_tracksys-{TRACKSYS}"
    if run is not None:
        if int(run) < 1:
            raise ValueError(f"BIDS run index must be ≥ 1, not {run}")
        prefix += f"_run-{int(run)}"
    motion_tsv = motion_dir / f"{prefix}_motion.tsv"
    if motion_tsv.exists() and not overwrite:
        raise FileExistsError(f"{motion_tsv} already exists; add --force to overwrite it, "
                              "or --run N to add another run")
    make_private_dir(motion_dir)
    written = []

    description = out / "dataset_description.json"
    if not description.exists():
        write_private_text(description, json.dumps({
            "Name": "Cervitrack head-motion recordings",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "raw",
            "GeneratedBy": [{"Name": "cervitrack", "Version": cervitrack.__version__,
                             "Description": "exported from Cervitrack recordings (.cvtrec)"}],
        }, indent=2) + "\n")
        written.append(description)
    readme = out / "README"
    if not readme.exists():
        write_private_text(readme, "Head-worn IMU recordings exported by Cervitrack (BIDS-Motion).\n"
                          "Quaternions are scalar-first, sensor to world; see each "
                          "*_channels.json for the reference frames.\n")
        written.append(readme)
    participants = out / "participants.tsv"
    _append_tsv(participants, ["participant_id"], [f"sub-{sub}"])
    written.append(participants)

    rows = channels(samples, decoded.q_world_sensor)
    data = motion_array(samples, decoded.q_world_sensor)
    with open_private(motion_tsv, "w", newline="") as f:
        for row in data:
            # Latency (last column) with µs resolution whatever the duration.
            f.write("\t".join([_fmt(float(v)) for v in row[:-1]] + [f"{row[-1]:.6f}"]) + "\n")
    written.append(motion_tsv)

    channels_tsv = motion_dir / f"{prefix}_channels.tsv"
    with open_private(channels_tsv, "w", newline="") as f:
        f.write("\t".join(CHANNEL_COLUMNS) + "\n")
        for row in rows:
            f.write("\t".join(row[c] for c in CHANNEL_COLUMNS) + "\n")
    written.append(channels_tsv)

    channels_json = motion_dir / f"{prefix}_channels.json"
    write_private_text(channels_json, json.dumps({"reference_frame": {
        "LongName": "reference frame",
        "Description": "the frame each channel is expressed in",
        "Levels": {
            # No SpatialAxes: the world frame's horizontal axes have no fixed direction
            # without a magnetometer (SpatialAxes is only for data mappable to a fixed frame).
            "global": {
                "RotationRule": "right-hand",
                "Description": "world frame of the orientation estimate: right-handed, z "
                               "superior (against gravity), heading arbitrary (6-axis fusion) "
                               "or east with a magnetometer. Quaternions (head_quat_*) rotate "
                               "sensor coordinates into this frame (q_world_sensor), Hamilton "
                               "convention, scalar first.",
            },
            "local": {
                "SpatialAxes": "FLU",
                "RotationRule": "right-hand",
                "Description": "IMU sensor frame as worn on the headband: x forward "
                               "(anterior, towards the nose), y left, z up (superior)",
            },
        }}}, indent=2) + "\n")
    written.append(channels_json)

    t = samples.t_s
    duration = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["type"]] = counts.get(row["type"], 0) + 1
    device = meta.get("device") if isinstance(meta.get("device"), dict) else {}
    sidecar = {
        "TaskName": task,
        "TaskDescription": meta.get("task_description", f"Cervitrack {task} session"),
        "SamplingFrequency": float(decoded.nominal_rate_hz or 100.0),
        "TrackingSystemName": device.get("name") or "head-worn IMU",
        "Manufacturer": device.get("manufacturer", "n/a"),
        "ManufacturersModelName": device.get("model", device.get("spec", "n/a")),
        "DeviceSerialNumber": str(device.get("serial", "n/a")),
        # The equipment's (device firmware) version; Cervitrack's own is in GeneratedBy.
        "SoftwareVersions": str(meta.get("firmware") or device.get("firmware") or "n/a"),
        "TrackedPointsCount": 1,
        "MotionChannelCount": len(rows),
        "MissingValues": "n/a",
    }
    if duration > 0:
        sidecar["SamplingFrequencyEffective"] = (len(t) - 1) / duration
    for ctype, n in counts.items():
        sidecar[f"{ctype}ChannelCount"] = n
    if meta.get("instructions"):
        sidecar["Instructions"] = str(meta["instructions"])
    motion_json = motion_dir / f"{prefix}_motion.json"
    write_private_text(motion_json, json.dumps(to_plain(sidecar), indent=2, ensure_ascii=False) + "\n")
    written.append(motion_json)

    if recording.events:
        header, event_rows = _event_rows(recording.events, float(t[0]))
        events_tsv = motion_dir / f"{prefix}_events.tsv"
        with open_private(events_tsv, "w", newline="") as f:
            f.write("\t".join(header) + "\n")
            for row in event_rows:
                f.write("\t".join(row) + "\n")
        written.append(events_tsv)
        events_json = motion_dir / f"{prefix}_events.json"
        write_private_text(events_json, json.dumps(_events_sidecar(header, recording.events),
                                          indent=2, ensure_ascii=False) + "\n")
        written.append(events_json)

    scans = subject_dir / (f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + "_scans.tsv")
    _append_tsv(scans, ["filename", "acq_time"],
                [f"motion/{motion_tsv.name}",
                 _acq_time(recording, float(t[0]), 0 if keep_dates else date_shift_days(sub))])
    written.append(scans)
    return written
