"""``cervitrack device-check`` against right and deliberately wrong sensor setups.

A fake WitMotion behind a pseudo-terminal plays a scripted head movement (keep still with the
head tilted 20°, turn, nod) as WitMotion serial frames (acceleration, gyro, quaternion; the
encoder next to the decoder). Its axes can be mirrored (acceleration and gyro y negated against
its orientation), and its bytes can be read with the wrong protocol. The consistency functions
are checked on the same motion without the CLI.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.protocols.witmotion import encode_serial_samples
from cervitrack.signal import consistency
from cervitrack.signal import quaternion as quat

CERVITRACK = str(Path(sys.executable).with_name("cervitrack"))
RATE_HZ = 100.0
G = 9.80665


def _min_jerk(s):
    s = np.clip(s, 0.0, 1.0)
    return 10 * s**3 - 15 * s**4 + 6 * s**5


def _imu_of(angles, t):
    """(quat_wxyz, acc_m_s2, gyr_rad_s) of a head whose Z-Y-X Euler angles (deg, (N, 3)) at
    times t (s) are ``angles(t)``: at rest the accelerometer reads +g up; the gyro is the body
    frame's rate by finite difference, rad/s."""
    rot = Rotation.from_euler("ZYX", angles(t), degrees=True)
    h = 1e-4
    gyr = (rot.inv() * Rotation.from_euler("ZYX", angles(t + h), degrees=True)).as_rotvec() / h
    return quat.from_rotation(rot), rot.inv().apply([0.0, 0.0, G]), gyr


def head_motion(t_s):
    """Roll 20° throughout; still 2.5 s, turn 40° left in 1 s, hold, nod 25° down in 1 s,
    hold, both back in 1 s, hold: a 7.5 s loop. Returns (quat_wxyz, acc_m_s2, gyr_rad_s)."""
    t = np.asarray(t_s, float) % 7.5

    def angles(t):
        yaw = 40 * (_min_jerk(t - 2.5) - _min_jerk(t - 5.5))
        pitch = 25 * (_min_jerk(t - 4.0) - _min_jerk(t - 5.5))
        return np.column_stack([yaw, pitch, np.full_like(t, 20.0)])

    return _imu_of(angles, t)


def test_consistency_passes_the_right_setup_and_names_each_fault():
    t = np.arange(0, 7.5, 1 / RATE_HZ)
    q, acc, gyr = head_motion(t)
    rest = t < 2.4
    moving = (t > 2.4) & (t < 6.6)
    right = consistency.diagnose(q[rest], acc[rest], q[moving], gyr[moving], t[moving])
    assert right.as_received.ok and right.fix is None
    assert right.as_received.gravity_angle_deg < 0.01
    assert right.as_received.gyro_direction_deg < 1.0
    assert right.as_received.gyro_ratio == pytest.approx(1.0, abs=0.01)
    flip_y = np.array([1.0, -1.0, 1.0])
    mirrored = consistency.diagnose(q[rest], acc[rest] * flip_y, q[moving], gyr[moving] * flip_y,
                                    t[moving])
    assert not mirrored.as_received.ok and mirrored.fix == "mirror_y"
    assert mirrored.as_received.gravity_angle_deg == pytest.approx(40.0, abs=0.1)
    assert mirrored.message().startswith(
        "this sensor's orientation and its accelerometer disagree by 40°")
    degrees = consistency.diagnose(q[rest], acc[rest], q[moving], np.degrees(gyr[moving]),
                                   t[moving])
    assert degrees.fix == "gyro_deg_s" and "degrees per second" in degrees.message()
    # The orientation's Euler angles recomposed in the wrong order (X-Y-Z).
    yaw, pitch, roll = quat.to_rotation(q).as_euler("ZYX").T
    wrong = quat.from_rotation(Rotation.from_euler("XYZ", np.column_stack([roll, pitch, yaw])))
    order = consistency.diagnose(wrong[rest], acc[rest], wrong[moving], gyr[moving], t[moving])
    assert not order.as_received.ok
    assert order.fix == "euler_zyx", order.tried
    assert "composed in the wrong order" in order.message()


class ScriptedWitMotion:
    """The scripted head movement as WitMotion serial frames on a pty, paced at 100 Hz."""

    def __init__(self, link: str, mirror_y: bool = False) -> None:
        self.link = link
        self.mirror_y = mirror_y
        self._stop = threading.Event()
        master, slave = os.openpty()
        tty.setraw(slave)
        os.symlink(os.ttyname(slave), link)
        os.close(slave)
        self.master = master
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.master, select.POLLHUP)
        while poller.poll(0) and not self._stop.is_set():
            time.sleep(0.01)
        time.sleep(0.1)
        t0 = time.monotonic()
        k = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - t0) * RATE_HZ) + 1
            if due > k:
                t = np.arange(k, due) / RATE_HZ
                q, acc, gyr = head_motion(t)
                if self.mirror_y:
                    acc, gyr = acc * [1, -1, 1], gyr * [1, -1, 1]
                try:
                    os.write(self.master, encode_serial_samples(quat_wxyz=q, acc_m_s2=acc,
                                                                gyr_rad_s=gyr))
                    select.select([self.master], [], [], 0)
                    while select.select([self.master], [], [], 0)[0]:
                        os.read(self.master, 256)  # the host's configuration, ignored
                except OSError:
                    return
                k = due
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        os.close(self.master)


