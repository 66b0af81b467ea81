"""Test protocols as data: TOML presets, validated into an engine's settings.

A preset is a TOML file named ``NAME.toml``::

    test = "jpe"                       # jpe | thp | rom | butterfly | trace
    title = "JPE, neutral head position, 8 trials per direction"
    description = "..."                # optional
    reliability_note = "..."           # optional: shown with the results (e.g. quick mode)
    [settings]                         # any field of the test's settings dataclass
    trials_per_direction = 8
    directions = ["rotation_left", "rotation_right", "flexion", "extension"]

The shipped presets live beside this module; a user's own presets are read from
``<data dir>/presets/*.toml`` (:func:`cervitrack.trainer.paths.data_dir`) and take precedence
over a shipped preset of the same name. ``threshold_mode = "sensitive"`` in ``[settings]`` sets
the 3.5° flag threshold (:mod:`cervitrack.trainer.clinical.scoring`). Validation errors raise
:class:`PresetError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent
#: The preset a test runs when none is named.
DEFAULT_PRESETS = {"jpe": "jpe", "thp": "thp-20", "rom": "rom", "butterfly": "butterfly",
                   "trace": "trace-figure8"}
#: (lowest, highest) accepted value of numeric settings; other numbers must be ≥ 0.
RANGES = {
    "trials_per_direction": (1, 50), "repetitions": (1, 20), "max_redos_per_direction": (0, 20),
    "threshold_deg": (0.5, 20), "target_deg": (1, 80), "target_rom_share": (0.05, 1.0),
    "tolerance_deg": (0.2, 10), "progress_capture_deg": (0.5, 20), "duration_s": (5, 300), "ramp_s": (0.5, 10),
    "radius_deg": (0.1, 20), "band_deg": (0.1, 10), "width_deg": (2, 60), "height_deg": (2, 40),
    "teeth": (1, 10), "amplitude_scale": (0.1, 3), "speed_scale": (0.1, 3),
    "distance_cm": (30, 500), "max_time_s": (5, 600), "recenter_tolerance_deg": (1, 45),
    # Durations and the remaining counts: every number a preset sets has a range, so no preset
    # can ask for a test that cannot end (rest_s = 1e300) or a count nothing can run.
    "rest_s": (0.5, 60), "rest_start_s": (0.5, 60), "recenter_min_s": (0.2, 30),
    "hold_s": (0.1, 10), "move_timeout_s": (2, 120), "return_timeout_s": (2, 120),
    "memorise_s": (0.5, 30), "adjust_wait_s": (0.2, 10), "countdown_s": (0, 30),
    "min_departure_s": (0, 5), "max_calibration_attempts": (1, 10), "max_adjustments": (0, 50),
    "calibration_motion_deg": (1, 45), "min_window_fill": (0.1, 1), "settle_range_deg": (0.05, 10),
    "search_back_deg": (0.1, 45), "search_ahead_deg": (0.1, 90), "min_amplitude_deg": (1, 80),
    # A lost signal: no sample for this long pauses the trial (Cervitrack default 0.5 s).
    "signal_lost_s": (0.1, 10),
}
#: Settings that presets cannot set (they come from elsewhere).
NOT_IN_PRESETS = {"stillness", "rom_deg"}
TOP_KEYS = ("test", "title", "description", "reliability_note", "settings")


class PresetError(ValueError):
    """A bad preset; the message names the file and the key."""


@dataclass(frozen=True)
class Preset:
    name: str
    test: str
    title: str
    description: str
    reliability_note: str
    settings: dict
    path: Path

    def as_dict(self) -> dict:
        return {"name": self.name, "test": self.test, "title": self.title,
                "description": self.description, "reliability_note": self.reliability_note,
                "settings": self.settings, "path": str(self.path)}


def engines() -> dict:
    """Test kind → (engine class, settings class)."""
    from cervitrack.trainer.clinical.butterfly import ButterflySettings, ButterflyTest
    from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
    from cervitrack.trainer.clinical.rom import RomSettings, RomTest
    from cervitrack.trainer.clinical.thp import ThpSettings, ThpTest
    from cervitrack.trainer.clinical.tracing import TraceSettings, TraceTest

    return {"jpe": (JpeTest, JpeSettings), "thp": (ThpTest, ThpSettings),
            "rom": (RomTest, RomSettings), "butterfly": (ButterflyTest, ButterflySettings),
            "trace": (TraceTest, TraceSettings)}


def user_dir() -> Path:
    from cervitrack.trainer.paths import data_dir

    return data_dir() / "presets"


def _files() -> dict[str, Path]:
    files = {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.toml"))}
    udir = user_dir()
    if udir.is_dir():
        files.update({p.stem: p for p in sorted(udir.glob("*.toml"))})
    return files


def names() -> list[str]:
    """Every available preset name (shipped and the user's)."""
    return sorted(_files())


def load_available() -> tuple[list[Preset], list[str]]:
    """Every preset that loads, and one line per preset file that does not (a bad file in the
    user's preset folder is skipped, never fatal, and named)."""
    found, problems = [], []
    for name, path in sorted(_files().items()):
        try:
            found.append(load_file(path, name))
        except PresetError as exc:
            problems.append(f"skipped preset {path}: {str(exc).splitlines()[0]}")
    return found, problems


def _number(where, key, value, integer):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PresetError(f"{where}: {key} must be a number, got {value!r}")
    if integer and int(value) != value:
        raise PresetError(f"{where}: {key} must be a whole number, got {value!r}")
    parts = key.split(".")
    lo, hi = RANGES.get(parts[-1], RANGES.get(parts[-2], (0, math.inf)) if len(parts) > 2 else (0, math.inf))
    if not lo <= value <= hi:
        raise PresetError(f"{where}: {key} must be between {lo} and {hi}, got {value!r}")
    return int(value) if integer else float(value)


def _value(where, key, value, field, default):
    kind = str(field.type)
    if kind in ("float", "float | None"):
        return _number(where, key, value, False)
    if kind == "int":
        return _number(where, key, value, True)
    if kind == "str":
        if not isinstance(value, str):
            raise PresetError(f"{where}: {key} must be a string, got {value!r}")
        if key == "settings.marking" and value not in ("auto", "manual"):
            raise PresetError(f'{where}: {key} must be "auto" or "manual", got {value!r}')
        return value
    if kind == "tuple":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PresetError(f"{where}: {key} must be a list of names, got {value!r}")
        from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT
        from cervitrack.trainer.clinical.trajectories import LEVELS, PATTERNS

        allowed = {"settings.directions": DIRECTION_COMPONENT, "settings.levels": LEVELS,
                   "settings.patterns": PATTERNS}.get(key)
        for v in value if allowed is not None else ():
            if v not in allowed:
                raise PresetError(f"{where}: {key} has unknown name {v!r} "
                                  f"(known: {', '.join(allowed)})")
        if not value and key != "settings.directions":
            raise PresetError(f"{where}: {key} must not be empty")
        return tuple(value)
    if kind == "dict":
        if not isinstance(value, dict):
            raise PresetError(f"{where}: {key} must be a table, got {value!r}")
        out = dict(default)
        for k, v in value.items():
            if k not in out:
                raise PresetError(f"{where}: unknown key {key}.{k} (known: {', '.join(out)})")
            out[k] = _number(where, f"{key}.{k}", v, False)
        return out
    raise PresetError(f"{where}: {key} cannot be set in a preset")


def settings_from_table(test: str, table: dict, where: str = "settings"):
    """Validate a ``[settings]`` table into the test's settings dataclass."""
    from cervitrack.trainer.clinical import scoring

    engine_cls, settings_cls = engines()[test]
    fields = {f.name: f for f in dataclasses.fields(settings_cls) if f.name not in NOT_IN_PRESETS}
    defaults = settings_cls()
    values = {}
    for key, value in table.items():
        if key == "threshold_mode":
            try:
                values["threshold_deg"] = scoring.threshold_for(value)
            except ValueError as exc:
                raise PresetError(f"{where}: settings.threshold_mode: {exc}") from None
            continue
        if key not in fields:
            raise PresetError(f"{where}: unknown key settings.{key} for a {test} test "
                              f"(known: threshold_mode, {', '.join(fields)})")
        values[key] = _value(where, f"settings.{key}", value, fields[key],
                             getattr(defaults, key))
    return dataclasses.replace(defaults, **values)


def load_file(path: Path, name: str | None = None) -> Preset:
    """Read and validate one preset file."""
    path = Path(path)
    name = name or path.stem
    from cervitrack.trainer.paths import read_text

    try:
        data = tomllib.loads(read_text(path, "preset"))
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"preset {path} is not valid TOML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise PresetError(f"preset {path}: nested too deeply") from None
    except ValueError as exc:  # read_text: the file named, one line
        raise PresetError(str(exc)) from None
    where = f"preset {name} ({path})"
    for key in data:
        if key not in TOP_KEYS:
            raise PresetError(f"{where}: unknown key {key} (known: {', '.join(TOP_KEYS)})")
    test = data.get("test")
    if test not in DEFAULT_PRESETS:
        raise PresetError(f"{where}: test must be one of {', '.join(DEFAULT_PRESETS)}, got {test!r}")
    for key in ("title", "description", "reliability_note"):
        if not isinstance(data.get(key, ""), str):
            raise PresetError(f"{where}: {key} must be a string")
    if not data.get("title"):
        raise PresetError(f"{where}: title is missing")
    table = data.get("settings", {})
    if not isinstance(table, dict):
        raise PresetError(f"{where}: settings must be a table")
    settings_from_table(test, table, where)  # validate now; errors name the key
    return Preset(name, test, data["title"], data.get("description", ""),
                  data.get("reliability_note", ""), table, path)


def load(name: str) -> Preset:
    """The preset called ``name`` (a user preset shadows a shipped one)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name or ""):
        raise PresetError(f"bad preset name {name!r}")
    files = _files()
    if name not in files:
        raise PresetError(f"unknown preset {name!r} (presets: {', '.join(sorted(files))})")
    return load_file(files[name], name)


def build_engine(preset: Preset, rate_hz: float, overrides: dict | None = None, calibration=None):
    """An engine for the preset; ``overrides`` are settings applied on top (e.g. rom_deg)."""
    engine_cls, _ = engines()[preset.test]
    settings = settings_from_table(preset.test, preset.settings, f"preset {preset.name}")
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    return engine_cls(settings, rate_hz=rate_hz, calibration=calibration)


_COUNT_RE = re.compile(r"\b\d+ (trials per direction|repetitions)\b")


def title_for(preset: Preset, settings) -> str:
    """The preset's title stating the count the engine really runs (``--trials`` changes it):
    the number in "N trials per direction" / "N repetitions" is replaced, or the count is
    appended when the title has none."""
    per_item = preset.test in ("butterfly", "trace")
    n = getattr(settings, "repetitions" if per_item else "trials_per_direction", None)
    if n is None:
        return preset.title

    def count(unit: str) -> str:
        if n == 1:
            unit = unit.replace("trials", "trial").replace("repetitions", "repetition")
        return f"{n} {unit}"

    if _COUNT_RE.search(preset.title):
        return _COUNT_RE.sub(lambda m: count(m.group(1)), preset.title)
    return f"{preset.title} ({count('repetitions' if per_item else 'trials per direction')})"
