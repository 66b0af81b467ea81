"""Replay: the recorded items come back unchanged, in the live run's steps, paced by --speed."""

import json

import numpy as np
import pytest

from cervitrack.firmware_bridge.device_spec import parse_device_spec
from cervitrack.firmware_bridge.protocols.reference import encode_samples
from cervitrack.signal.samples import Chunk, Gap
from cervitrack.trainer.cli import main
from cervitrack.trainer.live.devices import open_device
from cervitrack.trainer.recording.reader import load
from cervitrack.trainer.recording.replay import ReplaySource
from cervitrack.trainer.recording.writer import Recorder


@pytest.fixture
def recording(tmp_path):
    """Ten steps of 0.1 s, each with 0-3 chunks; a gap in step 4; host times from 50 s."""
    rng = np.random.default_rng(3)
    path = tmp_path / "live.cvtrec"
    k = 0
    with Recorder(path, {"protocol": "reference", "nominal_rate_hz": 100.0,
                         "host_clock": "simulated"}) as rec:
        for step in range(10):
            t_step = 50.0 + 0.1 * (step + 1)
            for _ in range(int(rng.integers(0, 4))):
                seq = np.arange(k, k + 3)
                data = encode_samples(seq, seq * 10_000, np.tile([1.0, 0, 0, 0], (3, 1)))
                rec.write(Chunk(t_step - 0.05 + 0.01 * (k % 5), data))
                k += 3
            if step == 4:
                rec.write(Gap(t_step - 0.01, "disconnect"))
            rec.step(t_step)
    return path


def test_replay_yields_the_recorded_steps(recording):
    rec = load(recording)
    source = ReplaySource(recording, speed=None)
    polls = list(source.polls())
    assert len(polls) == 10
    flat = [item for group in polls for item in group]
    assert flat == [i for i in rec.stream if isinstance(i, (Chunk, Gap))]
    assert isinstance(polls[4][-1], Gap)
    assert source.now_s() == pytest.approx(51.0)
    assert source.protocol == "reference" and source.host_clock == "simulated"


def test_speed_scales_the_waits(recording):
    clock = {"t": 1000.0}
    sleeps = []

    def fake_clock():
        return clock["t"]

    def fake_sleep(s):
        sleeps.append(s)
        clock["t"] += s

    source = ReplaySource(recording, speed=2.0, sleep=fake_sleep, clock=fake_clock)
    list(source.polls())
    # Ten steps 0.1 s apart at double speed: nine waits of 0.05 s of (fake) wall time.
    assert np.allclose(sleeps, [0.05] * 9)
    assert clock["t"] - 1000.0 == pytest.approx(0.45)


def test_rerecording_a_replay_copies_the_stream(recording, tmp_path, capsys):
    out = tmp_path / "copy.cvtrec"
    assert main(["record", "--device", f"replay:{recording}", "--fast", "--duration", "100",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stopped"] == "source ended" and summary["steps"] == 10
    a, b = load(recording), load(out)
    assert a.stream == b.stream
    assert b.metadata["device"]["replay_of"] == str(recording)
    # --duration stops at the source's time.
    out2 = tmp_path / "short.cvtrec"
    assert main(["record", "--device", f"replay:{recording}", "--fast", "--duration", "0.35",
                 "--out", str(out2), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 5


def test_device_specs(tmp_path, capsys):
    spec = parse_device_spec("ble:AA:BB:CC:DD:EE:FF")
    assert (spec.kind, spec.target) == ("ble", "AA:BB:CC:DD:EE:FF")
    assert parse_device_spec("sim").target == ""
    for bad in ("", "replay:", "9x:y", ":x"):
        with pytest.raises(ValueError):
            parse_device_spec(bad)
    with pytest.raises(ValueError, match="available: .*replay:PATH"):
        open_device("nosuchkind:x")
    for argv in (["record", "--device", "nosuch", "--duration", "1", "--out",
                  str(tmp_path / "a.cvtrec")],
                 ["record", "--device", f"replay:{tmp_path / 'missing.cvtrec'}",
                  "--duration", "1", "--out", str(tmp_path / "b.cvtrec")],
                 ["record", "--device", "replay:x", "--duration", "-1", "--out",
                  str(tmp_path / "c.cvtrec")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("cervitrack: error: ") and err.count("\n") == 1