@pytest.fixture
def sensors(tmp_path):
    made = []

    def make(**kwargs):
        d = ScriptedWitMotion(str(tmp_path / f"ttyWIT{len(made)}"), **kwargs)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def _check(link: str, protocol: str):
    return subprocess.Popen([CERVITRACK, "device-check", "--device", f"serial:{link}",
                             "--protocol", protocol], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_device_check_passes_a_right_setup_and_names_a_mirrored_axis_and_a_wrong_protocol(sensors):
    right, mirrored, foreign = sensors(), sensors(mirror_y=True), sensors()
    # The three run at once (each follows the same 7.5 s script in real time).
    procs = [_check(right.link, "witmotion-serial"), _check(mirrored.link, "witmotion-serial"),
             _check(foreign.link, "bno08x-rvc")]
    outs = [p.communicate(timeout=120) for p in procs]
    (ok_out, ok_err), (bad_out, bad_err), (proto_out, proto_err) = outs
    assert procs[0].returncode == 0, ok_out + ok_err
    assert "[1/3] Sit upright, look straight ahead and keep still." in ok_out
    assert "[2/3] Turn your head slowly" in ok_out and "[3/3] Nod slowly" in ok_out
    assert "protocol: the bytes fit witmotion-serial\n" in ok_out
    assert "ok: orientation, accelerometer and gyro agree" in ok_out

    assert procs[1].returncode == 1, bad_out + bad_err
    assert "problem: this sensor's orientation and its accelerometer disagree by 40°" in bad_out
    assert "its y axis is mirrored" in bad_out

    assert procs[2].returncode == 1, proto_out + proto_err
    assert "no valid bno08x-rvc frame in" in proto_out
    assert ("protocol: these bytes fit witmotion-serial, not bno08x-rvc: run again with "
            "--protocol witmotion-serial") in proto_out


def test_device_check_with_the_simulated_headset_walks_through_the_steps():
    out = subprocess.run([CERVITRACK, "device-check", "--device", "sim", "--seed", "3"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line[:5] for line in lines[:3]] == ["[1/3]", "[2/3]", "[3/3]"]
    assert lines[-1] == ("ok: nothing to compare: this stream carries an orientation only (no "
                         "accelerometer or gyro)")


def _calibration_script(t_s):
    """Still 8 s (head tilted 20° in roll), nod 20° down and back (8-10 s), still, turn 30°
    left and back (12-14 s), still: the JPE calibration's rest, nod and turn."""
    t = np.asarray(t_s, float)

    def angles(t):
        pitch = 20 * (_min_jerk(t - 8.0) - _min_jerk(t - 9.0))
        yaw = 30 * (_min_jerk(t - 12.0) - _min_jerk(t - 13.0))
        return np.column_stack([yaw, pitch, np.full_like(t, 20.0)])

    return _imu_of(angles, t)


@pytest.mark.parametrize("mirror,orientation", [(False, "device"), (True, "device"),
                                                (True, "auto")])
def test_jpe_calibration_checks_the_sensor_and_says_so_in_plain_words(mirror, orientation):
    """Live chain (decoder → pipeline → JPE engine) on WitMotion bytes: a right sensor passes
    the check; one with its y axis mirrored makes the calibration redo with the reason in
    words, also when the pipeline fuses acc and gyro itself ("auto": VQF), since the check
    compares them with the device's own quaternion."""
    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.signal.samples import Chunk
    from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
    from cervitrack.trainer.live.pipeline import Pipeline

    pipeline = Pipeline(make_decoder("witmotion-serial"), orientation=orientation)
    engine = JpeTest(JpeSettings(directions=("rotation_left",), trials_per_direction=1))
    started = False
    for k in range(0, 1800, 10):  # 18 s, 0.1 s per step
        t = np.arange(k, k + 10) / RATE_HZ
        q, acc, gyr = _calibration_script(t)
        if mirror:
            acc, gyr = acc * [1, -1, 1], gyr * [1, -1, 1]
        pose = pipeline.process([Chunk(float(t[-1]), encode_serial_samples(
            quat_wxyz=q, acc_m_s2=acc, gyr_rad_s=gyr))])
        if not started and len(pose):
            engine.start(float(pose.t_s[-1]))
            started = True
        elif started:
            engine.update(pose)
    cal = [e for e in engine.events if e["kind"] == "calibration"]
    assert cal, [e for e in engine.events if e["kind"] == "prompt"]
    check = cal[0]["sensor_check"]
    if not mirror:
        assert check["ok"] and check["gravity_angle_deg"] < 0.5
        assert check["gyro_direction_deg"] < 5.0
        return
    assert not check["ok"] and check["fix"] == "mirror_y"
    assert check["gravity_angle_deg"] == pytest.approx(40.0, abs=1.0)
    redo = [e for e in engine.events if e["kind"] == "prompt" and e["prompt"] == "redo"]
    assert redo and ("This sensor's orientation and its accelerometer disagree by 40°"
                     in redo[0]["text"]), redo


def test_device_check_names_the_emulators_mirrored_axes_fault(tmp_path):
    """``cervitrack emulate witmotion-serial --mirror-axes`` (a left-handed y axis: its fused
    orientation lives in the mirrored world, acc and gyro y negated) follows device-check's
    prompts through ``--events``; device-check must name the fault."""
    events = tmp_path / "events.jsonl"
    emu = subprocess.Popen([CERVITRACK, "emulate", "witmotion-serial", "--rate", "100",
                            "--mirror-axes", "--events", str(events), "--seed", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True)
    try:
        port = emu.stdout.readline().strip()
        out = subprocess.run([CERVITRACK, "device-check", "--device", f"serial:{port}",
                              "--protocol", "witmotion-serial", "--events", str(events)],
                             capture_output=True, text=True, timeout=120)
    finally:
        emu.terminate()
        emu.communicate(timeout=15)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "[3/3] Nod slowly" in out.stdout
    problem = [line for line in out.stdout.splitlines() if line.startswith("problem: ")]
    assert problem and "turns" in problem[0], out.stdout
    assert "mirrored (left-handed) axis setting" in problem[0], out.stdout
