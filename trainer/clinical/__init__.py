"""The clinical tests and their scoring: pure functions and state machines over head angles.

Holds the pose history the engines and views read, the test engines (JPE neutral and target, range of motion, Butterfly-style tracking,
pattern tracing, the re-centred test base), their trajectories, prompts, scoring, result
tables and the shipped presets (``presets/*.toml``).

May import: :mod:`cervitrack.signal`, :mod:`cervitrack.calibration`, and within this package.
Never: Qt, files other than its own presets, the wall clock, devices, stores or the GUI.
"""
