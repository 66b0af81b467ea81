"""Calibration parts: persistence per device, neutral capture, rest bias, magnetometer fit,
functional alignment quality and redo request."""

import json
import os
import stat

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.calibration.alignment import functional_alignment
from cervitrack.calibration.head import HeadCalibration
from cervitrack.calibration.magnetometer import MagCalibration, fit_ellipsoid
from cervitrack.calibration.neutral import MAX_SPREAD_DEG, capture_neutral
from cervitrack.calibration.rest import GyroBiasAverager, estimate_rest, rest_bias_from_raw
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.stores import calibrations as store


# ------------------------------------------------------------------------------ persistence
def make_calibration():
    return HeadCalibration(q_sensor_head=quat.from_axis_angle([1, 2, 3], 0.7),
                           q_world_neutral=quat.from_axis_angle([0, 0, 1], 0.2),
                           gyr_bias_rad_s=np.array([0.001, -0.002, 0.003]),
                           quality={"score": 81.0, "ok": True})


def test_saved_calibration_is_reused_per_device_with_owner_only_permissions():
    cal = make_calibration()
    path = store.save_calibration("ble:AA:BB:CC:DD:EE:FF", cal, t_saved_s=1.7e9)
    assert path.parent.parent == data_dir()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = store.load_calibration("ble:AA:BB:CC:DD:EE:FF")
    np.testing.assert_allclose(loaded.q_sensor_head, cal.q_sensor_head)
    np.testing.assert_allclose(loaded.gyr_bias_rad_s, cal.gyr_bias_rad_s)
    assert loaded.quality["score"] == 81.0
    assert store.load_calibration("serial:/dev/ttyUSB0:reference") is None


def test_device_ids_map_to_distinct_safe_file_names():
    a = store.calibration_path("serial:/dev/ttyUSB0")
    b = store.calibration_path("serial:/dev/ttyUSB1")
    c = store.calibration_path("../../etc/passwd")
    assert a != b and a.parent == b.parent == c.parent
    assert "/" not in c.name and c.suffix == ".json"
    with pytest.raises(ValueError):
        store.calibration_path("")


def test_saving_again_replaces_and_delete_removes():
    store.save_calibration("sim", make_calibration())
    newer = make_calibration()
    newer.quality = {"score": 95.0}
    store.save_calibration("sim", newer)
    assert store.load_calibration("sim").quality["score"] == 95.0
    assert store.delete_calibration("sim") and store.load_calibration("sim") is None


def test_a_corrupt_or_foreign_file_is_a_clear_error(tmp_path):
    path = store.save_calibration("dev-1", make_calibration())
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        store.load_calibration("dev-1")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"q_sensor_head_wxyz": [1, 1, 0, 0]}))
    with pytest.raises(ValueError, match="unit quaternion"):
        store.read_calibration_file(bad)
    with pytest.raises(ValueError, match="not found"):
        store.read_calibration_file(tmp_path / "missing.json")


# ------------------------------------------------------------------------------ neutral
def test_neutral_is_the_quaternion_mean_of_the_head_orientation():
    rng = np.random.default_rng(0)
    q_world_head_true = quat.from_axis_angle([0.2, 0.1, 1.0], np.radians(130.0))
    q_sensor_head = quat.from_axis_angle([1, -1, 0.4], np.radians(50.0))
    sway = quat.from_rotvec(rng.normal(0, np.radians(0.3), (400, 3)))
    q_world_head = quat.multiply(q_world_head_true, sway)
    # Some samples with the opposite (equivalent) sign must not disturb the mean.
    q_world_sensor = quat.multiply(q_world_head, quat.conjugate(q_sensor_head))
    q_world_sensor[::3] *= -1
    neutral = capture_neutral(q_world_sensor, q_sensor_head)
    assert neutral.ok and neutral.n == 400
    assert quat.angle_deg(quat.relative(q_world_head_true, neutral.q_world_neutral)) < 0.05
    assert neutral.spread_deg == pytest.approx(np.sqrt(3) * 0.3, rel=0.1)


