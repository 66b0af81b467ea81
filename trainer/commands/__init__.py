"""One module per ``cervitrack`` subcommand, loaded by :mod:`cervitrack.trainer.cli`.

Each module defines ``register(subparsers)``. Keep modules thin: parse, call library code,
print. Library code must not print or exit.

:data:`COMMANDS` lists every subcommand with its one-line help, so that ``cervitrack --help``
and ``cervitrack --version`` need not import any command module (some import numpy, scipy or Qt,
which take seconds to load); the CLI imports only the module of the command it runs.
tests/test_cli_startup.py checks that the table matches every module's ``register``.
Keep heavy imports (numpy, scipy, Qt, the pipeline, simulation, recording, reports) inside the
functions that run a command, so that ``cervitrack COMMAND --help`` stays fast too.

The rules every command follows (README § Rules every command follows), with their shared helpers here:

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

#: Subcommand name → its one-line help (equal to the ``help`` its module's ``register`` gives).
#: The module of ``NAME`` is ``cervitrack.trainer.commands.<NAME with - as _>``.
COMMANDS: dict[str, str] = {
    "app": "the application: device, calibration, tests, results, research",
    "calibration": "list, show or delete the head calibrations saved per device",
    "decode": "decode a captured byte file to samples (jsonl or csv)",
    "demo": "run a JPE test with the simulated headset and virtual patient",
    "device-check": "check a new sensor: keep still, turn, nod; names the protocol and any axis or unit fault",
    "devices": "list serial ports and nearby BLE sensors",
    "emulate": "emulate a device (byte-exact protocol, real transport) worn by the virtual patient",
    "export": "export a recording as BIDS-Motion, tidy CSV or OpenSim .sto",
    "inspect": "report a recording's samples, timing, gaps, events and integrity",
    "process": "orientation and head angles from a raw IMU CSV file",
    "record": "record a device's raw stream to a crash-safe file",
    "report": "write the therapist report of a stored session (HTML or PDF)",
    "sessions": "list the stored test sessions",
    "store": "check the sessions store, or recover a damaged one into a new file",
    "stream": "print decoded, time-mapped samples from a device",
    "sys-info": "print versions for bug reports",
    "test": "run a clinical test (JPE, target JPE, ROM, tracking, tracing) and store it",
    "train": "home training program (safety screen, drills, progression, history)",
    "train-diary": "symptom and headache diary (record or list)",
    "train-plan": "therapist: show, set, export or import a training plan",
    "train-progress": "training progress: figure (PNG) and figures",
}


def module_name(command: str) -> str:
    """The module (in this package) that registers ``command``."""
    return f"{__name__}.{command.replace('-', '_')}"


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


def add_recording_arguments(p) -> None:
    """``PATH`` (a .cvtrec recording) and ``--protocol P`` for one whose header names none."""
    p.add_argument("path", metavar="PATH", help="a .cvtrec recording")
    p.add_argument("--protocol", metavar="P", help="the device protocol, when the recording's "
                   "header was damaged and names none (see `cervitrack decode --help`)")


def add_force_argument(p) -> None:
    p.add_argument("--force", action="store_true", help="overwrite output files that exist")


#: File beginnings of data an output file never replaces, even with --force: a database (the
#: sessions and training stores are SQLite files) and a raw recording (.cvtrec).
#: A command that writes recordings (``cervitrack record``) may replace one with --force.
PROTECTED_MAGIC = {b"SQLite format 3\x00": ("database", "a database (Cervitrack keeps patients' sessions in one)"),
                   b"\x89CVTR\r\n\x1a": ("recording", "a raw recording (.cvtrec)")}


def refuse_overwrite(path, force: bool, writes: str = "") -> Path:
    """``path`` as a Path; CliError when it exists and ``force`` is not given, and always when
    it is a database or a raw recording (:data:`PROTECTED_MAGIC`) unless the command
    ``writes`` that kind of file itself ("recording")."""
    path = Path(path)
    if path.is_file():
        try:
            with open(path, "rb") as f:
                head = f.read(16)
        except OSError:
            head = b""
        for magic, (kind, what) in PROTECTED_MAGIC.items():
            if head.startswith(magic) and kind != writes:
                raise CliError(f"{path} is {what}: an output never replaces it, choose another file")
    if path.exists() and not force:
        raise CliError(f"{path} already exists; add --force to overwrite it")
    return path
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
