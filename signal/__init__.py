"""Pure numpy/scipy signal processing: timebase, orientation, smoothing, head kinematics.

No I/O, no Qt, no wall clock: every function takes arrays (with units in their names) and
returns arrays. Quaternions are scalar first (``quat_wxyz``); see
:mod:`cervitrack.signal.quaternion` for the one boundary to scipy's scalar-last convention.
"""
