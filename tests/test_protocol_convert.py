"""Euler → quaternion conversion equals scipy's Rotation.from_euler (scalar last → first)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols._convert import euler_deg_to_quat_wxyz


@pytest.mark.parametrize("seq", ["ZYX", "ZXY", "XYZ", "zyx", "YXZ"])
def test_matches_scipy(seq):
    rng = np.random.default_rng(0)
    angles = rng.uniform(-180, 180, (500, 3))
    expected = Rotation.from_euler(seq, angles, degrees=True).as_quat()[:, [3, 0, 1, 2]]
    expected *= np.sign(expected[:, :1])
    np.testing.assert_allclose(euler_deg_to_quat_wxyz(seq, angles), expected, atol=1e-12)


def test_nan_rows_and_bad_sequence():
    q = euler_deg_to_quat_wxyz("ZYX", [[np.nan, 0, 0], [0, 0, 0]])
    assert np.isnan(q[0]).all()
    np.testing.assert_allclose(q[1], [1, 0, 0, 0], atol=1e-15)
    with pytest.raises(ValueError):
        euler_deg_to_quat_wxyz("ZZ", [[0, 0, 0]])
