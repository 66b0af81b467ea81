"""Sensor configuration on connect, and the rate the sensor really delivers.

The command bytes are checked byte for byte against the manufacturers' documents as quoted in
docs/devices/*.md. A fake WitMotion behind a pseudo-terminal (os.openpty) records every byte the
host writes and obeys the ``FF AA`` rate command after an unlock, as the WT901 does; the
installed ``cervitrack`` command drives it through pyserial like a USB adapter.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from cervitrack.firmware_bridge import profiles
from cervitrack.firmware_bridge.protocols.witmotion import encode_serial_samples
from cervitrack.firmware_bridge.supervisor import MIN_TEST_RATE_HZ, RateCheck
from cervitrack.signal.samples import SampleBatch
from cervitrack.signal.timebase import measured_rate_hz

DOCS = Path(__file__).resolve().parents[1] / "docs" / "devices"
CERVITRACK = str(Path(sys.executable).with_name("cervitrack"))


def _doc_hex(doc: str, label: str) -> bytes:
    """The ``XX XX ...`` bytes quoted after ``label`` in docs/devices/DOC."""
    text = (DOCS / doc).read_text()
    m = re.search(re.escape(label) + r"[^`]*`((?:[0-9A-F]{2} ?)+)`", text)
    assert m, f"{label!r} not quoted in docs/devices/{doc}"
    return bytes.fromhex(m.group(1))


# -- the bytes -----------------------------------------------------------------------------------


def test_witmotion_commands_are_the_manuals_bytes():
    """WitMotion's serial protocol manual (WIT standard protocol), quoted in
    docs/devices/witmotion-serial.md: unlock FF AA 69 88 B5, rate 100 Hz FF AA 03 09 00, output
    content FF AA 02 1E 02, save FF AA 00 00 00."""
    assert profiles.WITMOTION_COMMANDS["unlock"] == _doc_hex("witmotion-serial.md", "unlock")
    assert profiles.witmotion_setup(100, save=True) == (
        bytes.fromhex("FF AA 69 88 B5"), bytes.fromhex("FF AA 03 09 00"),
        bytes.fromhex("FF AA 02 1E 02"), bytes.fromhex("FF AA 00 00 00"))
    for label, hz in (("10 Hz:", 10), ("50 Hz:", 50), ("100 Hz:", 100), ("200 Hz:", 200)):
        assert profiles.witmotion_setup(hz)[1] == _doc_hex("witmotion-serial.md", label)
    assert profiles.witmotion_setup(100)[2] == _doc_hex("witmotion-serial.md", "Output content")
    assert profiles.WITMOTION_COMMANDS["save"] == _doc_hex("witmotion-serial.md", "save:")
    # Without --save-config nothing is saved; the BLE packet's content is fixed: no 0x02 write.
    assert profiles.witmotion_setup(100) == profiles.witmotion_setup(100, save=True)[:3]
    assert profiles.witmotion_setup(100, content=None) == profiles.witmotion_setup(100)[:2]
    with pytest.raises(ValueError, match="10, 50, 100, 200 Hz, not 30"):
        profiles.witmotion_setup(30)


def test_movella_dot_control_patch_sets_rate_and_filter_and_keeps_the_rest():
    """Movella DOT BLE Services Specification (docs/devices/movella-dot.md): device control
    1002, 32 B, output rate u16 at bytes 24-25, filter profile at byte 26, read-modify-write."""
    patch = profiles.dot_control_patch(60, "dynamic")
    assert patch.char_uuid == "15171002-4947-11e9-8646-d663bd873d93"
    current = bytes(range(32))
    new = patch.apply(current)
    assert new[24:27] == bytes([60, 0, 1])  # 60 = 0x003C little endian, Dynamic = 1
    assert new[1:24] == current[1:24] and new[27:] == current[27:]
    assert new[0] == current[0] | profiles.DOT_VISIT_OUTPUT_RATE | profiles.DOT_VISIT_FILTER_PROFILE
    with pytest.raises(ValueError, match="not 100"):
        profiles.dot_control_patch(100)
    with pytest.raises(ValueError, match="expected 27"):
        patch.apply(b"\x00" * 4)


def test_metamotion_fusion_rate_is_fixed_and_said_so():
    meta = profiles.BLE_PROFILES["metamotion"]
    assert profiles.configured_ble_profile(meta).nominal_rate_hz == 100.0
    # NDOF mode byte 1 is the first start write (MetaWear-SDK-Cpp unit tests: 19 02 01 13).
    assert meta.start[0].data == bytes.fromhex("19 02 01 13")
    assert profiles.BLE_PROFILES["metamotion-imu-plus"].start[0].data == bytes.fromhex("19020213")
    with pytest.raises(ValueError, match="100 Hz only"):
        profiles.configured_ble_profile(meta, 50)


# -- the measured rate ---------------------------------------------------------------------------


def _batch(seq, t_host, t_dev=None) -> SampleBatch:
    n = len(seq)
    return SampleBatch(seq=np.asarray(seq), t_device_s=np.full(n, np.nan) if t_dev is None
                       else np.asarray(t_dev, float), t_host_s=np.asarray(t_host, float),
                       t_s=np.asarray(t_host, float))


def test_measured_rate_uses_the_device_clock_when_there_is_one():
    seq = np.arange(200)
    t_dev = seq / 60.0  # a 60 Hz clock
    # BLE bunches arrivals per connection event: host times are jittered, the clock is not.
    t_host = t_dev + np.random.default_rng(1).uniform(0, 0.03, 200)
    assert measured_rate_hz(seq, t_host, t_dev) == pytest.approx(60.0, rel=1e-9)
    assert measured_rate_hz(seq, t_host) == pytest.approx(60.0, rel=0.02)
    assert np.isnan(measured_rate_hz([1], [0.0]))


def test_rate_check_warns_once_below_the_test_minimum():
    check = RateCheck(has_clock=False, measure_s=2.0)
    t = np.arange(0, 3.0, 0.1)  # 10 Hz
    messages = [check.on_samples(_batch(np.arange(k, k + 5), t[k:k + 5])) for k in range(0, 30, 5)]
    said = [m for m in messages if m]
    assert len(said) == 1 and check.rate_hz == pytest.approx(10.0)
    assert said[0].startswith("this sensor streams at 10 Hz; a JPE test needs at least 40 Hz")
    fast = RateCheck(has_clock=False, measure_s=2.0)
    t = np.arange(0, 3.0, 0.01)
    assert fast.on_samples(_batch(np.arange(300), t)) is None
    assert fast.rate_hz == pytest.approx(100.0) and fast.rate_hz > MIN_TEST_RATE_HZ


# -- a fake WitMotion on a pty -------------------------------------------------------------------


class FakeWitMotion:
    """A WT901 behind a pty: streams at ``rate_hz`` (factory 10 Hz), records what the host
    writes, applies ``FF AA 03 <code> 00`` only within 10 s of an unlock (as the manual says)."""

    CODES_HZ = {code: hz for hz, code in profiles.WITMOTION_RATE_CODES.items()}

    def __init__(self, link: str, rate_hz: float = 10.0, obey: bool = True) -> None:
        self.link = link
        self.obey = obey
        self.rate_hz = rate_hz
        self.received = bytearray()
        self.commands: list[bytes] = []
        self._stop = threading.Event()
        master, slave = os.openpty()
        tty.setraw(slave)
        os.symlink(os.ttyname(slave), link)
        os.close(slave)
        self.master = master
        q = np.tile([1.0, 0.0, 0.0, 0.0], (1, 1))
        self.frame = encode_serial_samples(quat_wxyz=q, acc_m_s2=[[0.0, 0.0, 9.80665]],
                                           gyr_rad_s=[[0.0, 0.0, 0.0]])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.master, select.POLLHUP)
        while poller.poll(0) and not self._stop.is_set():  # not opened yet
            time.sleep(0.01)
        time.sleep(0.1)  # pyserial flushes its input right after opening
        unlocked_at = -1e9
        next_t = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], max(0.0, next_t - time.monotonic()))
            if ready:
                try:
                    data = os.read(self.master, 256)
                except OSError:
                    return
                self.received += data
                while len(self.received) - 5 * len(self.commands) >= 5:
                    k = 5 * len(self.commands)
                    cmd = bytes(self.received[k:k + 5])
                    self.commands.append(cmd)
                    if cmd == profiles.WITMOTION_COMMANDS["unlock"]:
                        unlocked_at = time.monotonic()
                    elif (self.obey and cmd[:3] == b"\xff\xaa\x03"
                          and time.monotonic() - unlocked_at < 10):
                        self.rate_hz = self.CODES_HZ.get(cmd[3], self.rate_hz)
            if time.monotonic() >= next_t:
                try:
                    os.write(self.master, self.frame)
                except OSError:
                    return
                next_t += 1.0 / self.rate_hz

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        os.close(self.master)


@pytest.fixture
def witmotion(tmp_path):
    devices = []

    def make(rate_hz=10.0, obey=True):
        d = FakeWitMotion(str(tmp_path / f"ttyWIT{len(devices)}"), rate_hz, obey)
        devices.append(d)
        return d

    yield make
    for d in devices:
        d.close()


def test_configure_sets_a_10hz_witmotion_to_100hz_bytes_in_order_and_measures_it(witmotion):
    dev = witmotion(10.0)
    out = subprocess.run([CERVITRACK, "devices", "configure", f"serial:{dev.link}",
                          "--protocol", "witmotion-serial", "--seconds", "3"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # Exactly the manual's bytes, in order: unlock, rate 100 Hz, output content; no save.
    assert dev.commands == [bytes.fromhex("FF AA 69 88 B5"), bytes.fromhex("FF AA 03 09 00"),
                            bytes.fromhex("FF AA 02 1E 02")]
    assert dev.rate_hz == 100.0
    m = re.search(r"measured rate: ([0-9.]+) Hz \(asked for 100 Hz\); configuration not saved",
                  out.stdout)
    assert m, out.stdout
    assert 60 < float(m.group(1)) < 115  # 100 Hz, host scheduling on a shared machine aside
    assert "sent: ff aa 69 88 b5" in out.stdout
    assert "warning" not in out.stderr


def test_save_config_appends_the_save_command(witmotion):
    dev = witmotion(10.0)
    out = subprocess.run([CERVITRACK, "devices", "configure", f"serial:{dev.link}",
                          "--protocol", "witmotion-serial", "--rate", "50", "--save",
                          "--seconds", "1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert dev.commands == [bytes.fromhex("FF AA 69 88 B5"), bytes.fromhex("FF AA 03 08 00"),
                            bytes.fromhex("FF AA 02 1E 02"), bytes.fromhex("FF AA 00 00 00")]
    assert "configuration saved in the sensor" in out.stdout


def test_stream_of_a_10hz_sensor_warns_in_one_stderr_line(witmotion):
    dev = witmotion(10.0)
    out = subprocess.run([CERVITRACK, "stream", "--device", f"serial:{dev.link}",
                          "--protocol", "witmotion-serial", "--no-configure", "--duration", "3"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert dev.commands == []  # --no-configure: nothing written
    warnings = [line for line in out.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, out.stderr
    assert re.match(r"cervitrack: warning: this sensor streams at (9|10|11) Hz; a JPE test needs "
                    r"at least 40 Hz", warnings[0]), warnings[0]


def test_a_jpe_test_on_a_sensor_stuck_at_10hz_warns_in_one_stderr_line(witmotion, tmp_path):
    """``cervitrack test jpe`` configures the sensor on connect; this one ignores the rate
    command (a locked or 9600-baud unit), so the measured rate stays 10 Hz: one warning line on
    stderr, right after the link check. The test then waits for the person; it is stopped."""
    dev = witmotion(10.0, obey=False)
    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([CERVITRACK, "test", "jpe", "--device", f"serial:{dev.link}",
                             "--protocol", "witmotion-serial", "--patient", "P1", "--no-sound"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    stderr_lines: list[str] = []
    try:
        for line in proc.stderr:
            stderr_lines.append(line)
            if "warning" in line:
                break
    finally:
        proc.kill()
        proc.wait()
    warnings = [line for line in stderr_lines if "warning" in line]
    assert len(warnings) == 1, "".join(stderr_lines)
    assert re.match(r"cervitrack: warning: this sensor streams at (9|10|11) Hz; a JPE test "
                    r"needs at least 40 Hz", warnings[0]), warnings[0]
    assert dev.commands[:2] == [bytes.fromhex("FF AA 69 88 B5"), bytes.fromhex("FF AA 03 09 00")]


def test_configure_rejects_what_it_cannot_set():
    out = subprocess.run([CERVITRACK, "devices", "configure", "sim"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == ("cervitrack: error: 'sim': only serial: and ble: sensors can "
                                  "be configured")


# -- end to end with the emulators (cervitrack emulate; the Bumble BLE emulator) ------------------


def _emulate(*args):
    """Start ``cervitrack emulate ARGS``; returns (process, first stdout line)."""
    proc = subprocess.Popen([CERVITRACK, "emulate", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    first = proc.stdout.readline().strip()
    return proc, first


def _stop(proc) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_an_emulated_10hz_witmotion_is_configured_to_100hz_and_the_measured_rate_follows():
    """``cervitrack emulate witmotion-serial`` (factory 10 Hz, parses FF AA commands): streamed
    as it is, the rate warning names 10 Hz; ``devices configure`` sends unlock + 100 Hz through
    the pty and measures about 100 Hz."""
    proc, port = _emulate("witmotion-serial", "--script", "still", "--seed", "1")
    try:
        assert port.startswith("/dev/"), port
        before = subprocess.run([CERVITRACK, "stream", "--device", f"serial:{port}",
                                 "--protocol", "witmotion-serial", "--no-configure",
                                 "--duration", "2.5"], capture_output=True, text=True, timeout=60)
        after = subprocess.run([CERVITRACK, "devices", "configure", f"serial:{port}",
                                "--protocol", "witmotion-serial", "--seconds", "3"],
                               capture_output=True, text=True, timeout=60)
    finally:
        err = _stop(proc)
    assert before.returncode == 0, before.stderr
    warnings = [line for line in before.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and re.search(r"streams at (9|10|11) Hz", warnings[0]), before.stderr
    assert after.returncode == 0, after.stderr + err
    m = re.search(r"measured rate: ([0-9.]+) Hz \(asked for 100 Hz\)", after.stdout)
    assert m and 60 < float(m.group(1)) < 115, after.stdout
    assert "Traceback" not in err


BLE_EMULATOR = """
import sys
from cervitrack.firmware_bridge.emulation.ble_peripherals import BleEmulator, turning
with BleEmulator("witmotion-ble", motion=turning(20.0)) as emulator:
    print(emulator.backend, flush=True)
    sys.stdin.read()
