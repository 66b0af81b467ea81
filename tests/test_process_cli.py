"""``cervitrack process``: raw CSV in, orientation (and head angles) out; clear errors."""

import json

import numpy as np
import pytest

from cervitrack.signal import quaternion as quat
from cervitrack.trainer.cli import main

HEADER = "t_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s"


def head_recording(rate_hz=100.0, seconds=12.0, seed=0):
    """A head-mounted sensor (mount rotated 90 deg about z) holding still for 4 s, turning 30 deg
    left over 2 s (smooth), then holding. Returns t, gyr, acc, mag and the head's true axial angle."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate_hz * seconds)) / rate_hz + rng.uniform(0, 2e-4, int(rate_hz * seconds))
    s = np.clip((t - 4.0) / 2.0, 0, 1)
    axial_deg = 30.0 * (10 * s**3 - 15 * s**4 + 6 * s**5)
    q_world_head = quat.from_axis_angle([0, 0, 1], np.radians(axial_deg))
    q_head_sensor = quat.from_axis_angle([0, 0, 1], np.radians(90.0))
    q_ws = quat.multiply(q_world_head, q_head_sensor)
    dt = np.diff(t, prepend=t[0] - 0.01)
    q_prev = quat.multiply(quat.from_axis_angle([0, 0, 1], np.radians(np.concatenate([[0.0], axial_deg[:-1]]))),
                           q_head_sensor)
    gyr = quat.to_rotvec(quat.relative(q_prev, q_ws)) / dt[:, None]
    acc = quat.rotate(quat.conjugate(q_ws), [0.0, 0.0, 9.81]) + rng.normal(0, 0.01, (len(t), 3))
    mag = quat.rotate(quat.conjugate(q_ws), [0.0, 20.0, -40.0])
    return t, gyr, acc, mag, axial_deg, q_head_sensor


def write_csv(path, columns: dict):
    names = list(columns)
    data = np.column_stack([columns[n] for n in names])
    np.savetxt(path, data, delimiter=",", header=",".join(names), comments="", fmt="%.9g")


def raw_columns(t, gyr, acc, mag=None):
    cols = {"t_s": t, "acc_x_m_s2": acc[:, 0], "acc_y_m_s2": acc[:, 1], "acc_z_m_s2": acc[:, 2],
            "gyr_x_rad_s": gyr[:, 0], "gyr_y_rad_s": gyr[:, 1], "gyr_z_rad_s": gyr[:, 2]}
    if mag is not None:
        cols.update({"mag_x_uT": mag[:, 0], "mag_y_uT": mag[:, 1], "mag_z_uT": mag[:, 2]})
    return cols


def read_csv(path):
    header = path.read_text().splitlines()[0].split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_good_file_gives_one_orientation_row_per_input_row(tmp_path):
    t, gyr, acc, _, axial, _ = head_recording()
    write_csv(tmp_path / "in.csv", raw_columns(t, gyr, acc))
    assert main(["process", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")]) == 0
    header, out = read_csv(tmp_path / "out.csv")
    assert header == ["t_s", "quat_w", "quat_x", "quat_y", "quat_z"]
    assert out.shape == (len(t), 5)
    np.testing.assert_allclose(out[:, 0], t, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out[:, 1:], axis=1), 1.0, atol=1e-8)
    turned = quat.angle_deg(quat.relative(out[0, 1:], out[-1, 1:]))
    assert turned == pytest.approx(30.0, abs=0.1)


def test_head_angles_with_a_calibration_file(tmp_path):
    t, gyr, acc, _, axial, q_head_sensor = head_recording()
    write_csv(tmp_path / "in.csv", raw_columns(t, gyr, acc))
    (tmp_path / "cal.json").write_text(json.dumps({"q_sensor_head_wxyz": quat.conjugate(q_head_sensor).tolist()}))
    code = main(["process", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv"),
                 "--calibration", str(tmp_path / "cal.json"), "--causal"])
    assert code == 0
    header, out = read_csv(tmp_path / "out.csv")
    assert header[5:] == ["axial_deg", "flexion_deg", "lateral_deg", "global_deg"]
    np.testing.assert_allclose(out[:, 5], axial, atol=0.15)
    assert np.abs(out[:, 6:8]).max() < 0.15


def test_nine_axis_with_mag_columns(tmp_path):
    t, gyr, acc, mag, _, _ = head_recording(seconds=20.0)
    write_csv(tmp_path / "in.csv", raw_columns(t, gyr, acc, mag))
    assert main(["process", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"), "--mag"]) == 0
    _, out = read_csv(tmp_path / "o.csv")
    # ENU: the sensor's x axis (head left after the 90 deg mount) ends turned 30 deg from north-west.
    x_world = quat.rotate(out[-1, 1:], [1.0, 0, 0])
    heading = np.degrees(np.arctan2(x_world[1], x_world[0]))
    assert heading == pytest.approx(90.0 + 30.0, abs=1.0)


@pytest.mark.parametrize("content, message", [
    ("t_s,acc_x_m_s2\n0,1\n", "missing columns acc_y_m_s2"),
    (HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,abc,0,0\n", "non-numeric value 'abc' at line 3"),
    (HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0\n", "line 3 has 6 values"),
    (HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n", "does not increase at line 4"),
    (HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,nan,0,0,0\n", "non-finite value at line 3"),
    (HEADER + "\n", "no data rows"),
])
def test_malformed_files_give_one_line_errors(tmp_path, capsys, content, message):
    (tmp_path / "bad.csv").write_text(content)
    assert main(["process", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cervitrack: error: ") and message in err
    assert len(err.splitlines()) == 1


def test_missing_file_and_mag_columns(tmp_path, capsys):
    assert main(["process", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "in.csv").write_text(HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n")
    assert main(["process", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"), "--mag"]) == 2
    assert "--mag needs" in capsys.readouterr().err


def test_long_files_report_progress_on_stderr(tmp_path, capsys, monkeypatch):
    from cervitrack.trainer.commands import process

    monkeypatch.setattr(process, "PROGRESS_MIN_ROWS", 100)
    monkeypatch.setattr(process, "_WRITE_BLOCK", 500)
    t, gyr, acc, _, _, _ = head_recording()
    write_csv(tmp_path / "in.csv", raw_columns(t, gyr, acc))
    assert main(["process", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    assert "read 1200 rows" in err and "written 100%" in err and "written 41%" in err
