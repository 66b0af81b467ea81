"""The recording chain with the simulated headset: record, replay, re-score, export, LSL."""

import json

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import config_from_dict
from cervitrack.signal.samples import Chunk, Gap
from cervitrack.trainer.cli import main
from cervitrack.trainer.recording.decode import decode_recording
from cervitrack.trainer.recording.reader import load
from cervitrack.trainer.simulation.sim_source import SimSource


@pytest.fixture(scope="module")
def recorded_test(tmp_path_factory):
    """A one-trial-per-direction simulated JPE test with raw sensor output (host VQF fusion,
    gyro bias seeding), recorded by `demo --record`; its live JSON result."""
    folder = tmp_path_factory.mktemp("rec")
    path = folder / "jpe.cvtrec"
    sim_config = folder / "raw.toml"
    sim_config.write_text('[sensor]\noutput = "raw"\n')
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--json", "--trials", "1", "--seed", "11", "--sim-config",
                     str(sim_config), "--record", str(path)]) == 0
    return path, json.loads(out.getvalue())


def _run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_replayed_test_gives_exactly_the_live_scores(recorded_test, capsys):
    path, live = recorded_test
    replayed = _run_json(["demo", "--json", "--device", f"replay:{path}"], capsys)
    assert replayed["directions"] == live["directions"]  # exact, not approximate
    strip = ("true_error_deg",)
    assert [{k: v for k, v in t.items() if k not in strip} for t in replayed["trials"]] == \
        [{k: v for k, v in t.items() if k not in strip} for t in live["trials"]]
    assert all(d["n"] == 1 for d in live["directions"].values())


def test_recorded_test_holds_events_calibration_and_metadata(recorded_test, capsys):
    path, live = recorded_test
    rec = load(path)
    assert rec.integrity.status == "ok" and rec.integrity.closed
    kinds = [e["kind"] for e in rec.events]
    assert kinds[0] == "test_start" and "test_end" in kinds
    assert kinds.count("trial") == len(live["trials"]) and "calibration" in kinds
    assert rec.metadata["calibration"]["q_sensor_head_wxyz"] is not None
    assert rec.metadata["test"]["settings"]["trials_per_direction"] == 1
    assert rec.metadata["settings"]["seed"] == 11
    assert rec.metadata["host_clock"] == "simulated" and rec.header["protocol"] == "reference"
    assert rec.end["test_done"] is True
    assert len(rec.steps) > 100


def test_bids_export_of_a_recorded_test_has_events_on_the_sample_clock(recorded_test,
                                                                       tmp_path, capsys):
    import csv

    from bidsschematools import validator

    path, live = recorded_test
    out = tmp_path / "bids"
    assert main(["export", str(path), "--to", "bids", "--out", str(out)]) == 0
    capsys.readouterr()
    assert validator.validate_bids(str(out))["path_tracking"] == []
    events_tsv = next(out.glob("sub-*/motion/*_task-jpe_*_events.tsv"))
    with open(events_tsv, newline="") as f:
        events = list(csv.DictReader(f, delimiter="\t"))
    trials = [e for e in events if e["trial_type"] == "trial"]
    assert len(trials) == len(live["trials"])
    motion = np.loadtxt(next(out.glob("sub-*/motion/*_motion.tsv")), delimiter="\t")
    latency = motion[:, -1]
    onsets = np.array([float(e["onset"]) for e in events])
    assert np.all((onsets >= 0) & (onsets <= latency[-1] + 0.2))


