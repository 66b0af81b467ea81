"""An emulated device: the virtual patient wearing a virtual IMU, speaking a real device's
protocol over a real transport in real time (``cervitrack emulate``).

:class:`EmulatedDevice` is the transport-agnostic core. ``take_due(now_s)`` samples the
patient's head at the device's current rate up to emulator time ``now_s``, encodes each sample
with the device's protocol (:mod:`cervitrack.firmware_bridge.emulation.protocols`) and returns
``(t_s, message)`` pairs: serial frames, datagrams or BLE notification payloads. Its time is
whatever the caller passes, so tests run it on simulated time; :func:`run_realtime` paces it on
the wall clock (a device is the one place the wall clock belongs) and moves the messages
through an endpoint (pty, UDP; a BLE peripheral can call ``take_due`` the same way).

Prompts reach the patient from a test's events file (:class:`PromptTail`, JSON lines written
by ``cervitrack test --events PATH``) or from a built-in script (:data:`SCRIPTS`). The ground
truth (:class:`TruthLog`) records, for every recorded trial, the relocation error the patient
drew and the true error of its head between the reference and relocation windows, decomposed as
:func:`cervitrack.trainer.simulation.runner.true_trial_errors` does. The patient is a
:class:`~cervitrack.trainer.simulation.virtual_patient.VirtualPatient` or any subclass given as
``patient_factory`` (``cervitrack emulate`` uses the training's trainee, which also follows the
drill prompts of ``cervitrack train --events``).

Frames: the virtual IMU (:mod:`cervitrack.firmware_bridge.sim.imu`) gives acc and gyro in the
sensor frame and the device's fused quaternion (sensor→world, heading drifting); the magnetic
field is a constant world field (:data:`WORLD_FIELD_UT`) rotated into the sensor frame.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from cervitrack.firmware_bridge.emulation.protocols import EmulatedProtocol, SampleBlock
from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.sim.imu import VirtualImu
from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.signal.stillness import StillnessParams
from cervitrack.trainer.clinical.prompts import Prompt, make_prompt
from cervitrack.trainer.simulation.virtual_patient import VirtualPatient

#: Earth's field in the world frame (z up), µT: 48 µT at 65° inclination, a mid-latitude
#: European value (NOAA World Magnetic Model order of magnitude); heading is arbitrary anyway.
WORLD_FIELD_UT = np.array([20.3, 0.0, -43.5])
#: Length of the reference and relocation windows the truth averages over, s: the tests' own
#: still windows (the head is still there anyway).
TRUTH_WINDOW_S = StillnessParams().settle_s
#: Most samples generated in one call (a long stall is caught up in blocks).
MAX_BLOCK = 400


# ----------------------------------------------------------------------------- scripts

def _script_prompts(kind: str, period_s: float):
    def schedule(t_from: float, t_to: float) -> list[tuple[float, Prompt]]:
        out = []
        if t_from <= 0.2 < t_to:
            out.append((0.2, make_prompt("sit_still", 0.2)))
        if kind != "sit_still":
            n0 = max(0, math.ceil((t_from - 1.0) / period_s))
            t = 1.0 + n0 * period_s
            while t < t_to:
                if t >= t_from:
                    out.append((t, make_prompt(kind, t)))
                t += period_s
        return out
    return schedule


#: Built-in motion scripts for device checks: ``still`` (sit still), ``turns`` (slow head turns,
#: left then right, twice, every 14 s), ``nods`` (slow nods every 11 s). The movements are the
#: virtual patient's calibration movements.
SCRIPTS = {
    "still": _script_prompts("sit_still", math.inf),
    "turns": _script_prompts("turn", 14.0),
    "nods": _script_prompts("nod", 11.0),
}


# ----------------------------------------------------------------------------- events file

def prompt_from_event(event: dict) -> Prompt:
    """The :class:`Prompt` of an events-file ``prompt`` line (KeyError, TypeError or
    ValueError when it is not one)."""
    return Prompt(**prompt_fields(event))


_plain_prompt = prompt_from_event  # the default of PromptTail (its argument shadows the name)


def prompt_fields(event: dict) -> dict:
    """The :class:`Prompt` fields of an events-file ``prompt`` line."""
    return {"kind": str(event["prompt"]), "t_s": float(event.get("t_s", math.nan)),
            "direction": event.get("direction"), "text": event.get("text", ""),
            "target": event.get("target")}


class PromptTail:
    """Follows a test's events file (JSON lines; ``kind == "prompt"`` lines are prompts).

    The file may not exist yet and may grow at any time; :meth:`poll` returns the prompts of
    the complete lines added since the last call. Lines whose ``wall_time_s`` is older than
    ``since_wall_s`` (a previous test's events left in the file) are skipped; a line that is not
    JSON is counted in :attr:`bad_lines` and skipped.
    """

    def __init__(self, path, since_wall_s: float, prompt_from_event=None) -> None:
        #: callable(event dict) → Prompt (KeyError/TypeError/ValueError for a bad line); the
        #: training's drill prompts carry more fields (``cervitrack emulate`` passes
        #: :meth:`cervitrack.trainer.training.drills.DrillPrompt.from_event`).
        self.prompt_from_event = prompt_from_event or _plain_prompt
        self.path = os.fspath(path)
        self.since_wall_s = float(since_wall_s)
        self._pos = 0
        self._partial = b""
        self._inode: int | None = None
        self.bad_lines = 0

    def poll(self) -> list[tuple[Prompt, float]]:
        """[(prompt, wall_time_s)] for the new prompt lines, in file order."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if self._inode != st.st_ino or st.st_size < self._pos:  # new or truncated file
                    self._inode, self._pos, self._partial = st.st_ino, 0, b""
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return []
        self._pos += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            if not isinstance(event, dict) or event.get("kind") != "prompt":
                continue
            wall = event.get("wall_time_s")
            wall = float(wall) if isinstance(wall, (int, float)) else math.nan
            if wall < self.since_wall_s:
                continue
            try:
                prompt = self.prompt_from_event(event)
            except (KeyError, TypeError, ValueError):
                self.bad_lines += 1
                continue
            out.append((prompt, wall))
        return out


# ----------------------------------------------------------------------------- ground truth

class TruthLog:
    """Ground truth as JSON lines (``kind``: ``device``, ``prompt``, ``trial``, ``relocation``
    (the target head position test's drawn errors), ``sample``, ``rate``) to a file, flushed line by line so a test can read it while the emulator runs."""

    def __init__(self, path) -> None:
        self._f = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def write(self, doc: dict) -> None:
        self._f.write(json.dumps(doc) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _round(x, digits=6):
    return np.round(np.asarray(x, dtype=np.float64), digits).tolist()


# ----------------------------------------------------------------------------- the device

@dataclass
class Faults:
    """Faults for device checks.

    Attributes:
        drop_at_s, drop_for_s: send nothing from ``drop_at_s`` for ``drop_for_s`` (the samples
            are still taken, so counters jump over the dropout as a real link's do).
        mirror_axes: the device reports a mirrored y axis: acc, gyro and mag y negated, and the
            fused quaternion of the mirrored world, ``(w, -x, y, -z)``. Gravity still agrees with
            the orientation; the gyro turns the wrong way relative to it.
        drop_on_prompt: instead of ``drop_at_s``: the dropout starts 0.2 s after the first
            prompt of this kind reaches the patient (a dropout in the middle of a trial, however
            long the steps before it took).
    """

    drop_at_s: float = math.inf
    drop_for_s: float = 0.0
    mirror_axes: bool = False
    drop_on_prompt: str | None = None


class EmulatedDevice:
    """A virtual patient wearing a virtual IMU that speaks ``protocol``.

    Args:
        protocol: the device's wire behaviour (its ``rate_hz`` may change on host commands).
        cfg: simulator settings (sensor noise, mount, patient); ``cfg.seed`` seeds everything.
        faults: device-check faults.
        truth: a :class:`TruthLog` or None.
        truth_sample_every_s: write a ``sample`` truth line this often (device time), s.
    """

    def __init__(self, protocol: EmulatedProtocol, cfg: SimConfig, faults: Faults | None = None,
                 truth: TruthLog | None = None, truth_sample_every_s: float = 1.0,
                 patient_factory=VirtualPatient) -> None:
        self.protocol = protocol
        self.cfg = cfg
        self.faults = faults or Faults()
        self.truth = truth
        root = np.random.SeedSequence([cfg.seed, 0xE1A7])
        patient_seed, imu_seed = root.spawn(2)
        #: ``patient_factory(PatientConfig, Generator)``: VirtualPatient, or a subclass that
        #: follows more prompts (``cervitrack emulate`` passes the training's trainee).
        self.patient = patient_factory(cfg.patient, np.random.default_rng(patient_seed))
        cfg.sensor.output = "raw"  # the device sends acc and gyro as well as its quaternion
        cfg.sensor.rate_hz = protocol.rate_hz
        self.imu = VirtualImu(cfg.sensor, np.random.default_rng(imu_seed))
        self._drift = 1.0 + cfg.sensor.clock_drift_ppm * 1e-6
        self._k = 0
        self._t_next_dev_s = 0.0  # device clock (since start) of the next sample
        self._next_truth_s = 0.0
        self._rate_hz = protocol.rate_hz
        self.sent = 0
        self.dropped = 0
        # JPE bookkeeping for the truth: the last move prompt, the relocation of the trial.
        self._t_move_s: float | None = None
        self._move_direction: str | None = None
        self._relocation: dict | None = None
        self.trials = 0
        #: Host monotonic clock at emulator time 0 when paced in real time (NaN otherwise):
        #: ``sample`` truth lines then carry ``t_monotonic_s``, comparable with a reader's
        #: host times on the same machine.
        self.clock_origin_s = math.nan

    # ------------------------------------------------------------------ time
    def next_sample_s(self) -> float:
        """Emulator (true) time of the next sample, s."""
        return self._t_next_dev_s / self._drift

    def _device_time_s(self, dev_elapsed: np.ndarray) -> np.ndarray:
        return self.cfg.sensor.clock_offset_s + dev_elapsed

    def take_due(self, now_s: float) -> list[tuple[float, bytes]]:
        """The messages of the samples due by emulator time ``now_s`` (at most MAX_BLOCK)."""
        if self.protocol.rate_hz != self._rate_hz:
            self._rate_hz = self.protocol.rate_hz
            self.imu.period_s = 1.0 / self._rate_hz
            if self.truth:
                self.truth.write({"kind": "rate", "t_s": round(now_s, 6),
                                  "rate_hz": self._rate_hz})
        period_dev = 1.0 / self._rate_hz
        n = int(math.floor((now_s * self._drift - self._t_next_dev_s) / period_dev)) + 1
        if n <= 0:
            return []
        n = min(n, MAX_BLOCK)
        dev = self._t_next_dev_s + period_dev * np.arange(n)
        k = self._k + np.arange(n)
        self._k += n
        self._t_next_dev_s = float(dev[-1] + period_dev)
        if not self.protocol.streaming:
            return []
        t_true = dev / self._drift
        block = self._measure(k, dev, t_true)
        messages = self.protocol.encode(block)
        f = self.faults
        keep = ~((t_true >= f.drop_at_s) & (t_true < f.drop_at_s + f.drop_for_s))
        self.dropped += int(np.count_nonzero(~keep))
        out = [(float(t), m) for t, m, ok in zip(t_true.tolist(), messages, keep.tolist()) if ok]
        self.sent += len(out)
        return out

    def _measure(self, k: np.ndarray, dev_elapsed: np.ndarray, t_true: np.ndarray) -> SampleBlock:
        """What the sensor measures at true times ``t_true`` (faults applied, truth logged)."""
        reading = self.imu.read(self.patient, t_true)
        q_ws_true = self.imu.q_world_sensor(reading["q_world_head"])
        mag = quat.rotate(quat.conjugate(q_ws_true), np.tile(WORLD_FIELD_UT, (len(t_true), 1)))
        block = SampleBlock(k=k, t_device_s=self._device_time_s(dev_elapsed),
                            quat_wxyz=reading["quat_wxyz"], acc_m_s2=reading["acc_m_s2"],
                            gyr_rad_s=reading["gyr_rad_s"], mag_uT=mag)
        if self.faults.mirror_axes:
            block = _mirrored(block)
        self._truth_samples(block, t_true, reading["q_world_head"])
        return block

    def motion(self, t_device_s, rate_hz: float):
        """The sensor's samples at device times ``t_device_s`` (N,) (s since power-on, rising
        from call to call) at ``rate_hz``: ``(quat_wxyz, acc_m_s2, gyr_rad_s)``, the motion a
        BLE peripheral (:mod:`cervitrack.firmware_bridge.emulation.ble_peripherals`) samples
        on its own schedule. Faults other than mirrored axes are the caller's (a dropout on
        BLE is a lost link, not missing notifications)."""
        dev = np.asarray(t_device_s, dtype=np.float64).reshape(-1)
        if rate_hz != self._rate_hz:
            self._rate_hz = float(rate_hz)
            self.imu.period_s = 1.0 / self._rate_hz
            if self.truth:
                self.truth.write({"kind": "rate", "t_s": round(float(dev[0]) / self._drift, 6)
                                  if dev.size else 0.0, "rate_hz": self._rate_hz})
        k = self._k + np.arange(dev.size)
        self._k += dev.size
        block = self._measure(k, dev, dev / self._drift)
        self.sent += dev.size
        return block.quat_wxyz, block.acc_m_s2, block.gyr_rad_s

    def _truth_samples(self, block: SampleBlock, t_true, q_world_head) -> None:
        if self.truth is None:
            return
        for i in np.flatnonzero(t_true >= self._next_truth_s)[:1].tolist():
            self.truth.write({
                "kind": "sample", "k": int(block.k[i]), "t_s": round(float(t_true[i]), 6),
                "t_monotonic_s": round(float(t_true[i]) + self.clock_origin_s, 6)
                if math.isfinite(self.clock_origin_s) else None,
                "t_device_s": round(float(block.t_device_s[i]), 6),
                "quat_wxyz": _round(block.quat_wxyz[i]), "acc_m_s2": _round(block.acc_m_s2[i]),
                "gyr_rad_s": _round(block.gyr_rad_s[i]), "q_world_head": _round(q_world_head[i])})
            self._next_truth_s = float(t_true[i]) + 1.0

    # ------------------------------------------------------------------ prompts
    def prompt(self, prompt: Prompt, now_s: float, issued_s: float | None = None) -> None:
        """Hand ``prompt`` to the patient at emulator time ``now_s``; ``issued_s`` is when the
        test issued it on the emulator's time (default ``now_s``): the truth's windows end
        there."""
        issued = now_s if issued_s is None or not math.isfinite(issued_s) else min(issued_s, now_s)
        kind = prompt.kind
        f = self.faults
        if f.drop_on_prompt is not None and kind == f.drop_on_prompt and not math.isfinite(f.drop_at_s):
            f.drop_at_s = now_s + 0.2
            if self.truth:
                self.truth.write({"kind": "dropout", "t_s": round(f.drop_at_s, 6), "for_s": f.drop_for_s})
        n_before = len(self.patient.relocations)
        drills = getattr(self.patient, "drill_relocations", [])  # a training patient's drills
        n_drills = len(drills)
        self.patient.on_prompt(prompt, now_s)
        if self.truth:
            self.truth.write({"kind": "prompt", "t_s": round(now_s, 6),
                              "issued_t_s": round(issued, 6), "prompt": kind,
                              "direction": prompt.direction})
        if kind == "move":
            self._t_move_s, self._move_direction, self._relocation = issued, prompt.direction, None
        elif kind == "return" and len(self.patient.relocations) > n_before:
            self._relocation = self.patient.relocations[-1]
        elif kind == "redo":
            self._t_move_s, self._relocation = None, None
        elif kind == "trial_recorded" and self._relocation is not None:
            self._trial(issued)
        elif len(self.patient.relocations) > n_before and self.truth:
            rel = self.patient.relocations[-1]  # another test's relocation (target head position)
            self.truth.write({"kind": "relocation", "test": rel.get("test"),
                              "direction": rel["direction"],
                              "drawn_error_deg": round(float(rel["error_deg"]), 6),
                              "t_s": round(now_s, 6)})
        if len(drills) > n_drills and self.truth:
            rel = drills[-1]
            self.truth.write({"kind": "relocation", "test": "training", "drill": rel["kind"],
                              "direction": rel["direction"],
                              "drawn_error_deg": round(float(rel["error_deg"]), 6),
                              "t_s": round(now_s, 6)})

    def _window_mean(self, t_end_s: float) -> np.ndarray:
        t = np.linspace(t_end_s - TRUTH_WINDOW_S, t_end_s, 26)
        return quat.mean(self.patient(t))

    def _trial(self, t_recorded_s: float) -> None:
        rel, t_move = self._relocation, self._t_move_s
        self._relocation = self._t_move_s = None
        self.trials += 1
        if self.truth is None or t_move is None or rel is None:
            return
        q_err = quat.relative(self._window_mean(t_move), self._window_mean(t_recorded_s))
        angles = kinematics.head_angles_deg(q_err)
        self.truth.write({
            "kind": "trial", "trial": self.trials, "direction": rel["direction"],
            "drawn_error_deg": round(float(rel["error_deg"]), 6),
            "true_deg": {k: round(float(angles[k]), 6)
                         for k in ("axial", "flexion", "lateral", "global")},
            "ref_window_end_s": round(t_move, 6), "ret_window_end_s": round(t_recorded_s, 6)})


def _mirrored(block: SampleBlock) -> SampleBlock:
    flip = np.array([1.0, -1.0, 1.0])
    q = block.quat_wxyz * np.array([1.0, -1.0, 1.0, -1.0])
    return SampleBlock(block.k, block.t_device_s, q, block.acc_m_s2 * flip,
                       block.gyr_rad_s * flip, block.mag_uT * flip)


# ----------------------------------------------------------------------------- real time

def follow_prompts(device: EmulatedDevice, now_s: float, t_script_s: float, script=None,
                   events: PromptTail | None = None, wall0_s: float = 0.0) -> float:
    """Give ``device`` the prompts due by ``now_s`` (s on the emulator's clock): the
    ``script``'s issued after ``t_script_s``, and the ``events`` file's new ones (each issued
    at its wall-clock time minus ``wall0_s``, the wall-clock time of the emulator's t = 0).
    Returns where the script resumes next time: ``now_s`` when there is a script, else
    ``t_script_s``."""
    if script is not None:
        for _, prompt in script(t_script_s, now_s):
            device.prompt(prompt, now_s)
        t_script_s = now_s
    if events is not None:
        for prompt, wall_s in events.poll():
            device.prompt(prompt, now_s, wall_s - wall0_s)
    return t_script_s


def run_realtime(device: EmulatedDevice, endpoint, *, duration_s: float | None = None,
                 script=None, events: PromptTail | None = None, should_stop=lambda: False,
                 log=lambda line: None, clock=time.monotonic, wall=time.time,
                 sleep=time.sleep, poll_s: float = 0.02) -> dict:
    """Pace ``device`` on the wall clock and move its messages through ``endpoint``.

    Every message leaves when its sample is due. Every ``poll_s`` (and between samples) the
    host's bytes are read and answered, the events file is polled and the script advanced.
    Stops after ``duration_s`` or when ``should_stop()`` is true. Returns counters.
    """
    t0 = clock()
    wall0 = wall()
    device.clock_origin_s = t0
    t_script = 0.0
    next_poll = 0.0
    seen_log = 0
    while True:
        now = clock() - t0
        if should_stop() or (duration_s is not None and now >= duration_s):
            break
        if now >= next_poll:
            next_poll = now + poll_s
            data = endpoint.receive()
            if data:
                for reply in device.protocol.host_bytes(data):
                    endpoint.send(reply)
            for line in device.protocol.log[seen_log:]:
                log(line)
            seen_log = len(device.protocol.log)
            t_script = follow_prompts(device, now, t_script, script, events, wall0)
        for _, message in device.take_due(now):
            endpoint.send(message)
        wake = min(device.next_sample_s(), next_poll)
        if duration_s is not None:
            wake = min(wake, duration_s)
        delay = wake - (clock() - t0)
        if delay > 0:
            sleep(delay)
    return {"sent": device.sent, "dropped_by_fault": device.dropped,
            "dropped_by_transport_bytes": endpoint.dropped_bytes, "trials": device.trials,
            "elapsed_s": clock() - t0}
