"""`python -m cervitrack` runs the command-line interface."""

from cervitrack.trainer.cli import main

raise SystemExit(main())
