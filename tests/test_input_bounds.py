"""Every input bounded and named (issue 16): the installed ``cervitrack`` command refuses a bad
input with one line naming the option or the file, before anything is allocated or run."""

import json
import os
import subprocess
from pathlib import Path

import pytest

CERVITRACK = str(Path(__file__).parents[1] / ".venv" / "bin" / "cervitrack")
if not Path(CERVITRACK).exists():  # pragma: no cover - run from another environment
    import shutil
    CERVITRACK = shutil.which("cervitrack") or CERVITRACK

RAW_HEADER = "t_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s\n"


def cervitrack(tmp_path, *argv, timeout=120):
    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([CERVITRACK, *map(str, argv)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=timeout)


def one_error(result) -> str:
    """The single error line (and that it is the only output on stderr, with no traceback)."""
    assert result.returncode != 0, result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("cervitrack: error: "), result.stderr
    return lines[0]


def raw_csv(path: Path, n: int = 600, big_row: int | None = None, prefix: bytes = b"") -> Path:
    rows = [RAW_HEADER]
    for i in range(n):
        g = "1e300" if i == big_row else "0.001"
        rows.append(f"{i / 100:.2f},0,0,9.81,{g},0,0\n")
    path.write_bytes(prefix + "".join(rows).encode())
    return path


def test_demo_with_a_billion_trials_is_refused_naming_the_option_and_the_cap(tmp_path):
    line = one_error(cervitrack(tmp_path, "demo", "--headless", "--trials", 1_000_000_000))
    assert "--trials must be between 1 and 50" in line


@pytest.mark.parametrize("kind,cap", [("jpe", 50), ("butterfly", 20)])
def test_test_trials_beyond_the_preset_cap_is_refused(tmp_path, kind, cap):
    line = one_error(cervitrack(tmp_path, "test", kind, "--device", "sim", "--trials", cap + 1))
    assert f"--trials must be between 1 and {cap}" in line


def test_negative_seed_names_the_option(tmp_path):
    assert "--seed" in one_error(cervitrack(tmp_path, "demo", "--headless", "--seed", -1))


def test_record_duration_is_capped(tmp_path):
    line = one_error(cervitrack(tmp_path, "record", "--device", "sim", "--fast", "--duration", "1e300",
                                "--out", tmp_path / "x.cvtrec"))
    assert "--duration" in line and "86400" in line
    assert not (tmp_path / "x.cvtrec").exists()


@pytest.mark.parametrize("toml,words", [
    ("[link]\ndisconnect_every_s = 2\ndisconnect_s = 60\n", "link.disconnect_every_s"),
    ("[link]\ndisconnect_every_s = 20\ndisconnect_s = 60\n", "down more than 25%"),
    ('[sensor]\noutput = "raw"\ngyro_bias_dps = [50, 50, 50]\n', "never sees the head still"),
])
def test_simulator_settings_that_cannot_finish_are_refused_up_front_with_the_reason(tmp_path, toml, words):
    cfg = tmp_path / "sim.toml"
    cfg.write_text(toml)
    line = one_error(cervitrack(tmp_path, "demo", "--headless", "--sim-config", cfg))
    assert str(cfg.name) in line and words in line
    assert "did not finish" not in line


def test_preset_with_an_endless_rest_is_refused_naming_the_key(tmp_path):
    folder = tmp_path / "home" / "presets"
    folder.mkdir(parents=True)
    (folder / "endless.toml").write_text('test = "jpe"\ntitle = "Endless"\n[settings]\nrest_s = 1e300\n')
    line = one_error(cervitrack(tmp_path, "test", "jpe", "--device", "sim", "--preset", "endless"))
    assert "settings.rest_s must be between 0.5 and 60" in line and "endless.toml" in line


def test_every_numeric_preset_setting_has_a_range():
    import dataclasses

    from cervitrack.trainer.clinical import presets

    for kind, (_, settings_cls) in presets.engines().items():
        for f in dataclasses.fields(settings_cls):
            if f.name not in presets.NOT_IN_PRESETS and str(f.type) in ("int", "float", "float | None", "dict"):
                assert f.name in presets.RANGES, (kind, f.name)


def test_non_utf8_files_name_the_file_and_the_byte(tmp_path):
    bad = "title = \"caf\xe9\"\n".encode("latin-1")
    (tmp_path / "sim.toml").write_bytes(b"seed = 3\n# " + bad)
    line = one_error(cervitrack(tmp_path, "demo", "--headless", "--sim-config", "sim.toml"))
    assert line.endswith("sim.toml: not UTF-8 text (byte 23)")
    (tmp_path / "plan.toml").write_bytes(bad)
    assert "plan.toml: not UTF-8 text (byte 12)" in one_error(
        cervitrack(tmp_path, "train-plan", "import", "plan.toml"))
    raw_csv(tmp_path / "raw.csv", prefix=b"")
    (tmp_path / "cal.json").write_bytes(b'{"a": "\xff"}')
    assert "cal.json: not UTF-8 text (byte 7)" in one_error(
        cervitrack(tmp_path, "process", "raw.csv", "--out", "out.csv", "--calibration", "cal.json"))
    (tmp_path / "raw2.csv").write_bytes(RAW_HEADER.encode() + b"0,0,0,9.81,0,0,\xff\n")
    assert "raw2.csv: not UTF-8 text (byte" in one_error(cervitrack(tmp_path, "process", "raw2.csv", "--out", "o.csv"))
    folder = tmp_path / "home" / "presets"
    folder.mkdir(parents=True)
    (folder / "latin.toml").write_bytes(b'test = "jpe"\n' + bad)
    line = one_error(cervitrack(tmp_path, "test", "jpe", "--device", "sim", "--preset", "latin"))
    assert "latin.toml: not UTF-8 text (byte 25)" in line


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    raw_csv(tmp_path / "bom.csv", prefix=b"\xef\xbb\xbf")
    result = cervitrack(tmp_path, "process", "bom.csv", "--out", "out.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.csv").read_text().startswith("t_s,quat_w")


def test_one_bad_user_preset_does_not_stop_the_app(tmp_path):
    folder = tmp_path / "home" / "presets"
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text("test = [")
    result = cervitrack(tmp_path, "app", "--device", "sim", "--screenshot", tmp_path / "shot.png",
                        "--view", "wall",
                        timeout=300)
    assert result.returncode == 0, result.stderr
    assert "cervitrack: warning: skipped preset" in result.stderr and "broken.toml" in result.stderr
    assert (tmp_path / "shot.png").stat().st_size > 0


def test_calibration_list_survives_a_file_holding_a_list(tmp_path):
    folder = tmp_path / "home" / "calibrations"
    folder.mkdir(parents=True)
    (folder / "odd.json").write_text("[1, 2]")
    result = cervitrack(tmp_path, "calibration", "list")
    assert result.returncode == 0, result.stderr
    assert "unreadable" in result.stdout and "odd.json" in result.stdout


@pytest.mark.parametrize("suffix,text", [(".json", "[" * 100_000 + "]" * 100_000),
                                         (".toml", "a = " + "[" * 100_000 + "]" * 100_000)])
def test_deeply_nested_plan_does_not_crash_import(tmp_path, suffix, text):
    (tmp_path / f"deep{suffix}").write_text(text)
    line = one_error(cervitrack(tmp_path, "train-plan", "import", f"deep{suffix}"))
    assert f"deep{suffix}" in line


def test_process_refuses_to_write_over_its_own_input(tmp_path):
    raw = raw_csv(tmp_path / "raw.csv")
    before = raw.read_bytes()
    line = one_error(cervitrack(tmp_path, "process", "raw.csv", "--out", "./raw.csv"))
    assert "own input" in line
    assert raw.read_bytes() == before


def test_extreme_finite_gyro_reading_is_an_error_naming_its_row_not_nan_output(tmp_path):
    raw_csv(tmp_path / "raw.csv", big_row=300)
    line = one_error(cervitrack(tmp_path, "process", "raw.csv", "--out", "out.csv"))
    assert "raw.csv: line 302" in line and "not finite" in line
    assert not (tmp_path / "out.csv").exists()


def test_process_recording_never_returns_nan_for_finite_input():
    import numpy as np

    from cervitrack.trainer.live.pipeline import NonFiniteResult, process_recording

    t = np.arange(400) / 100.0
    gyr = np.full((400, 3), 1e-3)
    gyr[123, 0] = 1e300
    acc = np.tile([0.0, 0.0, 9.81], (400, 1))
    with pytest.raises(NonFiniteResult) as info:
        process_recording(t, gyr, acc)
    assert info.value.index == 123


def test_sim_config_json_of_every_preset_stays_loadable():
    from cervitrack.trainer.clinical import presets

    found, problems = presets.load_available()
    assert not problems and {p.name for p in found} >= set(presets.DEFAULT_PRESETS.values())
    assert json.dumps([p.as_dict() for p in found])


def test_an_output_never_replaces_a_store_or_a_recording_even_with_force(tmp_path):
    """`report --out` and `train-progress --out` pointed at the sessions store, the training
    history or a raw recording: one error line, and the file is as it was."""
    assert cervitrack(tmp_path, "test", "rom", "--device", "sim", "--trials", 1, "--seed", 1).returncode == 0
    assert cervitrack(tmp_path, "train", "--device", "sim", "--simulate-days", 1, "--seed", 1).returncode == 0
    assert cervitrack(tmp_path, "record", "--device", "sim", "--duration", 1, "--out", "raw.cvtrec").returncode == 0
    home = tmp_path / "home"
    for argv, target, what in (
            (["report", 1, "--out"], home / "sessions.sqlite3", "a database"),
            (["train-progress", "--sim", "--out"], home / "training-sim.db", "a database"),
            (["report", 1, "--out"], tmp_path / "raw.cvtrec", "a raw recording")):
        before = target.read_bytes()
        line = one_error(cervitrack(tmp_path, *argv, target, "--force"))
        assert line == f"cervitrack: error: {target} is {what}" + line.split(what, 1)[1]
        assert "choose another file" in line and target.read_bytes() == before
    assert cervitrack(tmp_path, "sessions", "--simulated", "--json").returncode == 0  # the store still reads