def test_a_moving_neutral_window_is_rejected():
    q = quat.from_axis_angle([0, 0, 1], np.radians(np.linspace(0, 8, 100)))
    neutral = capture_neutral(q, quat.IDENTITY_WXYZ)
    assert neutral.spread_deg > MAX_SPREAD_DEG and not neutral.ok


# ------------------------------------------------------------------------------ rest bias
def test_rest_estimate_uses_the_accelerometer_for_up():
    acc = np.tile([0.0, 9.81 * np.sin(0.3), 9.81 * np.cos(0.3)], (200, 1))
    est = estimate_rest(np.arange(200) / 100, np.tile(quat.IDENTITY_WXYZ, (200, 1)),
                        np.tile([0.01, 0.0, -0.02], (200, 1)), acc)
    np.testing.assert_allclose(est.up_sensor, [0, np.sin(0.3), np.cos(0.3)], atol=1e-12)
    np.testing.assert_allclose(est.gyr_bias_rad_s, [0.01, 0.0, -0.02])
    assert est.bias_usable and est.duration_s == pytest.approx(1.99)


def test_horizontal_bias_is_measured_against_the_accelerometer_tilt():
    """A window in which the head slowly tilts by 0.2 deg (sway) while the gyro has a bias:
    the plain mean mistakes the sway for bias; the accelerometer-referenced estimate does not."""
    n, rate = 400, 100.0
    t = np.arange(n) / rate
    bias = np.radians([0.2, -0.1, 0.15])
    tilt_rad = np.radians(0.2) * t / t[-1]  # about sensor x (horizontal: up is sensor z)
    gyr = np.column_stack([np.full(n, np.radians(0.2) / t[-1]), np.zeros(n), np.zeros(n)]) + bias
    q = quat.from_axis_angle([1, 0, 0], tilt_rad)
    acc = quat.rotate(quat.conjugate(q), [0, 0, 9.81])
    plain, with_acc = GyroBiasAverager(), GyroBiasAverager()
    plain.add(gyr, t[-1])
    with_acc.add(gyr, t[-1], acc_m_s2=acc)
    assert np.degrees(abs(plain.bias_rad_s[0] - bias[0])) > 0.04
    np.testing.assert_allclose(np.degrees(with_acc.bias_rad_s), np.degrees(bias), atol=2e-3)


def test_bias_windows_are_weighted_by_duration_squared_and_moving_windows_refused():
    avg = GyroBiasAverager()
    assert avg.bias_rad_s is None
    avg.add(np.tile([0.01, 0, 0], (400, 1)), 4.0)
    avg.add(np.tile([0.02, 0, 0], (100, 1)), 1.0)
    assert avg.bias_rad_s[0] == pytest.approx((16 * 0.01 + 1 * 0.02) / 17)
    assert not avg.add(np.zeros((100, 3)), 1.0, speed_deg_s=np.full(100, 3.0))
    assert avg.total_s == pytest.approx(5.0)


def test_rest_bias_from_raw_finds_rest_windows_between_movements():
    rate = 100.0
    t = np.arange(int(30 * rate)) / rate
    bias = np.radians([0.3, -0.2, 0.25])
    moving = (t % 10) > 6
    rng = np.random.default_rng(1)
    gyr = bias + rng.normal(0, np.radians(0.05), (len(t), 3))
    gyr[moving] += np.radians([40.0, -20.0, 30.0]) * np.sin(t[moving, None] * 5)
    acc = np.tile([0, 0, 9.81], (len(t), 1)) + rng.normal(0, 0.01, (len(t), 3))
    acc[moving] += np.array([2.0, 1.0, 0.5]) * np.sin(t[moving, None] * 7)
    est, rest_s = rest_bias_from_raw(t, gyr, acc)
    np.testing.assert_allclose(np.degrees(est), np.degrees(bias), atol=0.01)
    assert 12.0 <= rest_s <= 18.0
    assert rest_bias_from_raw(t, gyr + np.radians(30.0), acc) == (None, 0.0)


