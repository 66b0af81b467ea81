"""Readable names of the test presets, shared by the application and the report.

Preset ids (``butterfly-easy``, ``thp-20``) are for the command line; a person reads
:func:`display_name`. Titles of the presets carry their default trial counts ("8 trials per
direction"), which the application may override, so the names here leave counts out.
"""

from __future__ import annotations

import re

DISPLAY_NAMES = {
    "jpe": "JPE, neutral head position",
    "jpe-lateral": "JPE, neutral head position, with lateral flexion",
    "jpe-manual": "JPE, neutral head position, marked by the examiner",
    "jpe-quick": "JPE, neutral head position, quick",
    "jpe-sensitive": "JPE, neutral head position, sensitive threshold (3.5°)",
    "thp-20": "JPE, target head position at 20°",
    "thp-40": "JPE, target head position at 40° (rotation)",
    "rom": "Active range of motion",
    "butterfly": "Movement-sense tracking, easy, medium and hard",
    "butterfly-easy": "Movement-sense tracking, easy",
    "butterfly-medium": "Movement-sense tracking, medium",
    "butterfly-hard": "Movement-sense tracking, hard",
    "trace-figure8": "Pattern tracing, figure-eight",
    "trace-zigzag": "Pattern tracing, zigzag",
    "calibration": "Calibration",
}
KIND_NAMES = {"jpe": "JPE, neutral head position", "thp": "JPE, target head position",
              "rom": "Active range of motion", "butterfly": "Movement-sense tracking",
              "trace": "Pattern tracing"}
_COUNT = re.compile(r"\s*\((\d+ (trials?|repetitions?)[^)]*)\)")  # "(1 repetition)" too


def display_name(preset_id: str | None, title: str | None = None, kind: str | None = None) -> str:
    """What a person reads for a preset id: the mapping above, else the preset's title without
    its trial count, else the kind's name, else the id with spaces."""
    if preset_id in DISPLAY_NAMES:
        return DISPLAY_NAMES[preset_id]
    if title:
        return _COUNT.sub("", title).strip()
    if kind in KIND_NAMES:
        return KIND_NAMES[kind]
    return (preset_id or "test").replace("-", " ").replace("_", " ")
