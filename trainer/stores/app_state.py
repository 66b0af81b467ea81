"""What the application remembers between runs: the devices used last and the settings.

One small JSON file, ``app.json`` in the user data folder (private, 0600)::

    {"devices": [{"spec": "serial:/dev/ttyUSB0", "protocol": "witmotion-serial"}, ...],
     "settings": {"wall_distance_cm": 90.0, "volume": 0.8, ...}}

``devices`` holds real devices only, newest first (at most :data:`MAX_DEVICES`): the simulator
is never remembered, so it is never preselected (it is chosen explicitly every time). A device
is remembered once its link delivered samples. ``settings`` holds the keys of
:data:`SETTING_TYPES` only. A damaged file is never fatal: it reads as empty, with a one-line
``problem``, and is replaced at the next save.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cervitrack.trainer.paths import data_dir, write_private_text

FILE_NAME = "app.json"
MAX_DEVICES = 5
#: The remembered settings and their types (the application's AppSettings names).
SETTING_TYPES: dict[str, type] = {"wall_distance_cm": float, "trail_s": float, "blind": bool, "audio": bool,
                                  "voice": bool, "tones": bool, "volume": float, "follow": bool}
#: The allowed range of the numeric settings (the application's spin boxes and slider).
SETTING_RANGES = {"wall_distance_cm": (30.0, 400.0), "trail_s": (0.0, 10.0), "volume": (0.0, 1.0)}


@dataclass
class AppState:
    """``devices``: [{"spec", "protocol"}], newest first; ``settings``: name → value;
    ``problem``: why the file could not be read ("" when it could, or did not exist)."""

    devices: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    problem: str = ""


def state_path() -> Path:
    return data_dir() / FILE_NAME


def _valid_setting(name: str, value) -> bool:
    kind = SETTING_TYPES.get(name)
    if kind is bool:
        return isinstance(value, bool)
    if kind is float:
        low, high = SETTING_RANGES[name]
        return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
    return False


def load_state(path: Path | None = None) -> AppState:
    """The remembered state (empty when there is none; see the module docstring)."""
    path = path or state_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AppState()
    except OSError as exc:
        return AppState(problem=f"{path}: cannot be read ({exc.strerror or exc}); starting from the defaults")
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (UnicodeDecodeError, ValueError) as exc:
        return AppState(problem=f"{path}: damaged ({exc}); starting from the defaults")
    listed = data.get("devices")
    devices = [{"spec": d["spec"], "protocol": d.get("protocol") or ""}
               for d in (listed if isinstance(listed, list) else []) if isinstance(d, dict) and isinstance(d.get("spec"), str)
               and d["spec"] and d["spec"] != "sim" and isinstance(d.get("protocol", ""), (str, type(None)))]
    raw_settings = data.get("settings")
    settings: dict = raw_settings if isinstance(raw_settings, dict) else {}
    return AppState(devices[:MAX_DEVICES], {k: v for k, v in settings.items() if _valid_setting(k, v)})


def _save(state: AppState, path: Path | None) -> None:
    write_private_text(path or state_path(),
                       json.dumps({"devices": state.devices, "settings": state.settings}, indent=1) + "\n")


def remember_device(spec: str, protocol: str = "", path: Path | None = None) -> AppState:
    """Put a real device first in the remembered list (the simulator is not remembered).
    Raises OSError when the file cannot be written."""
    state = load_state(path)
    if spec == "sim" or not spec:
        return state
    entry = {"spec": spec, "protocol": protocol or ""}
    state.devices = [entry] + [d for d in state.devices if d["spec"] != spec][:MAX_DEVICES - 1]
    _save(state, path)
    return state


def save_settings(settings: dict, path: Path | None = None) -> AppState:
    """Remember the settings of :data:`SETTING_TYPES` found in ``settings`` (others ignored).
    Raises OSError when the file cannot be written."""
    state = load_state(path)
    state.settings.update({k: (float(v) if SETTING_TYPES[k] is float else v)
                           for k, v in settings.items() if _valid_setting(k, v)})
    _save(state, path)
    return state
