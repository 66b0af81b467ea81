"""The simulated headset: deterministic OHT/1 bytes, ground truth, and a faithful link."""

import numpy as np

from cervitrack.firmware_bridge.protocols.reference import ReferenceDecoder
from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.firmware_bridge.sim.imu import GRAVITY_M_S2, mount_quat
from cervitrack.signal import quaternion as quat
from cervitrack.signal.samples import Chunk, Gap, concat
from cervitrack.trainer.clinical.prompts import make_prompt
from cervitrack.trainer.simulation.virtual_patient import VirtualPatient


def make(seed=1, **overrides):
    cfg = load_config(None, seed=seed)
    for key, value in overrides.items():
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    patient = VirtualPatient(cfg.patient, np.random.default_rng(seed))
    return cfg, patient, SimulatedHeadset(cfg, patient)


def collect(device, until_s, step_s=0.1):
    items = []
    for t in np.arange(step_s, until_s + 1e-9, step_s):
        items += device.advance(float(t))
    return items


def decode(items):
    dec = ReferenceDecoder()
    batches = [dec.feed(i.data, i.t_host_s) for i in items if isinstance(i, Chunk)]
    return concat(batches), dec


def test_same_seed_same_bytes_and_arrivals():
    a = collect(make(3)[2], 5.0)
    b = collect(make(3)[2], 5.0)
    assert [(i.t_host_s, i.data) for i in a] == [(i.t_host_s, i.data) for i in b]
    c = collect(make(4)[2], 5.0)
    assert [i.data for i in a] != [i.data for i in c]


def test_every_frame_arrives_in_order_on_a_clean_link():
    cfg, _, dev = make(2)
    batch, dec = decode(collect(dev, 10.0))
    assert dec.stats.rejected_frames == 0 and dec.stats.skipped_bytes == 0
    assert np.array_equal(batch.seq, np.arange(len(batch)))
    assert len(batch) >= 10.0 * cfg.sensor.rate_hz - 10
    # Bunching: several frames share one arrival time, and arrivals trail sampling.
    assert len(np.unique(batch.t_host_s)) < len(batch)
    truth = dev.truth.between(0, batch.seq[-1])
    lag_s = batch.t_host_s - truth.t_true_s
    assert lag_s.min() >= 0 and lag_s.max() < (cfg.link.interval_ms + cfg.link.latency_ms + cfg.link.jitter_ms) / 1e3 + 0.02


def test_device_clock_runs_with_its_offset_and_drift():
    cfg, _, dev = make(2)
    batch, _ = decode(collect(dev, 5.0))
    expected = cfg.sensor.clock_offset_s + batch.seq / cfg.sensor.rate_hz
    assert np.allclose(batch.t_device_s, expected, atol=1e-6)


def test_quaternion_output_is_the_head_orientation_through_the_mount():
    cfg, patient, dev = make(5, sensor__fusion_heading_drift_deg_min=0.0)
    batch, _ = decode(collect(dev, 3.0))
    truth = dev.truth.between(batch.seq[0], batch.seq[-1])
    q_ws_true = quat.multiply(truth.q_world_head, mount_quat(cfg.sensor.mount_rpy_deg))
    # Device heading is arbitrary: compare relative orientations (Q14 + 0.01° noise).
    rel_meas = quat.relative(batch.quat_wxyz[0], batch.quat_wxyz)
    rel_true = quat.relative(q_ws_true[0], q_ws_true)
    assert quat.angle_deg(quat.relative(rel_true, rel_meas)).max() < 0.1


def test_raw_output_integrates_to_the_truth_and_reads_gravity():
    cfg, patient, dev = make(6, sensor__output="raw", sensor__gyro_bias_dps=[0, 0, 0],
                             sensor__gyro_noise_dps=0.0, sensor__acc_noise_m_s2=0.0,
                             sensor__acc_bias_m_s2=[0, 0, 0], sensor__mount_rpy_deg=[20, -30, 45],
                             patient__tremor_deg=0.0, patient__sway_deg=0.0)
    patient.on_prompt(make_prompt("move", 0.5, "rotation_left"), 0.5)
    batch, _ = decode(collect(dev, 4.0))
    truth = dev.truth.between(batch.seq[0], batch.seq[-1])
    q_ws_true = quat.multiply(truth.q_world_head, mount_quat(cfg.sensor.mount_rpy_deg))
    period = 1.0 / cfg.sensor.rate_hz
    q = q_ws_true[0]
    for g in batch.gyr_rad_s[1:]:
        q = quat.multiply(q, quat.from_rotvec(g * period))
    # Q9 gyro quantisation (1/512 rad/s) over a 55° turn and back.
    assert quat.angle_deg(quat.relative(q_ws_true[-1], q)) < 0.5
    rest = slice(0, 40)  # before the movement: acc is gravity in the sensor frame
    up_sensor = quat.rotate(quat.conjugate(q_ws_true[rest]), [0, 0, GRAVITY_M_S2])
    assert np.abs(batch.acc_m_s2[rest] - up_sensor).max() < 0.005  # Q8: 1/256 m/s²
    # During the turn the lever arm adds centripetal and tangential acceleration.
    moving = slice(100, 200)
    up_moving = quat.rotate(quat.conjugate(q_ws_true[moving]), [0, 0, GRAVITY_M_S2])
    assert np.abs(batch.acc_m_s2[moving] - up_moving).max() > 0.02


def test_loss_and_disconnects_are_counted_and_marked():
    cfg, _, dev = make(7, link__loss_rate=0.05, link__disconnect_every_s=4.0, link__disconnect_s=0.5)
    items = collect(dev, 30.0)
    gaps = [i for i in items if isinstance(i, Gap)]
    batch, dec = decode(items)
    assert len(gaps) == dev.link.stats["disconnects"] >= 2
    assert dev.link.stats["lost_packets"] > 0
    sampled = int(dev.truth.seq[-1]) + 1
    assert len(batch) + dev.link.stats["lost_frames"] <= sampled
    assert dec.stats.rejected_frames == 0  # losses are whole packets, never corrupt frames
    assert np.all(np.diff(batch.seq) >= 1)


def test_split_packets_are_reassembled():
    _, _, dev = make(8, link__split_rate=1.0)
    items = collect(dev, 3.0)
    batch, dec = decode(items)
    assert np.array_equal(batch.seq, np.arange(len(batch)))
    assert len(items) > len(np.unique([i.t_host_s for i in items]))
