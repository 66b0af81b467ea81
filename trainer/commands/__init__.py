"""One module per ``cervitrack`` subcommand, discovered by :mod:`cervitrack.trainer.cli`.

Each module defines ``register(subparsers)``. Keep modules thin: parse, call library code,
print. Library code must not print or exit.

The rules every command follows (README § Command line), with their shared helpers here:

- ``--device SPEC`` has no default: a command that reads a device is told which one
  (``--device sim`` is explicit too); ``demo`` is the one exception, being the simulated
  demonstration (``--device`` defaults to sim there). :func:`add_device_argument`.
- ``--speed X`` is X times real time, ``--fast`` as fast as possible; both pace simulated and
  recorded data only (sim, replay:) and are refused with a real device. :func:`add_pace_arguments`,
  :func:`pace_speed`.
- An output file that exists is never overwritten without ``--force``: the command refuses
  with one line naming the file. :func:`add_force_argument`, :func:`refuse_overwrite`.
- Errors are one line ``cervitrack: error: ...`` with a non-zero exit (:class:`CliError`,
  ValueError, OSError; :mod:`cervitrack.trainer.cli` prints them).
"""

from __future__ import annotations

import math
from pathlib import Path

#: The ``--device`` forms, for help texts.
DEVICE_FORMS = "sim, serial:PORT, ble:NAME_OR_ADDRESS, udp:PORT or replay:FILE.cvtrec"
#: Device kinds whose data a person produces in real time (no --speed/--fast).
LIVE_KINDS = ("serial", "ble", "udp")


class CliError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def add_device_argument(p, forms: str = DEVICE_FORMS, default: str | None = None,
                        extra: str = "") -> None:
    """``--device SPEC``: required unless ``default`` is given (``demo`` only)."""
    help_text = f"the device: {forms}" + (f" (default {default})" if default else " (required)")
    p.add_argument("--device", required=default is None, default=default, metavar="SPEC",
                   help=help_text + (f"; {extra}" if extra else ""))


def add_pace_arguments(p, default: str = "real time") -> None:
    """``--speed X`` / ``--fast`` (mutually exclusive); ``default`` says what neither means."""
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=None, metavar="X",
                      help=f"sim/replay: X times real time (default: {default})")
    pace.add_argument("--fast", action="store_true",
                      help="sim/replay: as fast as possible")


def pace_speed(args, default: float | None, device: str | None = None) -> float | None:
    """The speed factor ``--speed``/``--fast`` ask for (None: as fast as possible), ``default``
    when neither is given. Refused with a real device (a person sets its pace)."""
    device = device if device is not None else getattr(args, "device", None)
    kind = str(device or "").partition(":")[0].lower()
    if kind in LIVE_KINDS and (args.fast or args.speed is not None):
        raise CliError(f"--speed and --fast apply to sim and replay devices; {device} runs in real time")
    if args.speed is not None and not (math.isfinite(args.speed) and args.speed > 0):
        raise CliError(f"--speed must be a positive number, not {args.speed}")
    if args.fast:
        return None
    return args.speed if args.speed is not None else default


def add_force_argument(p) -> None:
    p.add_argument("--force", action="store_true", help="overwrite output files that exist")


def refuse_overwrite(path, force: bool) -> Path:
    """``path`` as a Path; CliError when it exists and ``force`` is not given."""
    path = Path(path)
    if path.exists() and not force:
        raise CliError(f"{path} already exists; add --force to overwrite it")
    return path
