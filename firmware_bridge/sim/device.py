"""The simulated headset: a virtual IMU on a moving head, speaking OHT/1 over a simulated link.

``SimulatedHeadset(cfg, head).advance(until_s)`` samples the head trajectory up to true time
``until_s``, encodes the samples as OHT/1 frames (type 0x01 quaternion or 0x02 quaternion +
gyro + acc), pushes them through the link, and returns the :class:`Chunk` and :class:`Gap`
items that have arrived by then. Host time in the simulation is the true time.

The headset keeps the ground truth of every frame it sampled (``truth``), indexed by the
unwrapped frame counter, so any measurement window can be compared with the truth over the
same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.firmware_bridge.protocols import reference
from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.sim.imu import VirtualImu
from cervitrack.firmware_bridge.sim.link import SimLink


@dataclass
class Truth:
    """Ground truth per sampled frame: ``seq`` (unwrapped counter), ``t_true_s`` and
    ``q_world_head`` (N, 4), the head orientation in the world frame (z up)."""

    seq: np.ndarray
    t_true_s: np.ndarray
    q_world_head: np.ndarray

    def between(self, seq_first: int, seq_last: int) -> Truth:
        """Truth rows with seq_first <= seq <= seq_last."""
        lo, hi = np.searchsorted(self.seq, [seq_first, seq_last + 1])
        return Truth(self.seq[lo:hi], self.t_true_s[lo:hi], self.q_world_head[lo:hi])


class SimulatedHeadset:
    """Deterministic for a given configuration and seed.

    Args:
        cfg: simulator settings (the ``seed`` seeds every random draw).
        head: callable t_s (N,) → q_world_head (N, 4); the virtual patient.
        keep_truth_s: keep the ground truth of only the last this many seconds (None: all of
            it; a long live session, such as the application's, bounds its memory this way).
    """

    protocol = "reference"

    def __init__(self, cfg: SimConfig, head, keep_truth_s: float | None = None) -> None:
        self.cfg = cfg
        self.head = head
        root = np.random.SeedSequence(cfg.seed)
        imu_seed, link_seed = root.spawn(2)
        self.imu = VirtualImu(cfg.sensor, np.random.default_rng(imu_seed))
        self.link = SimLink(cfg.link, np.random.default_rng(link_seed))
        self.rate_hz = cfg.sensor.rate_hz
        # True sampling period: the device clock runs fast by clock_drift_ppm.
        self.period_true_s = 1.0 / (self.rate_hz * (1.0 + cfg.sensor.clock_drift_ppm * 1e-6))
        self._next_k = 0
        self._truth_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.keep_truth_s = keep_truth_s
        self._truth_cache: Truth | None = None
        self.frame_size = 34 if cfg.sensor.output == "raw" else 22
        self.device_info = {"name": "OHT-sim", "firmware": "sim-1", "protocol": "OHT/1",
                            "output": cfg.sensor.output, "rate_hz": self.rate_hz}

    #: Samples are generated this far ahead of the requested time, in blocks, to batch the
    #: numpy work. It must stay below the patient's shortest reaction time, so that no prompt
    #: can change a trajectory that was already sampled.
    LOOKAHEAD_S = 0.3

    def advance(self, until_s: float) -> list:
        """Sample up to true time ``until_s`` and return the items arrived by then."""
        if int(np.floor(until_s / self.period_true_s)) + 1 > self._next_k:
            self._generate(until_s)
        return self.link.receive(until_s)

    def prefetch(self, now_s: float) -> None:
        """Sample ahead while the reader is idle: when less than half of LOOKAHEAD_S is left
        beyond ``now_s``, generate up to ``now_s + LOOKAHEAD_S`` (never further ahead than
        :meth:`advance` would, so prompts are handled the same). A real-time reader calls it
        between reads, so that generating a block (1-3 ms) does not delay the next read,
        as a real device's bytes do not wait for the host."""
        if self._next_k * self.period_true_s < now_s + self.LOOKAHEAD_S / 2:
            self._generate(now_s)

    def _generate(self, until_s: float) -> None:
        k_end = int(np.floor((until_s + self.LOOKAHEAD_S) / self.period_true_s)) + 1
        if k_end <= self._next_k:
            return
        k = np.arange(self._next_k, k_end)
        self._next_k = k_end
        t_true = k * self.period_true_s
        reading = self.imu.read(self.head, t_true)
        self._truth_parts.append((k, t_true, reading["q_world_head"]))
        if self.keep_truth_s is not None:
            horizon = t_true[-1] - self.keep_truth_s
            self._truth_parts = [p for p in self._truth_parts if p[1][-1] >= horizon]
        self._truth_cache = None
        t_dev_us = np.rint((self.cfg.sensor.clock_offset_s + k / self.rate_hz) * 1e6)
        frames = reference.encode_samples(
            k, t_dev_us.astype(np.int64), reading["quat_wxyz"],
            reading.get("gyr_rad_s"), reading.get("acc_m_s2"), status=3)
        self.link.send(frames, self.frame_size, t_true)

    @property
    def truth(self) -> Truth:
        if self._truth_cache is None:
            if not self._truth_parts:
                return Truth(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4)))
            seq, t, q = (np.concatenate(p) for p in zip(*self._truth_parts))
            self._truth_parts = [(seq, t, q)]
            self._truth_cache = Truth(seq, t, q)
        return self._truth_cache
