"""Simulator settings: documented keys, defaults, and errors that name the key."""

import pytest

from cervitrack.firmware_bridge.sim.config import SimConfigError, config_from_dict, load_config


def test_defaults():
    cfg = load_config(None, seed=4)
    assert cfg.seed == 4
    assert cfg.sensor.rate_hz == 100.0 and cfg.sensor.output == "quaternion"
    assert cfg.link.loss_rate == 0.0


def test_documented_keys_are_accepted(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("""
seed = 9
[sensor]
rate_hz = 200
output = "raw"
mount_rpy_deg = [20, -30, 45]
gyro_noise_dps = 0.05
gyro_bias_dps = [0.1, 0.2, -0.3]
[patient]
sd_deg = 1
[patient.bias_deg]
rotation_left = 3
extension = -2
[link]
loss_rate = 0.02
jitter_ms = 8
""")
    cfg = load_config(path)
    assert cfg.seed == 9 and cfg.sensor.rate_hz == 200 and cfg.sensor.output == "raw"
    assert cfg.sensor.mount_rpy_deg == [20, -30, 45]
    assert cfg.sensor.resolved_noise()[0] == 0.05
    assert cfg.patient.bias_deg["rotation_left"] == 3 and cfg.patient.bias_deg["extension"] == -2
    assert cfg.patient.bias_deg["flexion"] == 0.9  # untouched default
    assert cfg.patient.sd_for("flexion") == 1
    assert cfg.link.loss_rate == 0.02 and cfg.link.jitter_ms == 8


def test_seed_argument_overrides_the_file():
    assert config_from_dict({"seed": 3}, seed=8).seed == 8


@pytest.mark.parametrize("data, key", [
    ({"sensor": {"rate": 100}}, "sensor.rate"),
    ({"sensor": {"output": "euler"}}, "sensor.output"),
    ({"sensor": {"mount_rpy_deg": [1, 2]}}, "sensor.mount_rpy_deg"),
    ({"sensor": {"gyro_bias_dps": [1, "a", 3]}}, "sensor.gyro_bias_dps[1]"),
    ({"patient": {"bias_deg": {"rotation_up": 1}}}, "patient.bias_deg.rotation_up"),
    ({"patient": {"sd_deg": -1}}, "patient.sd_deg"),
    ({"link": {"loss_rate": 2}}, "link.loss_rate"),
    ({"link": {"jitter_ms": True}}, "link.jitter_ms"),
    ({"colour": "red"}, "colour"),
])
def test_bad_settings_name_the_key(data, key):
    with pytest.raises(SimConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict(data)


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(SimConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sensor\n")
    with pytest.raises(SimConfigError, match="not valid TOML"):
        load_config(bad)


def test_cli_reports_a_bad_key_in_one_line(tmp_path, capsys):
    from cervitrack.trainer.cli import main

    path = tmp_path / "s.toml"
    path.write_text("[link]\nloss = 0.1\n")
    assert main(["demo", "--headless", "--sim-config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "link.loss" in err[0] and err[0].startswith("cervitrack: error:")
