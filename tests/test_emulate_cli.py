"""Journey: `cervitrack emulate P` is a device that `cervitrack stream` reads over a real transport.

Each test starts the installed command as a subprocess, reads the pty path (or UDP port) it
prints, streams from it with `cervitrack stream`, and compares the decoded samples with the
emulator's ground truth (`--truth`): the orientation frame by frame where the protocol has a
counter, gravity from the orientation against the accelerometer where it sends one, and the
sample count against the rate. Children are stopped with SIGTERM (then killed) in a finally,
so the tests also work where SIGINT is ignored.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cervitrack.firmware_bridge.protocols import witmotion
from cervitrack.signal import quaternion as quat

CLI = str(Path(sys.executable).with_name("cervitrack"))
STREAM_S = 2.0
#: Safety limit for a child to print its first line (import time on a loaded machine).
START_LIMIT_S = 60.0


def _start(args):
    proc = subprocess.Popen([CLI, "emulate", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(START_LIMIT_S):
        _stop(proc)
        raise AssertionError("the emulator printed nothing")
    first = proc.stdout.readline().strip()
    assert first, proc.stderr.read()
    return proc, first


def _stop(proc) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stderr.read()


def _stream(device, protocol):
    # --no-configure: the emulator's own rate is what is checked (stream would otherwise put a
    # WitMotion at 100 Hz on connect; tests/test_device_config.py checks that path).
    out = subprocess.run([CLI, "stream", "--device", device, "--protocol", protocol,
                          "--no-configure", "--duration", str(STREAM_S), "--format", "jsonl"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    return [r for r in rows if "seq" in r], out.stderr


def _truth(path, kind):
    return [json.loads(x) for x in Path(path).read_text().splitlines()
            if json.loads(x)["kind"] == kind]


def _angle_deg(q1, q2):
    return quat.angle_deg(quat.relative(np.asarray(q1), np.asarray(q2)))


def _check_rate(rows, rate_hz):
    # A rate claim needs a clock: the count of samples in the stream's STREAM_S window, with a
    # generous lower bound (a loaded machine delays the reader, never the emulator's pacing).
    assert 0.5 * rate_hz * STREAM_S <= len(rows) <= 1.3 * rate_hz * STREAM_S + 2


def _check_gravity(rows):
    q = np.array([r["quat_wxyz"] for r in rows])
    acc = np.array([r["acc_m_s2"] for r in rows])
    up_sensor = quat.rotate(quat.conjugate(q), np.tile([0.0, 0.0, 1.0], (len(q), 1)))
    cos = np.sum(up_sensor * acc, axis=1) / np.linalg.norm(acc, axis=1)
    # At rest the accelerometer measures +1 g along world up; the sensor's bias (0.05 m/s²,
    # 0.3°) and the tremor's lever-arm acceleration (~0.3°) keep them from agreeing exactly.
    # The tilted mount puts gravity on all three sensor axes, so a swapped or mirrored axis
    # would be tens of degrees off.
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 2.0
    assert np.allclose(np.linalg.norm(acc, axis=1), 9.81, atol=0.2)


@pytest.mark.parametrize("protocol,rate_hz,counter,has_acc", [
    ("witmotion-serial", 10.0, None, True),
    ("bno08x-rvc", 100.0, 256, True),
    ("hatire", 100.0, None, False),  # the decoder numbers frames itself (code not trusted)
    ("reference", 100.0, 65536, True),
])
def test_serial_device_streams_its_truth(tmp_path, protocol, rate_hz, counter, has_acc):
    truth = tmp_path / "truth.jsonl"
    config = tmp_path / "sim.toml"
    config.write_text("[sensor]\nmount_rpy_deg = [20, -30, 45]\n")
    proc, path = _start([protocol, "--seed", "4", "--truth", str(truth), "--script", "still",
                         "--sim-config", str(config)])
    try:
        assert path.startswith("/dev/") and os.path.exists(path)
        rows, err = _stream(f"serial:{path}", protocol)
    finally:
        log = _stop(proc)
    assert "emulator stopped" in log and proc.returncode == 0, log
    assert "rejected=0" in err, err
    _check_rate(rows, rate_hz)
    samples = _truth(truth, "sample")
    if counter is not None:
        # Frame by frame: the decoded counter names the truth sample (one a second). stream
        # unwraps the counter from its first value, so seq mod counter is the wire value; the
        # host time (same monotonic clock) picks the right turn of the counter.
        turn_s = counter / rate_hz
        matched = [(r, s) for r in rows for s in samples if r["seq"] % counter == s["k"] % counter
                   and abs(r["t_s"] - s["t_monotonic_s"]) < turn_s / 2]
        assert len(matched) >= 1
        for r, s in matched:
            assert _angle_deg(r["quat_wxyz"], s["quat_wxyz"]) < 0.02
            if has_acc:
                assert np.allclose(r["acc_m_s2"], s["acc_m_s2"], atol=0.02)
    else:
        # No counter: the still patient's orientation is the truth's within sway and settling.
        for r in rows:
            assert min(_angle_deg(r["quat_wxyz"], s["quat_wxyz"]) for s in samples) < 1.5
    if has_acc:
        _check_gravity(rows)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_opentrack_udp_streams_its_truth(tmp_path):
    truth = tmp_path / "truth.jsonl"
    port = _free_udp_port()
    proc, first = _start(["opentrack-udp", "--port", str(port), "--truth", str(truth)])
    try:
        assert first == f"udp:{port}"
        rows, err = _stream(f"udp:{port}", "opentrack-udp")
    finally:
        log = _stop(proc)
    assert proc.returncode == 0, log
    _check_rate(rows, 50.0)
    samples = _truth(truth, "sample")
    for r in rows:
        assert min(_angle_deg(r["quat_wxyz"], s["quat_wxyz"]) for s in samples) < 1.5


def test_witmotion_rate_command_on_the_pty_changes_the_rate(tmp_path):
    import serial

    truth = tmp_path / "truth.jsonl"
    proc, path = _start(["witmotion-serial", "--truth", str(truth)])
    try:
        with serial.Serial(path, 115200, timeout=0.1) as port:
            for reg, value in ((witmotion.REG_UNLOCK, witmotion.UNLOCK_VALUE),
                               (witmotion.REG_RATE, 0x09), (witmotion.REG_RSW, 0x1F),
                               (witmotion.REG_SAVE, 0), (witmotion.REG_READ, witmotion.REG_RATE)):
                port.write(witmotion.encode_command(reg, value))
            data = bytearray()
            limit = time.monotonic() + 30.0  # safety only: the loop ends on content
            while time.monotonic() < limit:
                data += port.read(4096)
                times = _chip_times(data)
                if len(times) >= 30:
                    break
    finally:
        log = _stop(proc)
    assert "rate 100 Hz" in log and "saved" in log, log
    assert witmotion.encode_register_reply([0x09, 0x06, 0, 0]) in data  # register read-back
    # The 0x50 chip-time frames (switched on by the RSW write) step 10 ms: 100 Hz on the
    # device's own clock, not a wall-clock estimate.
    steps = np.diff(times[-20:])
    assert np.allclose(steps, 0.01, atol=0.0011), steps
    assert [x["rate_hz"] for x in _truth(truth, "rate")] == [100.0]


def _chip_times(data: bytes) -> list[float]:
    out = []
    i = data.find(b"\x55\x50")
    while 0 <= i <= len(data) - 11:
        frame = data[i:i + 11]
        if sum(frame[:10]) & 0xFF == frame[10]:
            out.append(witmotion.chip_time_s(frame[2:10]))
        i = data.find(b"\x55\x50", i + 1)
    return out


def test_dropout_fault_stops_the_bytes_and_the_counter_jumps(tmp_path):
    proc, path = _start(["bno08x-rvc", "--drop-at", "0", "--drop-for", "3600"])
    try:
        rows, err = _stream(f"serial:{path}", "bno08x-rvc")
    finally:
        log = _stop(proc)
    assert rows == [] and "frames=0" in err
    assert "dropped_by_fault=" in log and "dropped_by_fault=0 " not in log


def test_the_patient_hears_prompts_appended_to_an_events_file(tmp_path):
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.jsonl"
    proc, _ = _start(["reference", "--events", str(events), "--truth", str(truth)])
    try:
        stale = {"t_s": 1.0, "kind": "prompt", "prompt": "recenter", "text": "",
                 "wall_time_s": time.time() - 3600}  # a previous test's line: ignored
        move = {"t_s": 2.0, "kind": "prompt", "prompt": "move", "text": "Close your eyes...",
                "direction": "rotation_left", "wall_time_s": time.time()}
        with open(events, "w") as f:  # created after the emulator started
            f.write(json.dumps(stale) + "\n" + json.dumps({"kind": "trial"}) + "\n")
            f.write(json.dumps(move) + "\n")
        limit = time.monotonic() + 30.0  # safety only: the loop ends on content
        heard = []
        while not heard and time.monotonic() < limit:
            time.sleep(0.05)
            heard = _truth(truth, "prompt") if truth.exists() else []
    finally:
        log = _stop(proc)
    assert proc.returncode == 0, log
    assert [(p["prompt"], p["direction"]) for p in heard] == [("move", "rotation_left")]


def test_the_command_s_names_match_the_registries():
    from cervitrack.firmware_bridge.emulation import PROTOCOLS
    from cervitrack.firmware_bridge.emulation.ble_peripherals import PERIPHERALS
    from cervitrack.trainer.commands import emulate
    from cervitrack.trainer.simulation.emulated_device import SCRIPTS

    assert set(emulate.ALL_PROTOCOLS) == set(PROTOCOLS)
    assert set(emulate.WIRED) == {n for n, c in PROTOCOLS.items() if c.transport != "ble"}
    assert set(emulate.BLE) == set(PERIPHERALS) == {n for n, c in PROTOCOLS.items()
                                                    if c.transport == "ble"}
    assert set(emulate.CHOICES) == set(PROTOCOLS)
    assert set(emulate.SCRIPT_NAMES) == set(SCRIPTS)


def test_bad_arguments_are_one_line_errors():
    out = subprocess.run([CLI, "emulate", "reference", "--rate", "-3"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().startswith("cervitrack: error: --rate")
    out = subprocess.run([CLI, "emulate", "bno08x-rvc", "--rate", "50"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "fixed 100 Hz" in out.stderr
    out = subprocess.run([CLI, "emulate", "movella-dot", "--rate", "50"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == (
        "cervitrack: error: --rate: Movella DOT streams at one of 1, 4, 10, 12, 15, 20, 30, 60 "
        "Hz, not 50")
    out = subprocess.run([CLI, "emulate", "witmotion-ble", "--wrong-protocol", "hatire"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--wrong-protocol is for serial and UDP" in out.stderr
    out = subprocess.run([CLI, "emulate", "nosuch"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_a_ble_device_out_of_range_drops_the_link_and_comes_back(tmp_path):
    """``cervitrack emulate movella-dot --drop-at 10 --drop-for 3``: the emulator prints the
    setting to export and the device; ``cervitrack stream`` finds the DOT, starts it, loses
    the link when it goes out of range, reconnects when it advertises again and restarts the
    measurement: one gap, one reconnection, the stream goes on."""
    proc = subprocess.Popen([CLI, "emulate", "movella-dot", "--script", "turns", "--drop-at",
                             "10", "--drop-for", "3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(START_LIMIT_S), "the emulator printed nothing"
        export, device = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        name, _, backend = export.partition("=")
        assert name == "CERVITRACK_BLE_BACKEND" and backend.startswith("bumble:127.0.0.1:")
        assert device == "ble:Movella DOT"
        # 20 s: the device is back at 13 s of the emulator's clock; the rest leaves a loaded
        # machine time to reconnect and restart the measurement before the stream ends.
        out = subprocess.run([CLI, "stream", "--device", device, "--duration", "20"],
                             env={**os.environ, name: backend}, capture_output=True, text=True,
                             timeout=120)
    finally:
        log = _stop(proc)
    assert out.returncode == 0, out.stderr
    stats = dict(kv.split("=") for kv in out.stderr.strip().splitlines()[-1].split())
    assert stats["gaps"] == "1" and stats["reconnects"] == "1", out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) > 60 * 4  # before and after the dropout
    assert "out of range at" in log and "back in range at" in log
    assert log.count("start mode 5") == 2  # the driver started the measurement again
    assert proc.returncode == 0 and "Traceback" not in log + out.stderr
