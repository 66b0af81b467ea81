"""Synthetic BLE arrival times for timebase tests and benchmarks (pure numpy).

A device samples at ``rate_hz`` on its own clock, which runs ``drift_ppm`` fast, with
``offset_s`` between the clocks. The host (the BLE central) holds a connection event every
``interval_s`` of host time; each frame waits for the next event and leaves in a notification
of at most ``per_packet`` frames, which arrives ``latency_s`` + U(0, ``jitter_s``) after the
event (arrival order kept); a fraction ``loss`` of notifications is lost. An optional
disconnect drops ``outage_s`` of frames between two segments.

Unlike :class:`~cervitrack.firmware_bridge.sim.link.SimLink` (which carries encoded bytes),
this gives the times alone, so hours of arrivals cost milliseconds.
"""

from __future__ import annotations

import numpy as np


def ble_arrivals(seg_s=(60.0, 0.0), outage_s: float = 0.0, interval_s: float = 0.015, *,
                 rate_hz: float = 100.0, drift_ppm: float = 40.0, offset_s: float = 5.0,
                 jitter_s: float = 0.010, latency_s: float = 0.002, loss: float = 0.02,
                 per_packet: int = 6, seed: int = 1) -> dict:
    """Arrival times of the frames that got through.

    Returns:
        dict with ``k`` (int64 (N,), the device's frame index, which is also its counter
        before wrapping), ``t_true`` ((N,) host time at which each frame was sampled, s),
        ``t_host`` ((N,) host arrival time, s), ``n1`` (frames in the first segment; frames
        with ``k >= n1`` come after the disconnect), ``true_drift_ppm`` (host seconds per
        device second, minus 1, in ppm: what a timebase should estimate).
    """
    rng = np.random.default_rng(seed)
    period_true = 1.0 / (rate_hz * (1 + drift_ppm * 1e-6))
    n1, n_out = int(seg_s[0] * rate_hz), int(outage_s * rate_hz)
    k = np.concatenate([np.arange(n1), n1 + n_out + np.arange(int(seg_s[1] * rate_hz))])
    t_true = offset_s + k * period_true
    phase = rng.uniform(0, interval_s)
    event = np.ceil((t_true - phase) / interval_s) * interval_s + phase
    new_event = np.concatenate([[True], event[1:] != event[:-1]])
    group_start = np.flatnonzero(new_event)[np.cumsum(new_event) - 1]
    new_packet = new_event | ((np.arange(len(k)) - group_start) % per_packet == 0)
    packet = np.cumsum(new_packet) - 1
    arrival = event[new_packet] + latency_s + rng.uniform(0, jitter_s, packet[-1] + 1)
    arrival = np.maximum.accumulate(arrival)
    keep = ~(rng.random(packet[-1] + 1) < loss)[packet]
    return {"k": k[keep], "t_true": t_true[keep], "t_host": arrival[packet][keep], "n1": n1,
            "true_drift_ppm": 1e6 * (1 / (1 + drift_ppm * 1e-6) - 1)}
