"""One module per ``cervitrack`` subcommand, discovered by :mod:`cervitrack.trainer.cli`.

Each module defines ``register(subparsers)``. Keep modules thin: parse, call library code,
print. Library code must not print or exit.
"""

from __future__ import annotations

import math


class CliError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


#: Most trials per direction (or repetitions) a command accepts: the presets' cap
#: (:data:`cervitrack.trainer.clinical.presets.RANGES`).
MAX_TRIALS = 50
#: Most days ``train --simulate-days`` simulates (a year of the program).
MAX_SIMULATED_DAYS = 366


def check_count(option: str, value: int | None, lowest: int, highest: int) -> int | None:
    """``value`` when ``lowest <= value <= highest`` (or None); else one CliError naming the option
    and its bounds (checked before anything is allocated or run)."""
    if value is not None and not lowest <= value <= highest:
        raise CliError(f"{option} must be between {lowest} and {highest}, not {value}")
    return value


#: Longest ``--duration`` a command accepts, s (a day: recordings and streams are sessions).
MAX_DURATION_S = 86_400.0


def check_duration(option: str, value: float | None, highest: float = MAX_DURATION_S) -> float | None:
    """``value`` when a positive finite number of seconds up to ``highest`` (or None); else one
    CliError naming the option and the cap."""
    if value is not None and not (math.isfinite(value) and 0 < value <= highest):
        raise CliError(f"{option} must be a positive number of seconds up to {highest:g}, not {value}")
    return value
