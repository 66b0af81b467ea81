"""Exports: BIDS-Motion (names validated by bidsschematools, column rules, read back), tidy
CSV (the columns `cervitrack process` reads), OpenSim .sto; `cervitrack inspect` and `export`."""

import csv
import json
import re

import numpy as np
import pytest

from cervitrack.firmware_bridge.protocols.reference import encode_samples
from cervitrack.signal.samples import Chunk, Gap
from cervitrack.trainer.cli import main
from cervitrack.trainer.recording.decode import decode_recording
from cervitrack.trainer.recording.reader import load
from cervitrack.trainer.recording.writer import Recorder

N = 600
FRAME_BYTES = 34  # OHT/1 type 0x02


@pytest.fixture
def recording(tmp_path):
    """6 s of OHT/1 frames at 100 Hz in chunks of 3, one gap, three events."""
    seq = np.arange(N)
    angle = np.radians(30) * np.sin(seq / 100.0)
    quat = np.stack([np.cos(angle / 2), np.zeros(N), np.zeros(N), np.sin(angle / 2)], axis=1)
    gyr = np.stack([np.zeros(N), np.zeros(N), np.radians(30) * np.cos(seq / 100.0)], axis=1)
    acc = np.tile([0.1, -0.2, 9.81], (N, 1))
    data = encode_samples(seq, seq * 10_000, quat, gyr, acc)
    path = tmp_path / "session.cvtrec"
    with Recorder(path, {"protocol": "reference", "device": {"spec": "synthetic"},
                         "task": "jpe", "host_clock": "simulated"}) as rec:
        for i in range(0, N, 3):
            if i == 300:
                rec.write(Gap(1000.0 + i / 100, "stall", 0))
            rec.write(Chunk(1000.0 + (i + 2) / 100 + 0.004, data[i * FRAME_BYTES:
                                                               (i + 3) * FRAME_BYTES]))
        rec.write({"t_s": 1001.0, "kind": "prompt", "text": "turn left"})
        rec.write({"t_s": 1002.5, "kind": "trial", "target_deg": 30.0, "error_deg": 2.5,
                   "duration_s": 1.5})
        rec.write({"t_s": 1004.0, "kind": "mark"})
    return path


def test_decode_gives_every_frame(recording):
    decoded = decode_recording(load(recording))
    s = decoded.samples
    assert len(s) == N and s.seq.tolist() == list(range(N))
    assert np.all(np.diff(s.t_s) > 0)
    assert s.quat_wxyz.shape == (N, 4) and s.gyr_rad_s.shape == (N, 3)