# ------------------------------------------------------------------------------ magnetometer
def test_ellipsoid_fit_recovers_hard_and_soft_iron():
    rng = np.random.default_rng(3)
    field = np.array([20.0, 0.0, -45.0])
    h = Rotation.random(1500, random_state=4).apply(field)
    soft = np.array([[1.10, 0.05, -0.02], [0.05, 0.90, 0.03], [-0.02, 0.03, 1.05]])  # symmetric
    hard = np.array([12.0, -30.0, 5.0])
    m = h @ soft.T + hard + rng.normal(0, 0.2, h.shape)
    cal = fit_ellipsoid(m, field_uT=float(np.linalg.norm(field)))
    np.testing.assert_allclose(cal.hard_iron_uT, hard, atol=0.1)
    np.testing.assert_allclose(cal.soft_iron @ soft, np.eye(3), atol=3e-3)
    corrected = cal.apply(m)
    np.testing.assert_allclose(np.linalg.norm(corrected, axis=1), np.linalg.norm(field), rtol=0.02)
    np.testing.assert_allclose(corrected, h, atol=1.0)
    assert cal.residual_rms < 0.01 and cal.coverage == 1.0
    again = MagCalibration.from_dict(cal.to_dict())
    np.testing.assert_allclose(again.apply(m), corrected)


def test_ellipsoid_fit_with_a_general_distortion_leaves_only_a_rotation():
    rng = np.random.default_rng(5)
    a = np.eye(3) + rng.normal(0, 0.1, (3, 3))
    h = Rotation.random(1000, random_state=6).apply([30.0, 0, 0])
    cal = fit_ellipsoid(h @ a.T + [3.0, 4.0, -5.0])
    w_a = cal.soft_iron @ a * np.linalg.norm([30.0]) / cal.field_uT
    np.testing.assert_allclose(w_a @ w_a.T, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(cal.hard_iron_uT, [3.0, 4.0, -5.0], atol=1e-6)


def test_ellipsoid_fit_refuses_too_little_or_degenerate_data():
    with pytest.raises(ValueError, match="at least 9"):
        fit_ellipsoid(np.ones((5, 3)))
    planar = np.column_stack([np.cos(np.linspace(0, 6, 200)), np.sin(np.linspace(0, 6, 200)), np.zeros(200)])
    with pytest.raises(ValueError, match="more orientations"):
        fit_ellipsoid(30 * planar)


# ------------------------------------------------------------------------------ alignment
def movement(q_world_sensor0, axis_sensor, amplitude_deg, n=200):
    angles = np.radians(amplitude_deg) * np.sin(np.linspace(0, 2 * np.pi, n))
    return quat.multiply(q_world_sensor0, quat.from_axis_angle(axis_sensor, angles))


def test_alignment_recovers_the_mount_and_scores_a_good_calibration():
    q_head_sensor = quat.from_rotation(Rotation.from_euler("XYZ", [20, -30, 45], degrees=True))
    q_sensor_head = quat.conjugate(q_head_sensor)
    head_y = quat.rotate(q_sensor_head, [0, 1, 0])  # head axes in sensor coordinates
    head_z = quat.rotate(q_sensor_head, [0, 0, 1])
    q0 = quat.multiply(quat.from_axis_angle([0, 0, 1], 1.0), q_head_sensor)  # neutral: head z up
    a = functional_alignment(head_z, movement(q0, head_y, 20), movement(q0, head_z, 30))
    assert a.ok and a.score > 90 and not a.problems
    assert quat.angle_deg(quat.relative(q_sensor_head, a.q_sensor_head)) < 1e-6


def test_a_sloppy_nod_is_reported_with_a_redo_request():
    q_sensor_head = quat.IDENTITY_WXYZ
    wobbly = quat.multiply(movement(quat.IDENTITY_WXYZ, [0, 1, 0], 20),
                           quat.from_axis_angle([1, 0, 0], np.radians(8 * np.sin(np.linspace(0, 9, 200)))))
    a = functional_alignment([0, 0, 1], wobbly, movement(quat.IDENTITY_WXYZ, [0, 0, 1], 30))
    assert not a.ok and a.score == 0.0
    assert any("pure nod" in p for p in a.problems)
    small = functional_alignment([0, 0, 1], movement(q_sensor_head, [0, 1, 0], 3),
                                 movement(q_sensor_head, [0, 0, 1], 30))
    assert not small.ok and any("too small" in p for p in small.problems)
