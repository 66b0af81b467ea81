"""UDP loopback, the sim source, device specs, and the stream command on the simulator."""

import io
import json
import socket
import struct
import time

import numpy as np
import pytest

from cervitrack.firmware_bridge.device_spec import available_kinds, parse_device_spec
from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.transports import parse_udp_target
from cervitrack.firmware_bridge.transports.base import LiveSource
from cervitrack.firmware_bridge.transports.udp import UdpDriver
from cervitrack.signal.samples import Chunk
from cervitrack.trainer.commands.stream import stream_source
from cervitrack.trainer.live.devices import open_device
from cervitrack.trainer.simulation.sim_source import SimSource


def test_udp_loopback_delivers_one_chunk_per_datagram_in_order():
    driver = UdpDriver(0, "127.0.0.1")
    source = LiveSource(driver, "reference", 100.0, "udp:0")
    polls = source.polls()
    next(polls)  # starts the reader thread, which binds the socket
    deadline = time.monotonic() + 5
    while driver.bound_port is None and time.monotonic() < deadline:
        time.sleep(0.01)
    datagrams = [struct.pack("<6d", 0, 0, 0, yaw, -5.0, 0.0) for yaw in range(30)]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    items = []
    try:
        for d in datagrams:
            sender.sendto(d, ("127.0.0.1", driver.bound_port))
        while len(items) < len(datagrams) and time.monotonic() < deadline:
            items += next(polls)
    finally:
        sender.close()
        source.close()
    assert [c.data for c in items] == datagrams  # 48 B each, boundaries kept
    assert all(isinstance(c, Chunk) and len(c.data) == 48 for c in items)
    assert [c.t_host_s for c in items] == sorted(c.t_host_s for c in items)
    assert source.metadata["senders"] and source.metadata["transport"] == "udp"


def test_udp_targets():
    assert parse_udp_target("") == ("127.0.0.1", 4242)  # this computer only, unless told
    assert parse_udp_target("5555") == ("127.0.0.1", 5555)
    assert parse_udp_target("0.0.0.0:5555") == ("0.0.0.0", 5555)
    assert parse_udp_target("127.0.0.1:9000") == ("127.0.0.1", 9000)
    with pytest.raises(ValueError, match="bad UDP port"):
        parse_udp_target("phone")


def test_device_specs_parse_and_bad_ones_are_one_line_errors():
    assert parse_device_spec("ble:AA:BB:CC:DD:EE:FF").target == "AA:BB:CC:DD:EE:FF"
    assert parse_device_spec("serial:/dev/ttyUSB0").kind == "serial"
    with pytest.raises(ValueError):
        open_device("")  # imports every module that registers a kind
    assert {"sim", "serial", "ble", "udp"} <= set(available_kinds())
    for bad, message in [("", "bad device spec"), ("serial:", "nothing after"),
                         ("zigbee:1", "unknown device kind"), ("sim:x", "sim takes no target")]:
        with pytest.raises(ValueError, match=message) as info:
            open_device(bad)
        assert "\n" not in str(info.value)


def test_sim_source_is_deterministic_and_paced_only_by_its_injected_clock():
    waits = []
    fake_now = [0.0]

    def sleep(s):
        waits.append(s)
        fake_now[0] += s

    a = SimSource(SimConfig(seed=4), speed=2.0, sleep=sleep, clock=lambda: fake_now[0])
    b = SimSource(SimConfig(seed=4), speed=None)
    pa, pb = a.polls(), b.polls()
    items_a = [i for _ in range(20) for i in next(pa)]
    items_b = [i for _ in range(20) for i in next(pb)]
    assert items_a == items_b and items_a
    assert a.now_s() == pytest.approx(20 * a.step_s)  # simulated time
    assert sum(waits) == pytest.approx(10 * a.step_s)  # at speed 2, half of it in wall time
    assert a.host_clock == "simulated" and a.protocol == "reference"


def test_stream_of_the_simulator_with_a_lossy_link_reports_gaps_and_stats():
    cfg = SimConfig(seed=9)
    cfg.link.disconnect_every_s = 3.0
    cfg.link.disconnect_s = 0.5
    source = SimSource(cfg, speed=None)
    out, notes = io.StringIO(), io.StringIO()
    stats = stream_source(source, None, 12.0, out, "jsonl", notes)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    samples = [r for r in rows if "seq" in r]
    gaps = [r["gap"] for r in rows if "gap" in r]
    assert set(samples[0]) == {"seq", "t_s", "quat_wxyz"}
    assert len(gaps) == source.device.link.stats["disconnects"] >= 1
    seq = np.array([r["seq"] for r in samples])
    assert np.all(np.diff(seq) > 0)
    # Every frame is either delivered or counted lost; a gap reports the counter jump at the
    # point where the stream resumed (the simulated link may deliver a few late frames first).
    assert len(seq) + stats["lost_frames"] == seq[-1] - seq[0] + 1
    assert 0 < sum(g["lost_frames"] for g in gaps) <= stats["lost_frames"]
    assert stats["frames"] == len(samples) and stats["gaps"] == len(gaps)
    assert stats["rate_hz"] == pytest.approx(100.0, rel=0.2)


def test_stream_command_csv_and_errors(capsys):
    from cervitrack.trainer.cli import main

    assert main(["stream", "--device", "sim", "--duration", "0.5", "--fast",
                 "--format", "csv"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "t_s,seq,quat_w,quat_x,quat_y,quat_z"
    assert len(lines) > 40
    assert captured.err.splitlines()[-1].startswith("frames=")
    for args, message in [(["--device", "serial:/nonexistent/ttyX"], "cannot open serial port"),
                          (["--device", "sim", "--protocol", "nope"], "unknown protocol"),
                          (["--device", "sim", "--duration", "-1"], "--duration must be"),
                          (["--device", "bogus"], "unknown device kind")]:
        assert main(["stream", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cervitrack: error: ") and message in err
        assert len(err.strip().splitlines()) == 1


def test_udp_stream_decodes_opentrack_datagrams():
    import threading

    from cervitrack.firmware_bridge.protocols.opentrack_udp import encode_datagrams

    source = open_device("udp:127.0.0.1:0")
    assert source.protocol == "opentrack-udp"
    yaw = np.linspace(-30, 30, 40)
    data = encode_datagrams(np.zeros((40, 3)), np.column_stack([yaw, np.zeros(40), np.zeros(40)]))

    def send():
        deadline = time.monotonic() + 5
        while source.driver.bound_port is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(40):
                s.sendto(data[i * 48:(i + 1) * 48], ("127.0.0.1", source.driver.bound_port))
                time.sleep(0.005)

    sender = threading.Thread(target=send)
    sender.start()
    out = io.StringIO()
    stats = stream_source(source, None, 1.0, out, "jsonl", io.StringIO())
    sender.join()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["seq"] for r in rows] == list(range(40))
    q = np.array([r["quat_wxyz"] for r in rows])
    # Yaw only: a rotation about z by the sent angle (opentrack's z-up convention).
    np.testing.assert_allclose(np.degrees(2 * np.arctan2(q[:, 3], q[:, 0])), yaw, atol=1e-3)
    assert stats["frames"] == 40 and stats["gaps"] == 0
