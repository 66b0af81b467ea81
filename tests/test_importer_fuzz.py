"""Every file importer either loads or raises one ValueError/OSError with a one-line message
naming the file; never another exception (issue 16). Inputs: random bytes, random text, and
structured TOML/JSON documents with random keys and values."""

import json
import string
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.trainer.clinical.presets import load_file
from cervitrack.trainer.commands.process import read_raw_csv
from cervitrack.trainer.stores.calibrations import read_calibration_file
from cervitrack.trainer.training.plan import load_plan

IMPORTERS = {
    "sim.toml": load_config,
    "preset.toml": load_file,
    "plan.toml": load_plan,
    "plan.json": load_plan,
    "raw.csv": lambda p: read_raw_csv(p, use_mag=False),
    "cal.json": read_calibration_file,
}

scalars = st.one_of(st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                    st.text(max_size=12))
keys = st.sampled_from(["seed", "sensor", "link", "patient", "rate_hz", "output", "test", "title",
                        "settings", "rest_s", "trials_per_direction", "directions", "format",
                        "level", "patient", "calibration", "q_sensor_head_wxyz", "quality",
                        "device_id", "x"]) | st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(keys, inner, max_size=5), max_leaves=20)
tables = st.dictionaries(keys, documents, max_size=6)
csv_cells = st.sampled_from(["0", "1.5", "-2", "1e300", "nan", "", "x", "inf", "t_s", "9.81"])


def contents(name: str):
    raw = st.binary(max_size=300)
    text = st.text(max_size=300).map(lambda s: s.encode("utf-8"))
    if name.endswith(".toml"):
        structured = tables.map(lambda d: tomli_w.dumps(d).encode())
    elif name.endswith(".json"):
        structured = documents.map(lambda d: json.dumps(d).encode())
    else:
        header = "t_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s\n"
        structured = st.lists(st.lists(csv_cells, min_size=6, max_size=8).map(",".join),
                              max_size=12).map(lambda rows: (header + "\n".join(rows)).encode())
    return st.one_of(raw, text, structured)


def check(importer, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        importer(path)
    except (ValueError, OSError) as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        assert path.name in message, message


@pytest.mark.parametrize("name", list(IMPORTERS))
def test_every_importer_loads_or_raises_one_line_naming_the_file(tmp_path, name, monkeypatch):
    monkeypatch.setenv("CERVITRACK_HOME", str(tmp_path / "home"))
    importer = IMPORTERS[name]

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(contents(name))
    def fuzz(data):
        check(importer, tmp_path / name, data)

    fuzz()
