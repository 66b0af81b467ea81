"""Head kinematics: angles against scipy, the reference's worked examples, laser, speed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat


def test_head_angles_equal_scipy_intrinsic_zxy_on_random_rotations():
    rot = Rotation.random(2000, random_state=7)
    angles = kinematics.head_angles_deg(quat.from_rotation(rot))
    expected = rot.as_euler("ZXY", degrees=True)  # (axial about z, lateral about x, flexion about y)
    np.testing.assert_allclose(angles["axial"], expected[:, 0], atol=1e-9)
    np.testing.assert_allclose(angles["lateral"], expected[:, 1], atol=1e-9)
    np.testing.assert_allclose(angles["flexion"], expected[:, 2], atol=1e-9)
    np.testing.assert_allclose(angles["global"], np.degrees(rot.magnitude()), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(-170, 170), st.floats(-80, 80), st.floats(-85, 85))
def test_pose_from_angles_round_trips(axial, flexion, lateral):
    q = kinematics.pose_from_angles_deg(axial, flexion, lateral)
    a = kinematics.head_angles_deg(q)
    assert a["axial"] == pytest.approx(axial, abs=1e-7)
    assert a["flexion"] == pytest.approx(flexion, abs=1e-7)
    assert a["lateral"] == pytest.approx(lateral, abs=1e-7)


@pytest.mark.parametrize("axis, component, sign", [
    ([0, 0, 1], "axial", +1),     # about superior: turn left is positive
    ([0, 1, 0], "flexion", +1),   # about left: chin down (flexion) is positive
    ([1, 0, 0], "lateral", +1),   # about anterior: right ear down is positive
])
def test_single_axis_rotations_give_one_signed_component(axis, component, sign):
    q = quat.from_axis_angle(axis, np.radians(12.0))
    a = kinematics.head_angles_deg(q)
    assert a[component] == pytest.approx(sign * 12.0)
    assert a["global"] == pytest.approx(12.0)
    for other in set(kinematics.COMPONENTS) - {component}:
        assert a[other] == pytest.approx(0.0, abs=1e-12)


def test_flexion_is_chin_down():
    """A flexed head's nose (anterior axis) points below horizontal."""
    q = kinematics.pose_from_angles_deg(0.0, 20.0, 0.0)
    nose = quat.rotate(q, [1.0, 0.0, 0.0])
    assert nose[2] < 0


def test_worked_example_fusion_and_angles_3_2_and_clinical_1_4():
    """3 deg axial + 2 deg extension + 1.5 deg lateral, built flexion first (ISB Z-X-Y on ISB
    axes): decomposed axial first it reads 3.051 / 2.076 / 1.392 (Wu et al. 2002, J Biomech 35:543–548);
    3D 3.93 deg, pointing 3.65 deg, 5.7 cm at 90 cm (a Cervitrack definition: the geodesic angle between orientations)."""
    q = quat.from_rotation(Rotation.from_euler("YXZ", [-2.0, 1.5, 3.0], degrees=True))
    a = kinematics.head_angles_deg(q)
    assert a["axial"] == pytest.approx(3.051, abs=5e-4)
    assert a["flexion"] == pytest.approx(-2.076, abs=5e-4)
    assert a["lateral"] == pytest.approx(1.392, abs=5e-4)
    assert a["global"] == pytest.approx(3.925, abs=5e-4)  # printed as 3.93 in the reference
    laser = kinematics.laser_point(q, 90.0)
    assert laser["pointing_deg"] == pytest.approx(3.65, abs=5e-3)
    assert np.hypot(laser["x_cm"], laser["y_cm"]) == pytest.approx(5.7, abs=0.05)


def test_worked_example_sequence_matters_for_large_rotations():
    """Head turned 60 deg, then flexed 20 deg about its own mediolateral axis: axial-first
    decomposition reads it exactly (Wu et al. 2002, J Biomech 35:543–548 table, Y-X-Z row)."""
    q = quat.multiply(quat.from_axis_angle([0, 0, 1], np.radians(60)),
                      quat.from_axis_angle([0, 1, 0], np.radians(20)))
    a = kinematics.head_angles_deg(q)
    assert (a["axial"], a["flexion"], a["lateral"]) == pytest.approx((60.0, 20.0, 0.0), abs=1e-9)


@pytest.mark.parametrize("angle_deg, cm_90, cm_100, cm_152, cm_180", [
    (1, 1.57, 1.75, 2.66, 3.14), (2, 3.14, 3.49, 5.32, 6.29), (3, 4.72, 5.24, 7.99, 9.43),
    (4.5, 7.08, 7.87, 11.99, 14.17), (6, 9.46, 10.51, 16.02, 18.92), (8, 12.65, 14.05, 21.42, 25.30),
])
def test_laser_table_clinical_protocols_1_5(angle_deg, cm_90, cm_100, cm_152, cm_180):
    for d, cm in ((90, cm_90), (100, cm_100), (152.4, cm_152), (180, cm_180)):
        assert kinematics.deg_to_cm(angle_deg, d) == pytest.approx(cm, abs=0.006)
        assert kinematics.cm_to_deg(cm, d) == pytest.approx(angle_deg, abs=0.005)


