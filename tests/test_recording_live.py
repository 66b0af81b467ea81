"""Recording and streaming live transports: a UDP device on loopback; `stream --lsl`."""

import json
import socket
import sys
import threading
import time

import numpy as np

from cervitrack.firmware_bridge.protocols.opentrack_udp import encode_datagrams
from cervitrack.trainer.cli import main
from cervitrack.trainer.live.devices import open_device
from cervitrack.trainer.recording.decode import decode_recording
from cervitrack.trainer.recording.reader import load
from cervitrack.trainer.recording.replay import ReplaySource
from cervitrack.trainer.recording.session import record_source, recording_metadata
from cervitrack.trainer.recording.writer import Recorder


def test_recording_a_udp_device_keeps_every_datagram_and_replays_it(tmp_path):
    source = open_device("udp:127.0.0.1:0")
    n = 60
    yaw = np.linspace(-40, 40, n)
    data = encode_datagrams(np.zeros((n, 3)), np.column_stack([yaw, np.zeros(n), np.zeros(n)]))

    def send():
        deadline = time.monotonic() + 5
        while source.driver.bound_port is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(n):
                s.sendto(data[i * 48:(i + 1) * 48], ("127.0.0.1", source.driver.bound_port))
                time.sleep(0.004)

    sender = threading.Thread(target=send)
    sender.start()
    path = tmp_path / "udp.cvtrec"
    try:
        with Recorder(path, recording_metadata(source)) as rec:
            result = record_source(source, rec, 1.0)
    finally:
        sender.join()
        source.close()
    recording = load(path)
    assert result.chunks == n and recording.integrity.status == "ok"
    assert b"".join(c.data for c in recording.chunks) == data  # the bytes as they arrived
    assert recording.header["protocol"] == "opentrack-udp"
    assert recording.header["host_clock"] == "monotonic"
    assert recording.metadata["device"]["transport"] == "udp"
    assert recording.metadata["device"]["senders"]  # known once data flowed
    samples = decode_recording(recording).samples
    assert samples.seq.tolist() == list(range(n))
    q = samples.quat_wxyz
    np.testing.assert_allclose(np.degrees(2 * np.arctan2(q[:, 3], q[:, 0])), yaw, atol=1e-3)
    # Host arrival times are the recorded ones: replay gives back identical items.
    replayed = [item for group in ReplaySource(path, speed=None).polls() for item in group]
    assert replayed == recording.chunks


def test_stream_lsl(tmp_path, monkeypatch, capsys):
    cfg_file = tmp_path / "lsl_api.cfg"
    cfg_file.write_text("[multicast]\nResolveScope = machine\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg_file))
    assert main(["stream", "--device", "sim", "--fast", "--duration", "1", "--lsl",
                 "--format", "jsonl"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) > 80 and "quat_wxyz" in json.loads(rows[0])
    monkeypatch.setitem(sys.modules, "pylsl", None)
    assert main(["stream", "--device", "sim", "--fast", "--duration", "1", "--lsl"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cervitrack[lsl]" in err
