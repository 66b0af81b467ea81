"""The people's side: clinical tests, live session, simulation, stores, reports, recording,
training, the GUI and the command line (see docs/architecture.md § Folder map).

Rooms, in the order data flows through them: :mod:`~cervitrack.trainer.live` (device to head
pose), :mod:`~cervitrack.trainer.clinical` (test engines and scoring; the pose history),
:mod:`~cervitrack.trainer.simulation` (the virtual patient), :mod:`~cervitrack.trainer.stores`
(patients, sessions, calibrations on disk), :mod:`~cervitrack.trainer.report`,
:mod:`~cervitrack.trainer.recording`, :mod:`~cervitrack.trainer.training`,
:mod:`~cervitrack.trainer.gui` and :mod:`~cervitrack.trainer.commands` (one module per
``cervitrack`` subcommand; :mod:`~cervitrack.trainer.cli` is the command itself).
"""