"""


def test_an_emulated_witmotion_ble_is_configured_to_100hz_over_ffe9():
    """The Bumble-emulated WT901BLE68 (factory 10 Hz): ``devices configure ble:WT901BLE68``
    writes unlock + rate to FFE9 over a real (Python) BLE stack, and the rate it measures
    afterwards is about 100 Hz; streamed without configuration it warns at 10 Hz."""
    emulator = subprocess.Popen([sys.executable, "-c", BLE_EMULATOR], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        backend = emulator.stdout.readline().strip()
        assert backend.startswith("bumble:"), emulator.stderr.read()
        env = dict(os.environ, CERVITRACK_BLE_BACKEND=backend)
        before = subprocess.run([CERVITRACK, "stream", "--device", "ble:WT901BLE68",
                                 "--no-configure", "--duration", "2.5"], env=env,
                                capture_output=True, text=True, timeout=90)
        after = subprocess.run([CERVITRACK, "devices", "configure", "ble:WT901BLE68",
                                "--seconds", "3"], env=env, capture_output=True, text=True,
                               timeout=90)
    finally:
        emulator.stdin.close()
        err = emulator.stderr.read()
        emulator.wait(timeout=15)
    assert before.returncode == 0, before.stderr
    warnings = [line for line in before.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and re.search(r"streams at (9|10|11) Hz", warnings[0]), before.stderr
    assert after.returncode == 0, after.stderr + err
    assert "sent: ff aa 69 88 b5" in after.stdout and "sent: ff aa 03 09 00" in after.stdout
    m = re.search(r"measured rate: ([0-9.]+) Hz \(asked for 100 Hz\)", after.stdout)
    assert m and 60 < float(m.group(1)) < 115, after.stdout


def test_witmotion_decoder_relearns_its_cycle_when_the_output_content_changes():
    """Configuring the output content (FF AA 02 1E 02) adds the quaternion frame mid-stream:
    the decoder must then group five frame types per sample, not emit the new frame as a
    sample of its own (which doubled the measured rate against the emulator)."""
    from cervitrack.firmware_bridge.protocols.witmotion import WitMotionSerialDecoder

    n = 20
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1))
    gyr = np.zeros((n, 3))
    euler = np.zeros((n, 3))
    quat_wxyz = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    before = encode_serial_samples(acc_m_s2=acc, gyr_rad_s=gyr, euler_deg=euler,
                                   mag_raw=np.ones((n, 3)))
    after = encode_serial_samples(acc_m_s2=acc, gyr_rad_s=gyr, euler_deg=euler,
                                  mag_raw=np.ones((n, 3)), quat_wxyz=quat_wxyz)
    d = WitMotionSerialDecoder()
    rows = [len(d.feed(before[i:i + 33])) for i in range(0, len(before), 33)]
    first = sum(rows)
    second = sum(len(d.feed(after[i:i + 55])) for i in range(0, len(after), 55)) + len(d.finish())
    assert first + second <= 2 * n + 1  # at most the one sample at the switch is split
    assert second >= n - 1