@pytest.mark.parametrize("cm, deg", [(2, 1.27), (4, 2.54), (6, 3.81), (7.1, 4.51), (8, 5.08), (12, 7.59)])
def test_laser_inverse_table_at_90_cm(cm, deg):
    assert kinematics.cm_to_deg(cm, 90.0) == pytest.approx(deg, abs=0.005)


def test_laser_point_of_a_pure_turn_and_nod():
    left = kinematics.laser_point(kinematics.pose_from_angles_deg(10.0, 0.0, 0.0), 100.0)
    assert left["x_cm"] == pytest.approx(100 * np.tan(np.radians(10)))  # to the patient's left
    assert left["y_cm"] == pytest.approx(0.0, abs=1e-12)
    down = kinematics.laser_point(kinematics.pose_from_angles_deg(0.0, 10.0, 0.0), 100.0)
    assert down["y_cm"] == pytest.approx(-100 * np.tan(np.radians(10)))  # flexion points down
    assert down["y_deg"] == pytest.approx(-10.0)


def test_anterior_axis_closed_form_equals_scipys_rotation():
    rng = np.random.default_rng(4)
    q = rng.standard_normal((50, 4))  # not normalised: the closed form is homogeneous
    expected = quat.rotate(q / np.linalg.norm(q, axis=1, keepdims=True), np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(kinematics.anterior_axis(q).T, expected, atol=1e-12)
    np.testing.assert_allclose(kinematics.anterior_axis(q[0])[:, 0], expected[0], atol=1e-12)


def test_laser_is_blind_to_lateral_flexion_and_misses_the_wall_behind():
    tilt = kinematics.laser_point(kinematics.pose_from_angles_deg(0.0, 0.0, 15.0))
    assert tilt["pointing_deg"] == pytest.approx(0.0, abs=1e-9)
    behind = kinematics.laser_point(kinematics.pose_from_angles_deg(120.0, 0.0, 0.0))
    assert np.isnan(behind["x_cm"])


def test_angular_speed_of_a_constant_rotation():
    rate_hz, speed = 200.0, 40.0
    t = np.arange(400) / rate_hz
    q = quat.from_axis_angle([0.3, -0.2, 0.9], np.radians(speed) * t)
    for lag in (1, 10):
        s = kinematics.angular_speed_deg_s(t, q, lag)
        np.testing.assert_allclose(s, speed, rtol=1e-9)


def test_angular_speed_uses_true_intervals_and_flags_bad_times():
    t = np.array([0.0, 0.01, 0.03, 0.03, 0.05])
    q = quat.from_axis_angle([0, 0, 1], np.radians(10.0) * np.array([0.0, 0.01, 0.03, 0.03, 0.05]))
    s = kinematics.angular_speed_deg_s(t, q, 1)
    assert s[1] == pytest.approx(10.0) and s[2] == pytest.approx(10.0)
    assert np.isnan(s[3])


def test_rotvec_is_sequence_free():
    q = quat.from_axis_angle([0, 0, 1], np.radians(5.0))
    np.testing.assert_allclose(kinematics.rotvec_deg(q), [0, 0, 5.0], atol=1e-12)


def test_small_batches_take_the_same_values_as_large_ones():
    """Live chunks (a few poses) use a plain-float path: identical results."""
    q = quat.from_rotation(Rotation.random(40, random_state=9))
    q[3] *= 1.7  # not normalised
    whole = kinematics.head_angles_deg(np.tile(q, (2, 1)))
    for i in range(0, 40, 4):
        part = kinematics.head_angles_deg(q[i:i + 4])
        for k in part:
            np.testing.assert_allclose(part[k], whole[k][i:i + 4], atol=1e-10)


def test_angular_speed_small_and_large_paths_agree():
    rng = np.random.default_rng(2)
    t = np.cumsum(rng.uniform(0.002, 0.003, 300))
    q = quat.from_rotvec(np.cumsum(rng.normal(0, 0.01, (300, 3)), axis=0))
    whole = kinematics.angular_speed_deg_s(t, q, 20)
    for i in range(20, 300, 4):
        part = kinematics.angular_speed_deg_s(t[i - 20:i + 4], q[i - 20:i + 4], 20)[20:]
        np.testing.assert_allclose(part, whole[i:i + 4], rtol=1e-9)