def test_record_sim_and_inspect(tmp_path, capsys):
    path = tmp_path / "sim.cvtrec"
    summary = _run_json(["record", "--device", "sim", "--fast", "--duration", "3", "--seed",
                         "5", "--out", str(path), "--json"], capsys)
    assert summary["stopped"] == "duration reached" and summary["chunks"] > 0
    report = _run_json(["inspect", str(path), "--json"], capsys)
    assert report["protocol"] == "reference" and report["integrity"]["status"] == "ok"
    assert report["duration_s"] == pytest.approx(3.0, abs=0.25)
    assert report["rate_hz"] == pytest.approx(100.0, rel=0.01)
    assert report["device"]["spec"] == "sim"
    # Same seed, same bytes: the simulation is deterministic.
    again = tmp_path / "sim2.cvtrec"
    _run_json(["record", "--device", "sim", "--fast", "--duration", "3", "--seed", "5",
               "--out", str(again), "--json"], capsys)
    assert [c.data for c in load(path).chunks] == [c.data for c in load(again).chunks]


def test_lsl_receives_every_sample_of_a_sim_recording(tmp_path, monkeypatch):
    """record --lsl: an inlet on this machine gets every recorded sample, in order."""
    from cervitrack.trainer.recording import lsl as lsl_mod
    from cervitrack.trainer.recording.live import LslPoseTap
    from cervitrack.trainer.recording.session import record_source, recording_metadata
    from cervitrack.trainer.recording.writer import Recorder

    cfg_file = tmp_path / "lsl_api.cfg"
    cfg_file.write_text("[multicast]\nResolveScope = machine\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg_file))
    pylsl = lsl_mod.require_pylsl()
    source = SimSource(config_from_dict({"seed": 3}), speed=None)
    source.metadata["spec"] = f"sim-lsl-test-{np.random.default_rng().integers(1 << 30)}"
    tap = LslPoseTap(source)
    (info,) = pylsl.resolve_byprop("source_id", f"{source.metadata['spec']}-head", minimum=1,
                                   timeout=10.0)
    inlet = pylsl.StreamInlet(info, max_buflen=60)
    inlet.open_stream(timeout=10.0)
    assert inlet.info().channel_count() == 7
    path = tmp_path / "lsl.cvtrec"
    with Recorder(path, recording_metadata(source)) as rec:
        record_source(source, rec, 5.0, on_step=tap.process)
    n_recorded = len(decode_recording(load(path)).samples)
    got, stamps = [], []
    for _ in range(100):
        data, ts = inlet.pull_chunk(timeout=1.0, max_samples=10_000)
        got += data
        stamps += ts
        if len(got) >= n_recorded:
            break
    tap.close()
    assert len(got) == n_recorded == tap.samples_pushed
    assert np.all(np.diff(stamps) > 0)
    got = np.asarray(got)
    assert np.allclose(np.linalg.norm(got[:, :4], axis=1), 1.0, atol=1e-4)
    assert abs(got[0, 4]) < 1e-3  # the first sample is the provisional neutral


def test_demo_lsl_without_pylsl_is_one_line(monkeypatch, capsys, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "pylsl", None)
    assert main(["demo", "--json", "--trials", "1", "--lsl"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cervitrack[lsl]" in err


def test_sim_source_items_are_transport_items():
    source = SimSource(config_from_dict({"seed": 1}), speed=None)
    polls = source.polls()
    items = [i for _ in range(20) for i in next(polls)]
    assert items and all(isinstance(i, (Chunk, Gap)) for i in items)
    assert source.now_s() == pytest.approx(2.0)


def test_record_cli_lsl_pushes_every_sample(tmp_path, monkeypatch, capsys):
    cfg_file = tmp_path / "lsl_api.cfg"
    cfg_file.write_text("[multicast]\nResolveScope = machine\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg_file))
    path = tmp_path / "lsl.cvtrec"
    summary = _run_json(["record", "--device", "sim", "--fast", "--duration", "2", "--lsl",
                         "--out", str(path), "--json"], capsys)
    report = _run_json(["inspect", str(path), "--json"], capsys)
    assert summary["lsl_samples"] == report["samples"] > 150
    assert report["steps"] == summary["steps"]


def test_exports_reproduce_the_live_head_pose(recorded_test, tmp_path):
    """Decoding applies the recorded calibration and gyro bias (META updates) at the recorded
    steps, so the exported orientation and head pose are the ones the test computed. The
    reference poses come from re-running the test loop, where the engine itself sets them."""
    from cervitrack.trainer.recording.capture import SessionCapture
    from cervitrack.trainer.recording.replay import ReplaySource
    from cervitrack.trainer.recording.rescore import replay_test

    class FakeTap:  # the LSL side of `demo --lsl`
        def __init__(self):
            self.events, self.poses = [], 0

        def push_event(self, event):
            self.events.append(event)

        def push_pose(self, pose):
            if len(pose) and pose.q_neutral_head is not None:
                self.poses += len(pose)

    path, _ = recorded_test
    live_t, live_q, live_head = [], [], []
    tap = FakeTap()
    replay_test(ReplaySource(path, speed=None), observers=[
        lambda s, r: (live_t.append(r.pose.t_s), live_q.append(r.pose.q_world_sensor),
                      live_head.append(r.pose.q_neutral_head)),
        SessionCapture(None, tap)])
    rec = load(path)
    assert "pipeline_gyro_bias_rad_s" in rec.metadata and "calibration" in rec.metadata
    decoded = decode_recording(rec)
    assert np.array_equal(decoded.samples.t_s, np.concatenate(live_t))  # the timebase's times
    assert np.array_equal(decoded.q_world_fused, np.concatenate(live_q))
    n_before = sum(len(q) for q, h in zip(live_q, live_head) if h is None)
    head = np.concatenate([h for h in live_head if h is not None])
    assert n_before > 0 and np.isnan(decoded.q_neutral_head[:n_before]).all()
    assert np.array_equal(decoded.q_neutral_head[n_before:], head)
    # A test run streams every event and every calibrated pose.
    assert [e["kind"] for e in tap.events] == [e["kind"] for e in rec.events]
    assert tap.poses == len(head)
    out = tmp_path / "csv"
    assert main(["export", str(path), "--to", "csv", "--out", str(out)]) == 0
    header = (out / "jpe.csv").read_text().splitlines()[0].split(",")
    assert header[-3:] == ["axial_deg", "lateral_deg", "flexion_deg"]
    # `cervitrack process` reads the export as it is.
    processed = tmp_path / "processed.csv"
    assert main(["process", str(out / "jpe.csv"), "--out", str(processed)]) == 0
    assert len(processed.read_text().splitlines()) == len(decoded.samples) + 1


def test_clinical_test_with_manual_marks_replays_exactly(tmp_path, capsys, monkeypatch):
    """`cervitrack test --record --lsl`, then `--device replay:`: the preset, its overrides
    and the examiner's manual marks are recorded, so the re-scored test equals the live one."""
    cfg_file = tmp_path / "lsl_api.cfg"
    cfg_file.write_text("[multicast]\nResolveScope = machine\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg_file))
    path = tmp_path / "manual.cvtrec"
    live = _run_json(["test", "jpe", "--preset", "jpe-manual", "--device", "sim", "--trials",
                      "1", "--seed", "3", "--json", "--record", str(path), "--lsl"], capsys)
    rec = load(path)
    marks = [e for e in rec.events if e["kind"] == "mark"]
    assert marks and all(e["input"] == "manual" and e["after_step"] > 0 for e in marks)
    assert rec.metadata["test"]["preset"]["name"] == "jpe-manual"
    assert rec.metadata["task"] == "jpe" and rec.end["test_done"] is True
    replayed = _run_json(["test", "jpe", "--device", f"replay:{path}", "--json"], capsys)
    assert replayed["scores"] == live["scores"] and replayed["replayed"] is True

    def strip(trials):
        return [{k: v for k, v in t.items() if k != "true_error_deg"} for t in trials]

    assert strip(replayed["trials"]) == strip(live["trials"])
    # A recording of another test kind is refused with one line.
    assert main(["test", "rom", "--device", f"replay:{path}"]) == 2
    assert "does not hold a recorded rom test" in capsys.readouterr().err
