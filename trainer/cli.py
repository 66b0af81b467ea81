"""The ``cervitrack`` command line.

Subcommands live one per module in :mod:`cervitrack.trainer.commands`; each module defines
``register(subparsers)``, which adds its parser and sets ``func`` to a function taking the
parsed arguments and returning an exit code. Modules are discovered automatically.

Errors meant for the user are raised as :class:`CliError` (or ``ValueError`` /``OSError`` from
validation) and printed as one line ``cervitrack: error: ...`` with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import cervitrack
from cervitrack.trainer import commands
from cervitrack.trainer.commands import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cervitrack",
        description="Cervical proprioception: measure and train with a head-worn IMU. "
        "Cervitrack measures and trains; it does not diagnose.",
    )
    parser.add_argument("--version", action="version", version=f"cervitrack {cervitrack.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def _stop_on_sigterm() -> None:
    """SIGTERM stops a command the way Ctrl-C does (files closed, streams stopped): a service
    manager, a test runner or ``kill`` ends a run cleanly even where SIGINT is ignored (a
    launcher that ignores SIGINT passes that on to its children)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    _stop_on_sigterm()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cervitrack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (CliError, ValueError, OSError) as exc:
        if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
            message = f"{exc.filename}: {exc.strerror.lower()}"
        else:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"cervitrack: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
