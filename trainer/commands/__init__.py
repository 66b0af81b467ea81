"""One module per ``cervitrack`` subcommand, loaded by :mod:`cervitrack.trainer.cli`.

Each module defines ``register(subparsers)``. Keep modules thin: parse, call library code,
print. Library code must not print or exit.

:data:`COMMANDS` lists every subcommand with its one-line help, so that ``cervitrack --help``
and ``cervitrack --version`` need not import any command module (some import numpy, scipy or Qt,
which take seconds to load); the CLI imports only the module of the command it runs.
tests/test_cli_startup.py checks that the table matches every module's ``register``.
Keep heavy imports (numpy, scipy, Qt, the pipeline, simulation, recording, reports) inside the
functions that run a command, so that ``cervitrack COMMAND --help`` stays fast too.
"""

#: Subcommand name → its one-line help (equal to the ``help`` its module's ``register`` gives).
#: The module of ``NAME`` is ``cervitrack.trainer.commands.<NAME with - as _>``.
COMMANDS: dict[str, str] = {
    "app": "the application: device, calibration, tests, results, research",
    "calibration": "list, show or delete the head calibrations saved per device",
    "decode": "decode a captured byte file to samples (jsonl or csv)",
    "demo": "run a JPE test with the simulated headset and virtual patient",
    "device-check": "check a new sensor: keep still, turn, nod; names the protocol and any axis or unit fault",
    "devices": "list serial ports and nearby BLE sensors",
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
