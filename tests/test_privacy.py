"""Private by default, everywhere (issue 16): every file Cervitrack writes that holds health data
is created 0600 and every folder it creates 0700, under a permissive umask (022); folders and
files it did not create keep their mode. BIDS dates are de-identified by default; the CSV
sidecar carries no host platform, recording id or creation time unless asked."""

import csv
import datetime as dt
import json
import os
import stat
import subprocess
from pathlib import Path

CERVITRACK = str(Path(__file__).parents[1] / ".venv" / "bin" / "cervitrack")
if not Path(CERVITRACK).exists():  # pragma: no cover - run from another environment
    import shutil
    CERVITRACK = shutil.which("cervitrack") or CERVITRACK


def run(tmp_path, *argv):
    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([CERVITRACK, *map(str, argv)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600, preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, (argv, result.stderr)
    return result


def test_every_file_created_by_a_full_set_is_0600_and_every_folder_0700(tmp_path):
    shared = tmp_path / "shared"  # a folder we did not create: keeps its mode
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    run(tmp_path, "test", "jpe", "--device", "sim", "--trials", 1, "--seed", 2, "--record", "rec.cvtrec")
    run(tmp_path, "report", 1, "--out", shared / "report.html")
    run(tmp_path, "report", 1, "--out", shared / "report.pdf")
    for kind in ("bids", "csv", "sto"):
        run(tmp_path, "export", "rec.cvtrec", "--to", kind, "--out", shared / "exports" / kind)
    run(tmp_path, "train", "--device", "sim", "--headless", "--simulate-days", 1,
        "--progress-png", shared / "sim-progress.png")
    run(tmp_path, "train-plan", "export", "--out", shared / "plan.toml")
    run(tmp_path, "train-progress", "--sim", "--out", shared / "progress.png")
    (tmp_path / "raw.csv").write_text(
        "t_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s\n"
        + "".join(f"{i / 100:.2f},0,0,9.81,0.001,0,0\n" for i in range(300)))
    run(tmp_path, "process", "raw.csv", "--out", shared / "processed.csv")

    created = [p for root in (tmp_path / "home", shared) for p in root.rglob("*")]
    created.append(tmp_path / "rec.cvtrec")
    assert len([p for p in created if p.is_file()]) >= 15
    wrong = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in created
             if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert not wrong, wrong
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # not ours: untouched

    # De-identified by default: BIDS acquisition times shifted to 1925 or earlier, whole seconds.
    scans = next((shared / "exports" / "bids").rglob("*_scans.tsv"))
    rows = list(csv.DictReader(scans.open(), delimiter="\t"))
    acq = dt.datetime.fromisoformat(rows[0]["acq_time"])
    assert acq.year <= 1925 and acq.microsecond == 0 and "." not in rows[0]["acq_time"]
    sidecar = json.loads(next((shared / "exports" / "csv").glob("*.json")).read_text())
    text = json.dumps(sidecar["Metadata"])
    assert "platform" not in text and "created_utc" not in text and "recording_id" not in text


def test_bids_keep_dates_keeps_the_true_acquisition_time(tmp_path):
    run(tmp_path, "record", "--device", "sim", "--fast", "--duration", 3, "--out", "rec.cvtrec")
    run(tmp_path, "export", "rec.cvtrec", "--to", "bids", "--out", "bids", "--keep-dates")
    scans = next((tmp_path / "bids").rglob("*_scans.tsv"))
    acq = dt.datetime.fromisoformat(list(csv.DictReader(scans.open(), delimiter="\t"))[0]["acq_time"])
    assert acq.year >= 2024
    run(tmp_path, "export", "rec.cvtrec", "--to", "csv", "--out", "csv", "--keep-dates")
    assert "recording_id" in json.loads(next((tmp_path / "csv").glob("*.json")).read_text())["Metadata"]


def test_date_shift_is_per_subject_and_keeps_relative_timing(tmp_path, monkeypatch):
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path))
    from cervitrack.trainer.recording.export_bids import date_shift_days

    a, b = date_shift_days("alpha"), date_shift_days("beta")
    assert a == date_shift_days("alpha")  # every recording of a subject moves alike
    assert a != b and min(a, b) >= 40_000
