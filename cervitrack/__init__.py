"""Cervitrack: cervical proprioception measurement and training with a head-worn IMU.

Subpackages (data flows top to bottom):

- :mod:`cervitrack.firmware_bridge`: devices, transports, wire protocols, simulated headset.
- :mod:`cervitrack.signal`: pure numpy/scipy processing: timebase, orientation, kinematics.
- :mod:`cervitrack.calibration`: neutral, sensor-to-head alignment, biases.
- :mod:`cervitrack.trainer`: test protocols, scoring, sessions, reports, GUI and CLI.

The product measures and trains; it does not diagnose.
"""

__version__ = "0.1.0"
