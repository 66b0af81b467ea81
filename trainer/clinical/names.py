"""Readable names of the test presets, shared by the application and the report.

Preset ids (``butterfly-easy``, ``thp-20``) are for the command line; a person reads
:func:`display_name`: the test's own title when it has one (stored titles carry the trial count
the test ran with), else the readable name of the preset id here.
"""

from __future__ import annotations

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
def display_name(preset_id: str | None, title: str | None = None, kind: str | None = None) -> str:
    """What a person reads for a test: its title when given, else the readable name of the
    preset id, else the kind's name, else the id with spaces (never the bare id)."""
    if title:
        return title
    if preset_id in DISPLAY_NAMES:
        return DISPLAY_NAMES[preset_id]
    if kind in KIND_NAMES:
        return KIND_NAMES[kind]
    return (preset_id or "test").replace("-", " ").replace("_", " ")
