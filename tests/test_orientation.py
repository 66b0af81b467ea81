"""Orientation from raw data (VQF streaming and offline) and device passthrough."""

import numpy as np
import pytest

from cervitrack.signal import quaternion as quat
from cervitrack.signal.orientation import (
    HEAD_VQF_PARAMS,
    DeviceOrientation,
    VqfOrientation,
    fuse_offline,
    gyro_period_scale,
    make_orientation,
)
from cervitrack.signal.samples import SampleBatch

GRAVITY = 9.80665


def rotating_sensor(t_s, rate_deg_s=30.0, axis=(0.0, 0.0, 1.0), tilt_deg=20.0):
    """Raw readings of a sensor tilted about x, turning at a constant rate about world `axis`:
    gyro (sensor frame), acc (gravity only) and the true q_world_sensor."""
    axis = np.asarray(axis) / np.linalg.norm(axis)
    q0 = quat.from_axis_angle([1, 0, 0], np.radians(tilt_deg))
    q = quat.multiply(quat.from_axis_angle(axis, np.radians(rate_deg_s) * t_s), q0)
    gyr = quat.rotate(quat.conjugate(q), np.radians(rate_deg_s) * axis)
    acc = quat.rotate(quat.conjugate(q), [0.0, 0.0, GRAVITY])
    return gyr, acc, q


def test_gyro_period_scale_is_the_ratio_of_true_to_nominal_interval():
    t = np.array([0.0, 0.01, 0.025, 0.03, 0.03])
    np.testing.assert_allclose(gyro_period_scale(t, 0.01), [1.0, 1.0, 1.5, 0.5, 1.0])
    np.testing.assert_allclose(gyro_period_scale(t[1:], 0.01, t_prev_s=-0.01)[:1], [2.0])


def test_jittered_stream_integrates_the_true_rotation():
    """Irregular sample times (BLE jitter): with the gyro scaled by the true period the heading
    after 10 s matches the truth; fed as if uniform it would not."""
    rng = np.random.default_rng(4)
    dt = 0.01 * rng.uniform(0.5, 1.5, 1000)
    t = np.cumsum(dt)
    # A gyro reading is the mean rate over the interval before its sample.
    gyr, acc, q_true = rotating_sensor(t, rate_deg_s=20.0)
    q_est = fuse_offline(t, gyr, acc, rate_hz=100.0, params={"restBiasEstEnabled": False,
                                                            "motionBiasEstEnabled": False}, causal=True)
    err = quat.angle_deg(quat.relative(quat.relative(q_true[0], q_true[-1]),
                                       quat.relative(q_est[0], q_est[-1])))
    assert err < 0.05
    q_naive = fuse_offline(np.arange(1000) * 0.01, gyr, acc, rate_hz=100.0, causal=True)
    err_naive = quat.angle_deg(quat.relative(quat.relative(q_true[0], q_true[-1]),
                                             quat.relative(q_naive[0], q_naive[-1])))
    assert err_naive > 20 * err


@pytest.mark.parametrize("chunk", [1, 4, 37])
def test_chunked_streaming_equals_one_batch(chunk):
    t = np.arange(600) / 100.0
    gyr, acc, _ = rotating_sensor(t, axis=(0.3, 0.2, 1.0))
    batch = SampleBatch.build(np.arange(600), t_device_s=t, t_s=t, gyr_rad_s=gyr, acc_m_s2=acc)
    whole = VqfOrientation(100.0).process(batch)
    stream = VqfOrientation(100.0)
    parts = np.concatenate([stream.process(batch.take(slice(i, i + chunk))) for i in range(0, 600, chunk)])
    np.testing.assert_allclose(parts, whole, atol=1e-12)


def test_streaming_causal_offline_form_matches_live_form():
    t = np.arange(500) / 100.0
    gyr, acc, _ = rotating_sensor(t)
    batch = SampleBatch.build(np.arange(500), t_device_s=t, t_s=t, gyr_rad_s=gyr, acc_m_s2=acc)
    live = VqfOrientation(100.0, params={}).process(batch)
    np.testing.assert_allclose(fuse_offline(t, gyr, acc, params={}, causal=True), live, atol=1e-12)


def test_offline_vqf_tracks_a_rotation_and_uses_the_given_bias():
    t = np.arange(2000) / 100.0
    gyr, acc, q_true = rotating_sensor(t, rate_deg_s=10.0)
    bias = np.radians([0.5, -0.4, 0.6])
    q = fuse_offline(t, gyr + bias, acc, gyr_bias_rad_s=bias)
    rel_err = quat.angle_deg(quat.relative(quat.relative(q_true[0], q_true), quat.relative(q[0], q)))
    assert rel_err.max() < 0.05
    up_err = np.degrees(np.arccos(np.clip(quat.rotate(q, [0, 0, 1.0])[:, 2], -1, 1)))
    # VQF's world z is up: rotating the sensor's estimate of up back gives world up.
    assert np.all(np.isfinite(up_err))
    tilt_true = np.degrees(np.arccos(quat.rotate(q_true, [0, 0, 1.0])[:, 2]))
    tilt_est = np.degrees(np.arccos(np.clip(quat.rotate(q, [0, 0, 1.0])[:, 2], -1, 1)))
    np.testing.assert_allclose(tilt_est, tilt_true, atol=0.05)


def test_nine_axis_is_opt_in_and_gives_enu_heading():
    t = np.arange(3000) / 100.0
    gyr, acc, q_true = rotating_sensor(t, rate_deg_s=0.0)
    field_world = np.array([0.0, 20.0, -40.0])  # ENU: north horizontal component, pointing down
    mag = quat.rotate(quat.conjugate(q_true), field_world)
    q9 = fuse_offline(t, gyr, acc, mag, params={})
    assert quat.angle_deg(quat.relative(q_true[-1], q9[-1])) < 0.5
    batch = SampleBatch.build(np.arange(3000), t_device_s=t, t_s=t, gyr_rad_s=gyr, acc_m_s2=acc)
    with pytest.raises(ValueError, match="mag_uT"):
        VqfOrientation(100.0, use_mag=True).process(batch)


def test_head_profile_starts_with_vqf_bias_estimation_until_a_bias_is_seeded():
    v = VqfOrientation(100.0)
    assert v.startup
    v.set_bias(np.zeros(3))
    assert not v.startup and v.params == HEAD_VQF_PARAMS
    assert not VqfOrientation(100.0, params={}).startup


def test_device_orientation_passes_the_quaternion_through():
    q = quat.from_axis_angle([0.1, 0.5, 1.0], np.radians(np.linspace(0, 300, 50)))
    batch = SampleBatch.build(np.arange(50), quat_wxyz=2.0 * q)
    np.testing.assert_allclose(DeviceOrientation().process(batch), q, atol=1e-15)
    assert isinstance(make_orientation(batch, 100.0), DeviceOrientation)
    with pytest.raises(ValueError, match="no orientation"):
        DeviceOrientation().process(SampleBatch.build(np.arange(3), gyr_rad_s=np.zeros((3, 3))))
