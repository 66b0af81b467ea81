"""Heading drift monitor for device-fused orientation."""

import math

import numpy as np
import pytest

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.signal import quaternion as quat
from cervitrack.signal.drift import DriftParams, HeadingDriftMonitor, signed_heading_deg
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession


def test_signed_heading_of_pure_yaw_and_of_tilted_sensor():
    a = quat.from_axis_angle([1, 0.3, 0], np.radians(40))  # any tilted orientation
    for yaw in (-30.0, 0.5, 170.0):
        b = quat.multiply(quat.from_axis_angle([0, 0, 1], np.radians(yaw)), a)
        assert signed_heading_deg(a, b) == pytest.approx(yaw)


def test_drift_rate_recovered_from_still_runs_with_moves_between():
    rate_hz, drift_deg_min = 100.0, 3.0
    t = np.arange(int(60 * rate_hz)) / rate_hz
    still = (t % 10.0) < 7.0  # 7 s holds, 3 s movements
    turn_deg = np.where(still, 0.0, 40.0 * np.sin(np.pi * ((t % 10.0) - 7.0) / 3.0))
    q_head = quat.from_axis_angle([0.2, 0.1, 1.0], np.radians(turn_deg))
    q_drift = quat.from_axis_angle([0, 0, 1], np.radians(drift_deg_min * t / 60.0))
    q_mount = quat.from_axis_angle([1, -1, 0.5], np.radians(70))
    q = quat.multiply(quat.multiply(q_drift, q_head), q_mount)
    mon = HeadingDriftMonitor()
    for i in range(0, len(t), 37):  # arbitrary chunking
        mon.update(t[i:i + 37], q[i:i + 37], still[i:i + 37])
    mon.finish()
    assert mon.rate_deg_min == pytest.approx(drift_deg_min, rel=1e-6)
    assert mon.report()["still_runs"] == 6


def test_no_rate_before_enough_still_time():
    mon = HeadingDriftMonitor(DriftParams(min_total_s=10.0))
    t = np.arange(500) / 100.0
    mon.update(t, np.tile(quat.IDENTITY_WXYZ, (500, 1)), np.ones(500, bool))
    mon.finish()
    assert math.isnan(mon.rate_deg_min)
    assert mon.still_time_s == pytest.approx(4.99)


def test_pipeline_reports_the_simulated_devices_heading_drift():
    """Quaternion-output headset drifting 2 deg/min: measured during the JPE session's holds."""
    cfg = SimConfig(seed=5)
    cfg.sensor.output = "quaternion"
    cfg.sensor.fusion_heading_drift_deg_min = 2.0
    engine = JpeTest(JpeSettings(trials_per_direction=1), rate_hz=cfg.sensor.rate_hz)
    session = SimSession(cfg, engine, step_s=0.2)
    session.run()
    mon = session.pipeline.drift_monitor
    mon.finish()
    assert mon.still_time_s > 10.0
    assert session.pipeline.heading_drift_deg_min == pytest.approx(2.0, abs=0.3)


def test_no_drift_monitor_for_host_fusion():
    cfg = SimConfig(seed=5)
    cfg.sensor.output = "raw"
    session = SimSession(cfg, JpeTest(JpeSettings(trials_per_direction=1)))
    for _ in range(5):
        session.step()
    assert session.pipeline.drift_monitor is None
    assert math.isnan(session.pipeline.heading_drift_deg_min)
    assert make_decoder("reference") is not None
