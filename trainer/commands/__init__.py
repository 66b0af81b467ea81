"""One module per ``cervitrack`` subcommand, discovered by :mod:`cervitrack.trainer.cli`.

Each module defines ``register(subparsers)``. Keep modules thin: parse, call library code,
print. Library code must not print or exit.
"""