def test_bids_names_validate_and_columns_follow_the_rules(recording, tmp_path):
    from bidsschematools import validator

    out = tmp_path / "bids"
    assert main(["export", str(recording), "--to", "bids", "--out", str(out)]) == 0
    result = validator.validate_bids(str(out))
    assert result["path_tracking"] == []  # every file name matches the BIDS schema
    assert len(result["path_listing"]) == 10

    (sub_dir,) = out.glob("sub-*")
    assert re.fullmatch(r"sub-[0-9a-f]{10}", sub_dir.name)  # pseudonymous by default
    motion_tsv = next(sub_dir.glob("motion/*_motion.tsv"))
    prefix = motion_tsv.name[: -len("_motion.tsv")]
    assert prefix.endswith("_task-jpe_tracksys-headimu")

    # channels.tsv: required columns first, in order; allowed types/components; units.
    with open(sub_dir / "motion" / f"{prefix}_channels.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    with open(sub_dir / "motion" / f"{prefix}_channels.tsv") as f:
        header = f.readline().rstrip("\n").split("\t")
    assert header[:5] == ["name", "component", "type", "tracked_point", "units"]
    allowed_types = {"ACCEL", "ANGACCEL", "GYRO", "JNTANG", "LATENCY", "MAGN", "MISC", "ORNT",
                     "POS", "VEL"}
    allowed_components = {"x", "y", "z", "quat_x", "quat_y", "quat_z", "quat_w", "n/a"}
    assert all(r["type"] in allowed_types for r in rows)
    assert all(r["component"] in allowed_components for r in rows)
    by_type = {}
    for r in rows:
        by_type.setdefault(r["type"], []).append(r)
    assert [r["component"] for r in by_type["ORNT"]] == ["quat_w", "quat_x", "quat_y", "quat_z"]
    assert {r["units"] for r in by_type["ORNT"]} == {"n/a"}
    assert {r["units"] for r in by_type["GYRO"]} == {"rad/s"}
    assert {r["units"] for r in by_type["ACCEL"]} == {"m/s^2"}
    assert [r["units"] for r in by_type["LATENCY"]] == ["s"]
    assert "MAGN" not in by_type  # the protocol carries no magnetometer

    # motion.tsv: no header row, one column per channel row, n/a for missing values.
    data = np.loadtxt(motion_tsv, delimiter="\t")
    assert data.shape == (N, len(rows))
    with open(motion_tsv) as f:
        first = f.readline().split("\t")
    assert all(re.fullmatch(r"[-+0-9.eE]+|n/a", v.strip()) for v in first)

    sidecar = json.loads((sub_dir / "motion" / f"{prefix}_motion.json").read_text())
    assert sidecar["TaskName"] == "jpe" and sidecar["SamplingFrequency"] == 100.0
    assert sidecar["MotionChannelCount"] == len(rows)
    assert sidecar["ORNTChannelCount"] == 4 and sidecar["GYROChannelCount"] == 3
    assert sidecar["ACCELChannelCount"] == 3 and sidecar["LATENCYChannelCount"] == 1
    assert sidecar["SamplingFrequencyEffective"] == pytest.approx(100.0, rel=1e-3)

    frames = json.loads((sub_dir / "motion" / f"{prefix}_channels.json").read_text())
    levels = frames["reference_frame"]["Levels"]
    assert set(levels) == {"global", "local"} and levels["local"]["SpatialAxes"] == "FLU"
    assert {r["reference_frame"] for r in by_type["ORNT"]} == {"global"}

    with open(sub_dir / "motion" / f"{prefix}_events.tsv", newline="") as f:
        events = list(csv.DictReader(f, delimiter="\t"))
    assert [e["trial_type"] for e in events] == ["prompt", "trial", "mark"]
    assert list(events[0])[:3] == ["onset", "duration", "trial_type"]
    assert events[1]["target_deg"] == "30" and events[1]["duration"] == "1.5"

    with open(next(sub_dir.glob("*_scans.tsv")), newline="") as f:
        (scan,) = list(csv.DictReader(f, delimiter="\t"))
    assert scan["filename"] == f"motion/{motion_tsv.name}"
    # De-identified by default: whole seconds, the date shifted to 1925 or earlier (BIDS).
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", scan["acq_time"])
    assert int(scan["acq_time"][:4]) <= 1925
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "raw" and "BIDSVersion" in description
    assert (out / "participants.tsv").read_text().splitlines() == [
        "participant_id", sub_dir.name]

    # Read back: the columns are the recorded samples.
    decoded = decode_recording(load(recording)).samples
    names = [r["name"] for r in rows]
    cols = {name: data[:, i] for i, name in enumerate(names)}
    for i, c in enumerate("wxyz"):
        assert np.allclose(cols[f"head_quat_{c}"], decoded.quat_wxyz[:, i], atol=1e-8)
    for i, c in enumerate("xyz"):
        assert np.allclose(cols[f"head_gyro_{c}"], decoded.gyr_rad_s[:, i], atol=1e-8)
        assert np.allclose(cols[f"head_acc_{c}"], decoded.acc_m_s2[:, i], atol=1e-8)
    assert np.allclose(cols["latency"], decoded.t_s - decoded.t_s[0], atol=1e-6)


def test_bids_files_follow_the_schema_rules(recording, tmp_path):
    """Sidecar keys, channel columns and channel values against bidsschematools' own schema."""
    from bidsschematools.schema import load_schema

    schema = load_schema()
    out = tmp_path / "bids"
    assert main(["export", str(recording), "--to", "bids", "--out", str(out)]) == 0
    motion_json = next(out.glob("sub-*/motion/*_motion.json"))
    sidecar = json.loads(motion_json.read_text())
    fields = {}
    for group in schema.rules.sidecars.motion.values():
        for key, level in group["fields"].items():
            fields[key] = level if isinstance(level, str) else level["level"]
    assert set(sidecar) <= set(fields), set(sidecar) - set(fields)
    assert {k for k, v in fields.items() if v == "required"} <= set(sidecar)
    assert "deprecated" not in {fields[k] for k in sidecar}
    metadata = schema.objects.metadata
    for key, value in sidecar.items():
        kind = metadata[key].get("type")
        if kind == "number":
            assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        elif kind == "integer":
            assert isinstance(value, int), key
        elif kind == "string":
            assert isinstance(value, str), key

    rule = schema.rules.tabular_data.motion.motionChannels
    channels_tsv = next(out.glob("sub-*/motion/*_channels.tsv"))
    header = channels_tsv.read_text().splitlines()[0].split("\t")
    columns = schema.objects.columns
    names = [columns[c]["name"] for c in rule["initial_columns"]]
    assert header[: len(names)] == names
    allowed = {columns[c]["name"]: level for c, level in rule["columns"].items()}
    assert set(header) <= set(allowed)
    assert {c for c, level in allowed.items() if level == "required"} <= set(header)
    with open(channels_tsv, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    types = set(columns["type__channels"]["definition"]["enum"]) if "definition" in \
        columns["type__channels"] else None
    components = columns["component"]["enum"] if "enum" in columns["component"] else \
        columns["component"]["definition"]["enum"]
    component_values = {c["value"] if isinstance(c, dict) else c for c in components}
    # "n/a" is BIDS' missing-value marker in every TSV column (the LATENCY channel has no
    # spatial component, as in the spec's own motion examples).
    assert {r["component"] for r in rows if r["type"] != "LATENCY"} <= component_values
    assert [r["component"] for r in rows if r["type"] == "LATENCY"] == ["n/a"]
    if types is not None:
        assert {r["type"] for r in rows} <= {t["value"] if isinstance(t, dict) else t
                                              for t in types}
    levels = json.loads(next(out.glob("sub-*/motion/*_channels.json")).read_text())[
        "reference_frame"]["Levels"]
    for level in levels.values():
        assert set(level) <= {"SpatialAxes", "RotationRule", "RotationOrder", "Description"}
        assert level.get("RotationRule", "n/a") in metadata["RotationRule"]["enum"]
        axes = level.get("SpatialAxes", "FLU")
        assert len(axes) == 3 and set(axes) <= set("FBLRUD_")


def test_bids_subject_option_run_and_no_overwrite(recording, tmp_path, capsys):
    out = tmp_path / "bids"
    args = ["export", str(recording), "--to", "bids", "--out", str(out), "--subject", "p07",
            "--session", "1"]
    assert main(args) == 0
    assert (out / "sub-p07" / "ses-1" / "motion").is_dir()
    assert main(args) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--run", "2"]) == 0
    scans = (out / "sub-p07" / "ses-1" / "sub-p07_ses-1_scans.tsv").read_text().splitlines()
    assert len(scans) == 3 and "_run-2_motion.tsv" in scans[2]
    assert main(args[:-4] + ["--subject", "bad-label"]) == 2


def test_pseudonym_is_stable_per_subject(recording, tmp_path):
    from cervitrack.trainer.recording.export_bids import pseudonym

    rec = load(recording)
    assert pseudonym(rec) == pseudonym(rec)
    rec.metadata["subject"] = "Jane Doe"
    other = load(recording)
    other.metadata["subject"] = "Jane Doe"
    other.metadata["recording_id"] = "another"
    assert pseudonym(rec) == pseudonym(other)
    assert "jane" not in pseudonym(rec).lower()


def test_csv_has_the_process_columns_with_units(recording, tmp_path):
    out = tmp_path / "csv"
    assert main(["export", str(recording), "--to", "csv", "--out", str(out)]) == 0
    with open(out / "session.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    assert header[:7] == ["t_s", "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2", "gyr_x_rad_s",
                          "gyr_y_rad_s", "gyr_z_rad_s"]
    assert header[7:] == ["seq", "t_device_s", "t_host_s", "quat_w", "quat_x", "quat_y",
                          "quat_z", "status"]
    assert len(rows) == N
    table = np.array(rows, dtype=float)
    decoded = decode_recording(load(recording)).samples
    assert np.allclose(table[:, 0], decoded.t_s, atol=1e-6)
    assert np.allclose(table[:, 1:4], decoded.acc_m_s2, atol=1e-7)
    assert table[:, 7].astype(int).tolist() == list(range(N))
    assert np.allclose(table[:, 10:14], decoded.quat_wxyz, atol=1e-7)
    with open(out / "session_events.csv", newline="") as f:
        events = list(csv.DictReader(f))
    assert [e["kind"] for e in events] == ["prompt", "trial", "mark"]
    assert json.loads(events[1]["data_json"])["target_deg"] == 30.0
    sidecar = json.loads((out / "session.json").read_text())
    assert sidecar["Protocol"] == "reference" and sidecar["Integrity"]["status"] == "ok"


def test_sto_is_an_opensim_quaternion_table(recording, tmp_path):
    out = tmp_path / "sto"
    assert main(["export", str(recording), "--to", "sto", "--out", str(out)]) == 0
    lines = (out / "session_orientations.sto").read_text().splitlines()
    end = lines.index("endheader")
    assert lines[:end] == ["DataRate=100.000000", "DataType=Quaternion", "version=3",
                           "OpenSimVersion=4.5"]
    assert lines[end + 1] == "time\thead_imu"
    body = lines[end + 2:]
    assert len(body) == N
    t0, cell = body[0].split("\t")
    assert float(t0) == 0.0 and len(cell.split(",")) == 4
    times = np.array([float(line.split("\t")[0]) for line in body])
    quats = np.array([[float(v) for v in line.split("\t")[1].split(",")] for line in body])
    assert np.all(np.diff(times) > 0)
    assert np.allclose(np.linalg.norm(quats, axis=1), 1.0, atol=1e-6)
    decoded = decode_recording(load(recording)).samples
    assert np.allclose(quats, decoded.quat_wxyz, atol=1e-7)  # scalar first


def test_inspect_reports_and_tolerates_damage(recording, tmp_path, capsys):
    assert main(["inspect", str(recording), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == N and report["integrity"]["status"] == "ok"
    assert report["integrity"]["closed"] and report["events"] == 3
    assert report["gaps"] == 1 and report["gap_reasons"] == {"stall": 1}
    assert report["duration_s"] == pytest.approx((N - 1) / 100.0)
    assert report["rate_hz"] == pytest.approx(100.0)
    cut = tmp_path / "cut.cvtrec"
    data = recording.read_bytes()
    cut.write_bytes(data[: len(data) // 2 + 5])
    assert main(["inspect", str(cut), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["integrity"]["status"] == "truncated" and not report["integrity"]["closed"]
    assert report["integrity"]["truncated_at"] + report["integrity"]["truncated_bytes"] \
        == len(data) // 2 + 5
    assert 0 < report["samples"] < N
    assert main(["inspect", str(cut)]) == 0
    assert "truncated tail at byte" in capsys.readouterr().out


def test_bad_paths_are_one_line_errors(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a recording")
    for argv in (["inspect", str(tmp_path / "missing.cvtrec")], ["inspect", str(text)],
                 ["inspect", str(tmp_path)],
                 ["export", str(text), "--to", "csv", "--out", str(tmp_path / "o")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("cervitrack: error: ") and err.count("\n") == 1


def test_recordings_of_decoded_samples_inspect_and_export(tmp_path, capsys):
    """Sources without raw bytes record SampleBatch records; exports use them as recorded."""
    from cervitrack.signal.samples import SampleBatch

    path = tmp_path / "samples.cvtrec"
    n = 250
    t = 10.0 + np.arange(n) / 50.0
    with Recorder(path, {"nominal_rate_hz": 50.0, "device": {"spec": "csv"}}) as rec:
        for i in range(0, n, 50):
            sl = slice(i, i + 50)
            rec.write(SampleBatch.build(np.arange(n)[sl], t_device_s=t[sl] - 10.0, t_s=t[sl],
                                        t_host_s=t[sl] + 0.01,
                                        gyr_rad_s=np.ones((50, 3)) * 0.1,
                                        acc_m_s2=np.tile([0, 0, 9.81], (50, 1)),
                                        mag_uT=np.tile([20.0, 0, -40.0], (50, 1))))
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == n and report["rate_hz"] == pytest.approx(50.0)
    out = tmp_path / "csv"
    assert main(["export", str(path), "--to", "csv", "--out", str(out)]) == 0
    header = (out / "samples.csv").read_text().splitlines()[0].split(",")
    assert header[7:10] == ["mag_x_uT", "mag_y_uT", "mag_z_uT"]
    table = np.genfromtxt(out / "samples.csv", delimiter=",", skip_header=1)
    assert np.allclose(table[:, 0], t) and np.isnan(table[:, header.index("quat_w")]).all()
    bids = tmp_path / "bids"
    assert main(["export", str(path), "--to", "bids", "--out", str(bids)]) == 0
    rows = next(bids.glob("sub-*/motion/*_channels.tsv")).read_text().splitlines()
    types = [r.split("\t")[2] for r in rows[1:]]
    assert types == ["GYRO"] * 3 + ["ACCEL"] * 3 + ["MAGN"] * 3 + ["LATENCY"]
    assert "\tuT\t" in rows[7]
    capsys.readouterr()
    assert main(["export", str(path), "--to", "sto", "--out", str(tmp_path / "sto")]) == 2
    assert "no orientation" in capsys.readouterr().err
