"""Test protocols, scoring, sessions, reports, training, the GUI and the CLI.

The consumers at the end of the data flow: test engines (:mod:`~cervitrack.trainer.clinical.jpe` and
its siblings) take head poses from :mod:`~cervitrack.trainer.live.pipeline` and issue prompts;
:mod:`~cervitrack.trainer.simulation.runner` drives them with the simulated headset and virtual patient;
:mod:`~cervitrack.trainer.cli` is the ``cervitrack`` command.
"""
