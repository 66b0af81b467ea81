"""The simulated side: the virtual patient (the head), the simulated headset as a device
source, and simulated sessions with ground truth for tests and benchmarks.

May import: :mod:`cervitrack.firmware_bridge` (its ``sim`` package makes the bytes),
:mod:`cervitrack.signal`, :mod:`cervitrack.calibration`, :mod:`cervitrack.trainer.clinical`,
:mod:`cervitrack.trainer.live`. Never Qt or the stores.
"""
