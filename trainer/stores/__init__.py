"""What Cervitrack keeps on disk for people: the clinical sessions store (patients, sessions,
tests; SQLite) and the head calibrations saved per device (JSON), under the user data folder
(:mod:`cervitrack.trainer.paths`).

May import: :mod:`cervitrack.calibration` (the calibration it saves), :mod:`cervitrack.trainer.paths`
and the standard library. Never the live chain, devices or Qt.
"""
