"""Test protocols as data: shipped and user TOML presets, validated with the key named."""

import pytest

from cervitrack.trainer.clinical import presets as protocols
from cervitrack.trainer.paths import data_dir

SHIPPED = {"jpe", "jpe-quick", "jpe-lateral", "jpe-sensitive", "jpe-manual", "thp-20", "thp-40",
           "thp-rom50", "rom", "butterfly", "butterfly-easy", "butterfly-medium", "butterfly-hard",
           "trace-figure8", "trace-zigzag"}


def test_every_shipped_preset_loads_and_builds_its_engine():
    assert SHIPPED <= set(protocols.names())
    for name in SHIPPED:
        preset = protocols.load(name)
        overrides = {"rom_deg": {d: 60.0 for d in ("rotation_left", "rotation_right", "flexion",
                                                    "extension")}} if name == "thp-rom50" else None
        engine = protocols.build_engine(preset, 100.0, overrides)
        assert preset.title and engine.settings is not None
    for kind, name in protocols.DEFAULT_PRESETS.items():
        assert protocols.load(name).test == kind


def test_quick_jpe_has_six_trials_and_says_it_is_less_reliable():
    engine = protocols.build_engine(protocols.load("jpe-quick"), 100.0)
    assert engine.settings.trials_per_direction == 6
    assert len(engine._queue) == 4 * 6
    assert "Less reliable" in protocols.load("jpe-quick").reliability_note


def test_presets_set_protocol_details_without_code():
    lateral = protocols.build_engine(protocols.load("jpe-lateral"), 100.0)
    assert "lateral_left" in lateral.settings.directions
    assert protocols.build_engine(protocols.load("jpe-sensitive"), 100.0).settings.threshold_deg == 3.5
    assert protocols.build_engine(protocols.load("thp-40"), 100.0).settings.target_for("rotation_left") == 40.0
    assert protocols.build_engine(protocols.load("butterfly-hard"), 100.0).settings.levels == ("hard",)
    assert protocols.build_engine(protocols.load("trace-zigzag"), 100.0).settings.patterns == ("zigzag",)


def test_a_user_preset_is_read_from_the_data_folder_and_can_shadow_a_shipped_one():
    folder = data_dir() / "presets"
    folder.mkdir()
    (folder / "my-butterfly.toml").write_text(
        'test = "butterfly"\ntitle = "Mine"\n[settings]\nlevels = ["easy"]\nrepetitions = 2\nradius_deg = 1.5\n')
    (folder / "jpe.toml").write_text('test = "jpe"\ntitle = "Clinic JPE"\n[settings]\ntrials_per_direction = 10\n')
    assert "my-butterfly" in protocols.names()
    engine = protocols.build_engine(protocols.load("my-butterfly"), 100.0)
    assert engine.settings.radius_deg == 1.5 and len(engine._queue) == 2
    assert protocols.load("jpe").title == "Clinic JPE"


@pytest.mark.parametrize("body, message", [
    ('test = "jpe"\ntitle = "x"\n[settings]\ntrials = 3\n', "unknown key settings.trials"),
    ('test = "jpe"\ntitle = "x"\n[settings]\ntrials_per_direction = "8"\n', "settings.trials_per_direction must be a number"),
    ('test = "jpe"\ntitle = "x"\n[settings]\ntrials_per_direction = 2.5\n', "settings.trials_per_direction must be a whole number"),
    ('test = "jpe"\ntitle = "x"\n[settings]\ntrials_per_direction = 0\n', "settings.trials_per_direction must be between 1 and 50"),
    ('test = "jpe"\ntitle = "x"\n[settings]\ndirections = ["sideways"]\n', "settings.directions has unknown name 'sideways'"),
    ('test = "jpe"\ntitle = "x"\n[settings]\nmin_amplitude_deg = {twist = 3}\n', "unknown key settings.min_amplitude_deg.twist"),
    ('test = "jpe"\ntitle = "x"\n[settings]\nthreshold_mode = "strict"\n', "settings.threshold_mode"),
    ('test = "jpe"\ntitle = "x"\n[settings]\nmarking = "voice"\n', "settings.marking"),
    ('test = "butterfly"\ntitle = "x"\n[settings]\nlevels = ["extreme"]\n', "settings.levels has unknown name 'extreme'"),
    ('test = "jpe"\ntitle = "x"\n[settings]\nstillness = 3\n', "unknown key settings.stillness"),
    ('test = "squat"\ntitle = "x"\n', "test must be one of"),
    ('test = "jpe"\n', "title is missing"),
    ('test = "jpe"\ntitle = "x"\ncolour = "red"\n', "unknown key colour"),
    ('test = "jpe"\ntitle = "x"\n[settings\n', "not valid TOML"),
])
def test_validation_errors_name_the_key(body, message):
    folder = data_dir() / "presets"
    folder.mkdir()
    (folder / "bad.toml").write_text(body)
    with pytest.raises(protocols.PresetError, match=message.replace("(", r"\(").replace("[", r"\[")) as info:
        protocols.load("bad")
    assert "bad" in str(info.value)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(protocols.PresetError, match="unknown preset 'nope'.*jpe-quick"):
        protocols.load("nope")
