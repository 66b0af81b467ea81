"""LSL output: an inlet on this machine receives every sample and every event."""

import json
import sys

import numpy as np
import pytest

from cervitrack.trainer.recording import lsl as lsl_mod


@pytest.fixture
def local_lsl(tmp_path, monkeypatch):
    """Keep liblsl's stream discovery on this machine (before liblsl reads its config)."""
    cfg = tmp_path / "lsl_api.cfg"
    cfg.write_text("[multicast]\nResolveScope = machine\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg))
    return lsl_mod.require_pylsl()


def _inlet(pylsl, name, source_id):
    streams = pylsl.resolve_byprop("source_id", source_id, minimum=1, timeout=10.0)
    assert streams, f"stream {name} not found on this machine"
    inlet = pylsl.StreamInlet(streams[0], max_buflen=60, processing_flags=0)
    inlet.open_stream(timeout=10.0)
    return inlet


def test_inlet_receives_every_sample_and_event(local_lsl):
    pylsl = local_lsl
    source = f"cervitrack-test-{np.random.default_rng().integers(1 << 30)}"
    streamer = lsl_mod.LslStreamer(100.0, source_id=source, host_clock="simulated",
                                   metadata={"device": {"spec": "sim"}})
    pose_inlet = _inlet(pylsl, "head", f"{source}-head")
    event_inlet = _inlet(pylsl, "events", f"{source}-events")
    info = pose_inlet.info()
    assert info.type() == "MoCap" and info.channel_count() == 7
    assert info.nominal_srate() == 100.0
    ch = info.desc().child("channels").child("channel")
    types = []
    while not ch.empty():
        types.append((ch.child_value("label"), ch.child_value("type")))
        ch = ch.next_sibling()
    assert types[0] == ("head_quat_w", "OrientationA")
    assert [t for _, t in types] == [c[1] for c in lsl_mod.POSE_CHANNELS]

    n, per_chunk = 1000, 7
    t_s = 50.0 + np.arange(n) / 100.0
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    angles = np.stack([np.arange(n), np.zeros(n), np.zeros(n)], axis=1)  # sample index in ch 4
    for i in range(0, n, per_chunk):
        streamer.push_pose(t_s[i:i + per_chunk], quat[i:i + per_chunk], angles[i:i + per_chunk])
        if i % 140 == 0:
            streamer.push_event({"t_s": float(t_s[i]), "kind": "mark", "i": i})

    got, stamps = [], []
    for _ in range(200):  # bounded: at most 200 pulls of up to 1 s each
        data, ts = pose_inlet.pull_chunk(timeout=1.0, max_samples=n)
        got += data
        stamps += ts
        if len(got) >= n:
            break
    got = np.asarray(got)
    assert got.shape == (n, 7)
    assert np.array_equal(got[:, 4], np.arange(n))  # every sample, in order, none twice
    stamps = np.asarray(stamps)
    assert np.all(np.diff(stamps) > 0)
    # Sample spacing is the device's, not the push times': one constant offset.
    assert np.allclose(np.diff(stamps), 0.01, atol=1e-6)

    markers = []
    for _ in range(50):
        sample, _ = event_inlet.pull_sample(timeout=1.0)
        if sample is None:
            break
        markers.append(json.loads(sample[0]))
        if len(markers) == streamer.events_pushed:
            break
    assert [m["i"] for m in markers] == list(range(0, n, 140))
    assert streamer.samples_pushed == n
    streamer.close()


def test_missing_pylsl_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "pylsl", None)  # import pylsl now raises ImportError
    with pytest.raises(lsl_mod.LslUnavailable) as info:
        lsl_mod.LslStreamer(100.0)
    message = str(info.value)
    assert "pip install 'cervitrack[lsl]'" in message and "\n" not in message
