"""Head angle conventions: the decomposition and signs every test and report relies on."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat


def q_about(axis, deg):
    return quat.from_axis_angle(axis, np.radians(deg))


@pytest.mark.parametrize("axis, deg, component, expected", [
    ([0, 0, 1], 30, "axial", 30),      # nose to the left is positive axial rotation
    ([0, 1, 0], 20, "flexion", 20),    # chin down (rotation about +y, left) is flexion
    ([0, 1, 0], -25, "flexion", -25),  # extension is negative flexion
    ([1, 0, 0], 15, "lateral", 15),    # right ear down (about +x, anterior) is positive lateral
])
def test_single_plane_movements(axis, deg, component, expected):
    angles = kinematics.head_angles_deg(q_about(axis, deg))
    assert angles[component] == pytest.approx(expected)
    assert angles["global"] == pytest.approx(abs(deg))
    for other in {"axial", "flexion", "lateral"} - {component}:
        assert angles[other] == pytest.approx(0.0, abs=1e-9)


def test_anatomical_directions_of_the_anterior_axis():
    def nose(q):
        return quat.rotate(q, [1.0, 0.0, 0.0])

    assert nose(q_about([0, 0, 1], 90)) == pytest.approx([0, 1, 0], abs=1e-12)    # left
    assert nose(q_about([0, 1, 0], 90)) == pytest.approx([0, 0, -1], abs=1e-12)   # down
    top = quat.rotate(q_about([1, 0, 0], 90), [0.0, 0.0, 1.0])
    assert top == pytest.approx([0, -1, 0], abs=1e-12)                            # to the right


def test_axial_first_sequence_matches_the_reference_example():
    # Wu et al. 2002, J Biomech 35:543–548: 60° axial, then 20° flexion about the head's own axis.
    q = quat.multiply(q_about([0, 0, 1], 60), q_about([0, 1, 0], 20))
    a = kinematics.head_angles_deg(q)
    assert (a["axial"], a["flexion"], a["lateral"]) == pytest.approx((60, 20, 0), abs=1e-9)


def test_jpe_sized_error_example():
    # a Cervitrack definition: the geodesic angle between orientations: 3° axial + 2° extension + 1.5° lateral → 3D 3.93°,
    # pointing 3.65°, 5.7 cm at 90 cm (here: left rotation, extension, left lateral flexion;
    # other sign combinations differ in the second-order terms).
    q = kinematics.pose_from_angles_deg(3.0, -2.0, -1.5)
    a = kinematics.head_angles_deg(q)
    assert (a["axial"], a["flexion"], a["lateral"]) == pytest.approx((3.0, -2.0, -1.5))
    assert a["global"] == pytest.approx(3.93, abs=0.01)
    laser = kinematics.laser_point(q, 90.0)
    assert laser["pointing_deg"] == pytest.approx(3.65, abs=0.01)
    assert np.hypot(laser["x_cm"], laser["y_cm"]) == pytest.approx(5.7, abs=0.05)


def test_pose_from_angles_round_trips():
    rng = np.random.default_rng(1)
    ang = rng.uniform(-60, 60, size=(200, 3))
    q = kinematics.pose_from_angles_deg(ang[:, 0], ang[:, 1], ang[:, 2])
    a = kinematics.head_angles_deg(q)
    assert np.allclose(np.column_stack([a["axial"], a["flexion"], a["lateral"]]), ang)


def test_quaternion_boundary_with_scipy():
    r = Rotation.from_euler("z", 90, degrees=True)
    assert quat.from_rotation(r) == pytest.approx([np.sqrt(0.5), 0, 0, np.sqrt(0.5)])
    q = np.random.default_rng(2).normal(size=(50, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    p = np.random.default_rng(3).normal(size=(50, 4))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    ours = quat.multiply(q, p)
    theirs = quat.from_rotation(quat.to_rotation(q) * quat.to_rotation(p))
    assert np.allclose(quat.positive_w(ours), theirs)


@pytest.mark.parametrize("deg, cm", [(1, 1.57), (4.5, 7.08), (8, 12.65)])
def test_laser_conversion_table_at_90_cm(deg, cm):
    assert kinematics.deg_to_cm(deg, 90.0) == pytest.approx(cm, abs=0.005)
    assert kinematics.cm_to_deg(cm, 90.0) == pytest.approx(deg, abs=0.01)
