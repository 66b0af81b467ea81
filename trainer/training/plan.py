"""A patient's training plan: what the therapist assigns and adjusts.

The plan is plain data, written to and read from a TOML or JSON file (by extension), and
validated: an unknown key or a bad value raises :class:`PlanError` whose message names the
key. Example (``cervitrack train-plan export --out plan.toml``)::

    format = "cervitrack-training-plan/1"
    patient = "anonymous"
    level = 1
    auto_progress = true
    minutes_per_session = 10
    sessions_per_day = 2
    days_per_week = 7
    blocks = ["warmup", "relocation", "tracking"]
    directions = ["rotation_left", "rotation_right", "flexion", "extension"]
    ...
    [pain_free_rom_deg]
    rotation_left = 60.0
    ...

Dose default (Treleaven 2008, Man Ther 13:2–11; Kristjansson & Treleaven 2009, JOSPT 39:364–377; Jull et al. 2007, J Orthop Res 25:404–412 **[DESIGN PROPOSAL]**): 10-15 min,
1-2 times a day, 5-7 days a week, 4-6 weeks; 2×/day follows Humphreys & Irgens 2002.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import tomli_w

from cervitrack.trainer.paths import DEFAULT_PATIENT, read_text, write_private_text
from cervitrack.trainer.training import levels, symptoms

FORMAT = "cervitrack-training-plan/1"
BLOCKS = ("warmup", "relocation", "tracking")


class PlanError(ValueError):
    """A bad plan value or file; the message names the key."""


@dataclass(frozen=True)
class Plan:
    """A training plan (see the module docstring for the file form).

    Attributes:
        patient: patient id (letters, digits, ``-``, ``_``).
        level: the current level (1..8, see levels.LEVELS).
        auto_progress: move between levels by the progression rules; False locks the level.
        max_level: the highest level the program may reach.
        minutes_per_session, sessions_per_day, days_per_week: the dose.
        blocks: the blocks of a session, in order.
        directions: relocation directions.
        reps_per_direction: relocation trials per direction per block (0: the level's).
        relocation_blocks: relocation blocks per session.
        warmup_reps: range-of-motion warm-up movements per direction.
        pain_free_rom_deg: pain-free range per direction, deg (therapist or ROM test).
        soft_limit_share: share of the pain-free ROM used as the soft limit (0.7-0.8).
        pain_rise_stop_nrs, gentle_pain_nrs, no_training_pain_nrs: symptom rule thresholds.
        posture_reminder: opt-in desk posture reminder.
        notes: free text from the therapist.
        clinician_contact: who to call when training is stopped (name, phone, e-mail), set
            by the therapist; shown with every stop (empty: not set).
    """

    patient: str = DEFAULT_PATIENT
    level: int = 1
    auto_progress: bool = True
    max_level: int = levels.MAX_LEVEL
    minutes_per_session: int = 10
    sessions_per_day: int = 2
    days_per_week: int = 7
    blocks: tuple = BLOCKS
    directions: tuple = levels.RELOCATION_DIRECTIONS
    reps_per_direction: int = 0
    relocation_blocks: int = 2
    warmup_reps: int = 2
    pain_free_rom_deg: dict = field(default_factory=lambda: dict(levels.DEFAULT_PAIN_FREE_ROM_DEG))
    soft_limit_share: float = levels.SOFT_LIMIT_SHARE
    pain_rise_stop_nrs: int = symptoms.PAIN_RISE_STOP_NRS
    gentle_pain_nrs: int = symptoms.GENTLE_PAIN_NRS
    no_training_pain_nrs: int = symptoms.NO_TRAINING_PAIN_NRS
    posture_reminder: bool = False
    notes: str = ""
    clinician_contact: str = ""

    def reps(self) -> int:
        return self.reps_per_direction or levels.level(self.level).reps_per_direction

    def as_dict(self) -> dict:
        d = asdict(self)
        d["blocks"] = list(self.blocks)
        d["directions"] = list(self.directions)
        return {"format": FORMAT, **d}

    def adjusted(self, **changes) -> Plan:
        """A copy with ``changes`` applied and validated."""
        return plan_from_dict({**self.as_dict(), **changes})


def _int(key, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise PlanError(f"{key} must be a whole number from {lo} to {hi}, got {v!r}")
    return v


def _float(key, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise PlanError(f"{key} must be a number from {lo} to {hi}, got {v!r}")
    return float(v)


def _bool(key, v):
    if not isinstance(v, bool):
        raise PlanError(f"{key} must be true or false, got {v!r}")
    return v


def _choices(key, v, allowed):
    if not isinstance(v, (list, tuple)) or not v:
        raise PlanError(f"{key} must be a non-empty list, got {v!r}")
    for item in v:
        if item not in allowed:
            raise PlanError(f"{key} has unknown entry {item!r} (known: {', '.join(allowed)})")
    if len(set(v)) != len(v):
        raise PlanError(f"{key} lists an entry twice")
    return tuple(v)


def _patient(key, v):
    if not isinstance(v, str) or not v or len(v) > 64 or not all(c.isalnum() or c in "-_" for c in v):
        raise PlanError(f"{key} must be 1-64 letters, digits, '-' or '_', got {v!r}")
    return v


def _text(key, v, max_chars):
    if not isinstance(v, str) or len(v) > max_chars:
        raise PlanError(f"{key} must be text of at most {max_chars} characters")
    return v


def _rom(key, v):
    if not isinstance(v, dict):
        raise PlanError(f"{key} must be a table of direction = degrees")
    out = dict(levels.DEFAULT_PAIN_FREE_ROM_DEG)
    for d, deg in v.items():
        if d not in out:
            raise PlanError(f"unknown key {key}.{d} (known: {', '.join(out)})")
        out[d] = _float(f"{key}.{d}", deg, 10.0, 90.0)
    return out


_RULES = {
    "patient": _patient,
    "level": lambda k, v: _int(k, v, 1, levels.MAX_LEVEL),
    "auto_progress": _bool,
    "max_level": lambda k, v: _int(k, v, 1, levels.MAX_LEVEL),
    "minutes_per_session": lambda k, v: _int(k, v, 3, 30),
    "sessions_per_day": lambda k, v: _int(k, v, 1, 3),
    "days_per_week": lambda k, v: _int(k, v, 1, 7),
    "blocks": lambda k, v: _choices(k, v, BLOCKS),
    "directions": lambda k, v: _choices(k, v, levels.RELOCATION_DIRECTIONS),
    "reps_per_direction": lambda k, v: _int(k, v, 0, 10),
    "relocation_blocks": lambda k, v: _int(k, v, 1, 4),
    "warmup_reps": lambda k, v: _int(k, v, 1, 5),
    "pain_free_rom_deg": _rom,
    "soft_limit_share": lambda k, v: _float(k, v, 0.7, 0.8),
    "pain_rise_stop_nrs": lambda k, v: _int(k, v, 1, 3),
    "gentle_pain_nrs": lambda k, v: _int(k, v, 1, 10),
    "no_training_pain_nrs": lambda k, v: _int(k, v, 1, 10),
    "posture_reminder": _bool,
    "notes": lambda k, v: _text(k, v, 2000),
    "clinician_contact": lambda k, v: _text(k, v, 300),
}


def plan_from_dict(data: dict) -> Plan:
    """Validate plain data into a Plan; missing keys take their defaults."""
    if not isinstance(data, dict):
        raise PlanError("a plan must be a table of key = value")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise PlanError(f"format must be {FORMAT!r}, got {fmt!r}")
    values = {}
    for key, value in data.items():
        if key == "format":
            continue
        if key not in _RULES:
            raise PlanError(f"unknown key {key} (known: {', '.join(_RULES)})")
        values[key] = _RULES[key](key, value)
    plan = replace(Plan(), **values)
    if plan.level > plan.max_level:
        raise PlanError(f"level {plan.level} is above max_level {plan.max_level}")
    if plan.gentle_pain_nrs >= plan.no_training_pain_nrs:
        raise PlanError("gentle_pain_nrs must be below no_training_pain_nrs")
    return plan


def _path_kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in (".toml", ".json"):
        raise PlanError(f"plan file {path} must end in .toml or .json")
    return ext[1:]


def save_plan(plan: Plan, path: str | Path) -> Path:
    """Write the plan as TOML or JSON (by extension)."""
    path = Path(path)
    kind = _path_kind(path)
    data = plan.as_dict()
    text = tomli_w.dumps(data) if kind == "toml" else json.dumps(data, indent=2) + "\n"
    return write_private_text(path, text)


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file (TOML or JSON)."""
    path = Path(path)
    kind = _path_kind(path)
    try:
        text = read_text(path, "plan file")
    except ValueError as exc:  # the file named, one line
        raise PlanError(str(exc)) from None
    try:
        data = tomllib.loads(text) if kind == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{path} is not valid {kind.upper()}: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise PlanError(f"{path}: nested too deeply to be a plan") from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: a plan is a table of keys, not {type(data).__name__}")
    try:
        return plan_from_dict(data)
    except PlanError as exc:
        raise PlanError(f"{path}: {exc}") from None


PLAN_KEYS = tuple(f.name for f in fields(Plan))
