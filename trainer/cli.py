"""The ``cervitrack`` command line.

Subcommands live one per module in :mod:`cervitrack.trainer.commands`; each module defines
``register(subparsers)``, which adds its parser and sets ``func`` to a function taking the
parsed arguments and returning an exit code. The top-level parser lists the commands from
:data:`~cervitrack.trainer.commands.COMMANDS` (name and one-line help) and imports only the
module of the command being run, so that ``cervitrack --version``, ``--help`` and light
commands start in a fraction of a second (bench/startup.py measures it).

Errors meant for the user are raised as :class:`CliError` (or ``ValueError`` /``OSError`` from
validation) and printed as one line ``cervitrack: error: ...`` with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import cervitrack
from cervitrack.trainer import commands
from cervitrack.trainer.commands import CliError


class Parser(argparse.ArgumentParser):
    """argparse with the one error style of every command: one line ``cervitrack: error: ...``
    (naming the subcommand's option), exit code 2, no usage dump (``--help`` shows it)."""

    def error(self, message: str):
        where = self.prog.removeprefix("cervitrack").strip()
        hint = f" (see cervitrack {where} --help)" if where else " (see cervitrack --help)"
        self.exit(2, f"cervitrack: error: {message}{hint}\n")


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand ``argv`` runs: its first word that is not an option (the top-level
    options, ``--version`` and ``--help``, take no value), if it names a command."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in commands.COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command`` (a name in ``COMMANDS``) that command's module is imported
    and registers its full parser; the others are listed by name and help only. ``"all"``
    imports and registers every command."""
    parser = Parser(
        prog="cervitrack",
        description="Cervical proprioception: measure and train with a head-worn IMU. "
        "Cervitrack measures and trains; it does not diagnose.",
    )
    parser.add_argument("--version", action="version", version=f"cervitrack {cervitrack.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, help_text in commands.COMMANDS.items():
        if command in (name, "all"):
            importlib.import_module(commands.module_name(name)).register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def _stop_on_sigterm() -> None:
    """SIGTERM stops a command the way Ctrl-C does (files closed, streams stopped): a service
    manager, a test runner or ``kill`` ends a run cleanly even where SIGINT is ignored (a
    launcher that ignores SIGINT passes that on to its children)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return  # (no SIGTERM: run from the source folder, whose signal/ shadows the stdlib's)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    _stop_on_sigterm()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(chosen_command(argv))
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
