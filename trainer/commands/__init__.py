"""One module per ``cervitrack`` subcommand, discovered by :mod:`cervitrack.trainer.cli`.

Each module defines ``register(subparsers)``. Keep modules thin: parse, call library code,
print. Library code must not print or exit.
"""


class CliError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""
