"""The live chain: from an opened device to calibrated head pose for the consumers.

Holds device opening from a ``--device`` spec (:mod:`.devices`), the pipeline (decoder,
timebase, orientation, calibration, head angles).

May import: :mod:`cervitrack.firmware_bridge`, :mod:`cervitrack.signal`,
:mod:`cervitrack.calibration`, :mod:`cervitrack.trainer.clinical`. Never Qt or the stores.
"""
