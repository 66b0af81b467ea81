"""Calibration: neutral posture, sensor-to-head alignment and gyro bias.

- :mod:`~cervitrack.calibration.rest`: gyro bias and gravity direction from a still window.
- :mod:`~cervitrack.calibration.alignment`: functional sensor-to-head alignment from a guided
  nod and turn, with a quality score.
- :mod:`~cervitrack.calibration.head`: the result (:class:`HeadCalibration`) and the transform
  from sensor orientation to head pose relative to neutral.
"""
