"""The pipeline worker: commands from the GUI, events and samples to the feed."""

import copy
import time

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.trainer.gui.catalog import catalog
from cervitrack.trainer.gui.sources import SimSource, open_source
from cervitrack.trainer.gui.worker import PipelineWorker


def run_until(worker, predicate, step_s=0.1, max_s=300.0):
    events = []
    while worker.t_s < max_s:
        worker.step_to(round(worker.t_s + step_s, 9))
        events += worker.feed.drain_events()
        if predicate(events):
            return events
    raise AssertionError("condition not reached")


def kinds(events):
    return [e.get("prompt", e["kind"]) for e in events]


@pytest.fixture(scope="module")
def calibration_run():
    worker = PipelineWorker(SimSource(SimConfig(seed=3)), catalog=catalog(1))
    worker.submit("calibrate")
    events = run_until(worker, lambda ev: any(e["kind"] == "test_end" for e in ev))
    return worker, events


@pytest.fixture
def calibrated(calibration_run):
    """A fresh worker on the same virtual patient (same seed), given the calibration."""
    run, events = calibration_run
    cal = copy.deepcopy(run.calibration)
    worker = PipelineWorker(SimSource(SimConfig(seed=3)), catalog=catalog(1), calibration=cal)
    run_until(worker, lambda ev: worker.t_s >= 6.0)
    return worker, events


def test_calibration_run_emits_the_wizard_steps_and_a_quality_score(calibration_run):
    worker, events = calibration_run
    order = kinds(events)
    assert order.index("sit_still") < order.index("nod") < order.index("turn") < order.index("calibration")
    cal = next(e for e in events if e["kind"] == "calibration")
    assert cal["ok"] and 0 < cal["score"] <= 100
    assert worker.calibration is not None and worker.feed.state["calibrated"]


def test_samples_reach_the_ring_with_head_angles_after_calibration(calibrated):
    worker, _ = calibrated
    ring = worker.feed.ring
    assert ring.count == worker.feed.status["frames"]
    recent = ring.latest(50)
    assert np.isfinite(recent[ring.index["axial_deg"]]).all()
    assert np.all(np.diff(recent[ring.index["t_s"]]) > 0)


def test_rezero_makes_the_current_posture_the_neutral(calibrated):
    worker, _ = calibrated
    worker.submit("rezero")
    events = run_until(worker, lambda ev: any(e["kind"] == "rezero" for e in ev), step_s=0.05)
    assert "rezero" in kinds(events)
    run_until(worker, lambda ev: True, step_s=0.05)
    g = worker.feed.ring.channel("global_deg", 5)
    assert np.all(g < 1.5)  # only tremor and sway since the capture (< 0.3 s ago)


def test_a_test_reuses_the_calibration_and_mark_and_abort_reach_the_engine(calibrated):
    worker, _ = calibrated
    worker.submit("test", "jpe")
    events = run_until(worker, lambda ev: "return" in kinds(ev))
    assert "sit_still" not in kinds(events)  # the existing calibration is reused
    worker.submit("mark")
    events = run_until(worker, lambda ev: any(e["kind"] == "trial" for e in ev))
    assert "mark" in kinds(events)
    worker.submit("abort")
    events = run_until(worker, lambda ev: "aborted" in kinds(ev))
    assert worker.engine is None and worker.feed.state["done"]


def test_the_smoothed_cursor_is_steadier_than_the_raw_one_at_rest(calibrated):
    worker, _ = calibrated
    run_until(worker, lambda ev: worker.t_s >= 12.0, step_s=0.05)
    ring = worker.feed.ring
    raw, smooth = ring.channel("wall_u_raw", 200), ring.channel("wall_u", 200)
    assert np.std(np.diff(smooth)) < 0.5 * np.std(np.diff(raw))  # tremor and noise removed
    assert abs(smooth.mean() - raw.mean()) < np.radians(0.3)  # but no offset


def test_rezero_without_calibration_explains_itself():
    worker = PipelineWorker(SimSource(SimConfig()), catalog=catalog(1))
    worker.submit("rezero")
    events = run_until(worker, lambda ev: bool(ev))
    assert events[0]["kind"] == "message" and "Calibrate first" in events[0]["text"]


