"""The simulated link: BLE-like bunching, jitter, packet loss, splits and disconnects.

Frames wait on the device until the next connection event (every ``interval_ms``), then leave
in notifications of at most ``frames_per_packet`` frames. A notification arrives at the host
``latency_ms`` plus a uniform random ``[0, jitter_ms]`` after its event (arrival order is kept),
is lost with probability ``loss_rate``, and with probability ``split_rate`` arrives as two
chunks (as a serial adapter would cut it). During a disconnect nothing is delivered and the
frames sampled meanwhile are lost; a :class:`Gap` marks the disconnect.
"""

from __future__ import annotations

import heapq

import numpy as np

from cervitrack.firmware_bridge.sim.config import LinkConfig
from cervitrack.signal.samples import Chunk, Gap


class SimLink:
    def __init__(self, cfg: LinkConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng
        self.interval_s = cfg.interval_ms / 1e3
        self.phase_s = float(rng.uniform(0, self.interval_s))
        self._pending: list[tuple[float, int, object]] = []  # heap of (arrival, order, item)
        self._order = 0
        self._last_arrival_s = -np.inf
        self._disconnects: list[tuple[float, float]] = []
        # Disconnects come from a stream of their own: their times depend on the seed only,
        # not on how the host polls (the packets' jitter and losses draw per call), so a
        # live session stepped at wall-clock pace drops out at the same simulated times.
        seed_seq = getattr(rng.bit_generator, "seed_seq", None)
        self._outage_rng = np.random.default_rng(seed_seq.spawn(1)[0]) if seed_seq is not None else rng
        self._next_disconnect_s = self._draw_disconnect(0.0)
        self.stats = {"packets": 0, "lost_packets": 0, "lost_frames": 0, "disconnects": 0}

    def _draw_disconnect(self, after_s: float) -> float:
        if self.cfg.disconnect_every_s <= 0:
            return np.inf
        return after_s + float(self._outage_rng.exponential(self.cfg.disconnect_every_s))

    def _disconnected(self, t_s: np.ndarray) -> np.ndarray:
        """Mask of times inside a disconnect, drawing new disconnects up to max(t_s)."""
        t_max = float(t_s.max()) if t_s.size else -np.inf
        while self._next_disconnect_s <= t_max:
            start = self._next_disconnect_s
            end = start + self.cfg.disconnect_s
            self._disconnects.append((start, end))
            self.stats["disconnects"] += 1
            self._push(start, Gap(t_host_s=start, reason="disconnect"))
            self._next_disconnect_s = self._draw_disconnect(end)
        mask = np.zeros(t_s.shape, dtype=bool)
        for start, end in self._disconnects[-4:]:
            mask |= (t_s >= start) & (t_s < end)
        return mask

    def _push(self, arrival_s: float, item) -> None:
        heapq.heappush(self._pending, (arrival_s, self._order, item))
        self._order += 1

    def send(self, frames: bytes, frame_size: int, t_sampled_s: np.ndarray) -> None:
        """Queue N frames of ``frame_size`` bytes sampled at true times t_sampled_s (N,)."""
        n = len(t_sampled_s)
        if n == 0:
            return
        event = np.ceil((t_sampled_s - self.phase_s) / self.interval_s) * self.interval_s + self.phase_s
        dropped = self._disconnected(event)
        self.stats["lost_frames"] += int(dropped.sum())
        keep = np.flatnonzero(~dropped)
        if keep.size == 0:
            return
        ev = event[keep]
        # Packets: consecutive frames of the same event, at most frames_per_packet each.
        new_event = np.concatenate([[True], ev[1:] != ev[:-1]])
        group_start = np.maximum.accumulate(np.where(new_event, np.arange(keep.size), 0))
        within = np.arange(keep.size) - group_start
        new_packet = new_event | (within % self.cfg.frames_per_packet == 0)
        starts = np.flatnonzero(new_packet)
        ends = np.concatenate([starts[1:], [keep.size]])
        lost = self.rng.random(starts.size) < self.cfg.loss_rate
        jitter = self.rng.uniform(0, self.cfg.jitter_ms / 1e3, size=starts.size)
        split = self.rng.random(starts.size) < self.cfg.split_rate
        cut = self.rng.random(starts.size)
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
            self.stats["packets"] += 1
            if lost[i]:
                self.stats["lost_packets"] += 1
                self.stats["lost_frames"] += e - s
                continue
            arrival = max(float(ev[s]) + self.cfg.latency_ms / 1e3 + float(jitter[i]),
                          self._last_arrival_s)
            self._last_arrival_s = arrival
            # Frames in one packet are contiguous in `keep` only if no frame was dropped between.
            idx = keep[s:e]
            if np.all(np.diff(idx) == 1):
                data = frames[idx[0] * frame_size:(idx[-1] + 1) * frame_size]
            else:
                data = b"".join(frames[j * frame_size:(j + 1) * frame_size] for j in idx.tolist())
            if split[i] and len(data) > 1:
                k = 1 + int(cut[i] * (len(data) - 1))
                self._push(arrival, Chunk(arrival, data[:k]))
                self._push(arrival, Chunk(arrival, data[k:]))
            else:
                self._push(arrival, Chunk(arrival, data))

    def next_arrival_s(self) -> float:
        """Host time of the next queued item (inf when nothing is queued): lets a reader sleep
        until data arrives, as a real transport's reader blocks on its port."""
        return self._pending[0][0] if self._pending else float("inf")

    def receive(self, until_s: float) -> list:
        """Chunks and gaps that have arrived by host time ``until_s``, in arrival order."""
        out = []
        while self._pending and self._pending[0][0] <= until_s:
            out.append(heapq.heappop(self._pending)[2])
        return out