def test_the_thread_paces_the_simulator_and_stops_cleanly():
    worker = PipelineWorker(SimSource(SimConfig()), speed=10.0)
    worker.start()
    deadline = time.monotonic() + 60
    while worker.feed.ring.count < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    assert worker.feed.ring.count >= 200
    assert worker.feed.status["state"] == "disconnected"
    t = worker.feed.ring.channel("t_s", 200)
    assert np.all(np.diff(t) > 0)


def test_an_unknown_device_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="bogus"):
        open_source("bogus:x")


def test_a_real_udp_link_streams_through_the_worker_thread():
    """opentrack datagrams sent to a local UDP port reach the ring through the transport's
    supervised link and the pipeline thread; the panel's state says connected."""
    import socket

    from cervitrack.firmware_bridge.protocols.opentrack_udp import encode_datagrams

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker = PipelineWorker(open_source(f"udp:127.0.0.1:{port}"))
    worker.start()
    n = 0
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            deadline = time.monotonic() + 30
            while worker.feed.ring.count < 100 and time.monotonic() < deadline:
                yaw = np.array([[10.0 * np.sin(n / 20), 0.0, 0.0]])
                tx.sendto(encode_datagrams(np.zeros((1, 3)), yaw), ("127.0.0.1", port))
                n += 1
                time.sleep(0.005)
        state = worker.feed.status["state"]
    finally:
        worker.stop()
    assert worker.feed.ring.count >= 100
    assert state == "connected"
    t = worker.feed.ring.channel("t_s", 100)
    assert np.all(np.diff(t) > 0), (np.diff(t)[np.diff(t) <= 0], np.flatnonzero(np.diff(t) <= 0), t)


def test_the_wall_cursor_ends_on_the_trials_relocation_mark(calibrated):
    """During a trial the wall faces the trial's reference, so the cursor over the relocation
    window lands where the engine's error puts the mark."""
    from cervitrack.signal import kinematics

    worker, _ = calibrated
    worker.submit("test", "jpe")
    events = run_until(worker, lambda ev: any(e["kind"] == "trial" for e in ev), step_s=0.05)
    trial = next(e for e in events if e["kind"] == "trial")
    assert trial["valid"]
    ring = worker.feed.ring
    block = ring.latest(ring.capacity)
    t = block[ring.index["t_s"]]
    w = (t >= trial["ret_window"]["t0_s"]) & (t <= trial["ret_window"]["t1_s"])
    cursor_deg = np.degrees(np.arctan([block[ring.index["wall_u_raw"]][w].mean(),
                                       block[ring.index["wall_v_raw"]][w].mean()]))
    smooth_deg = np.degrees(np.arctan([block[ring.index["wall_u"]][w].mean(),
                                       block[ring.index["wall_v"]][w].mean()]))
    e = trial["error_deg"]
    mark = kinematics.laser_point(kinematics.pose_from_angles_deg(e["axial"], e["flexion"], e["lateral"]))
    np.testing.assert_allclose(cursor_deg, [mark["x_deg"], mark["y_deg"]], atol=0.05)
    # The smoothed cursor the patient sees has settled there too.
    np.testing.assert_allclose(smooth_deg, [mark["x_deg"], mark["y_deg"]], atol=0.25)


def test_a_good_calibration_is_saved_and_reused_on_the_next_connection():
    cfg = SimConfig(seed=5)
    first = PipelineWorker(SimSource(cfg), catalog=catalog(1), save_calibrations=True)
    first.submit("calibrate")
    events = run_until(first, lambda ev: any(e["kind"] == "test_end" for e in ev))
    assert any(e["kind"] == "message" and "saved" in e["text"] for e in events)
    second = PipelineWorker(SimSource(cfg), catalog=catalog(1), save_calibrations=True)
    assert second.feed.status["saved_calibration"]
    run_until(second, lambda ev: second.t_s >= 6.0)
    second.submit("use_saved")
    events = run_until(second, lambda ev: any(e["kind"] == "calibration_loaded" for e in ev))
    np.testing.assert_allclose(second.calibration.q_sensor_head, first.calibration.q_sensor_head)
    run_until(second, lambda ev: second.t_s >= 8.0)
    assert np.all(second.feed.ring.channel("global_deg", 50) < 2.0)  # the neutral is now
