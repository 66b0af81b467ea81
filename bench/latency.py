"""Latency and CPU share of the live chain, printed as JSON.

The live chain is :class:`cervitrack.trainer.live.pipeline.Pipeline` with a head calibration set:
decode (OHT/1), timebase, orientation (VQF 6-axis on raw gyro + acc, head profile with a
seeded bias), calibration (head pose relative to neutral), head angles, One Euro smoothing,
angular speed and stillness.

Input: the simulated headset (raw output, 400 Hz) worn by the virtual patient during a JPE
session, sent over a BLE-like link delivering a 4-frame notification every 10 ms (no jitter,
no splits), generated before timing. Each chunk is processed on its own, as a live reader would
on arrival: ``p50_ms`` / ``p99_ms`` / ``max_ms`` are the wall-clock times from handing the
chunk to the pipeline until its PoseBatch (with head angles) is returned. ``cpu_share_400hz``
is the process CPU time spent in the chain per second of input (1.0 = one full core), from
``time.process_time`` over the whole run; ``cpu_p50_ms`` / ``cpu_p99_ms`` are the per-chunk
thread CPU times (the chain's own cost, without the waits a busy machine adds to the wall-clock
latency). The peer ``vqf_update_batch_ms_p50`` is bare
``VQF.updateBatch`` on the same chunks in the same run.

Usage: python bench/latency.py [--json] [--seconds S] [--rate-hz R] [--frames-per-chunk F]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from vqf import VQF

from cervitrack.calibration.head import HeadCalibration
from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.signal import quaternion as quat
from cervitrack.signal.samples import Chunk
from cervitrack.trainer.clinical.prompts import make_prompt
from cervitrack.trainer.live.pipeline import Pipeline
from cervitrack.trainer.simulation.virtual_patient import VirtualPatient


def make_stream(seconds: float, rate_hz: float, frames_per_chunk: int, seed: int = 3):
    """Chunks of a head moving through nods and turns, with their decoded raw samples."""
    cfg = SimConfig(seed=seed)
    cfg.sensor.output = "raw"
    cfg.sensor.rate_hz = rate_hz
    cfg.sensor.mount_rpy_deg = [20.0, -30.0, 45.0]
    cfg.link.interval_ms = 1e3 * frames_per_chunk / rate_hz
    cfg.link.frames_per_packet = frames_per_chunk
    cfg.link.jitter_ms = 0.0
    cfg.link.split_rate = 0.0
    patient = VirtualPatient(cfg.patient, np.random.default_rng(seed))
    device = SimulatedHeadset(cfg, patient)
    items, t = [], 0.0
    kinds = ["sit_still", "nod", "turn", "recenter"]
    while t < seconds:
        patient.on_prompt(make_prompt(kinds[int(t // 8) % len(kinds)], t), t)
        for _ in range(80):
            t = round(t + 0.1, 9)
            items.extend(device.advance(t))
    return [i for i in items if isinstance(i, Chunk)], device


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    parser.add_argument("--seconds", type=float, default=120.0, help="simulated input duration")
    parser.add_argument("--rate-hz", type=float, default=400.0)
    parser.add_argument("--frames-per-chunk", type=int, default=4)
    args = parser.parse_args()
    chunks, device = make_stream(args.seconds, args.rate_hz, args.frames_per_chunk)

    pipeline = Pipeline(make_decoder(device.protocol))
    pipeline.calibration = HeadCalibration(
        q_sensor_head=quat.conjugate(device.imu.q_head_sensor),
        q_world_neutral=quat.IDENTITY_WXYZ.copy())
    warm = 200
    for c in chunks[:warm]:
        pipeline.process([c])
    pipeline.set_gyro_bias(np.radians(device.cfg.sensor.gyro_bias_dps))
    lat, cpu = [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for c in chunks[warm:]:
        t0, c0 = time.perf_counter(), time.thread_time()
        pose = pipeline.process([c])
        cpu.append(time.thread_time() - c0)
        lat.append(time.perf_counter() - t0)
        if pose.smoothed_angles_deg is None:
            raise SystemExit("bench/latency.py: error: the chain returned no head angles")
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    n_samples = sum(len(c.data) for c in chunks[warm:]) // device.frame_size
    input_s = n_samples / args.rate_hz

    # Peer: bare VQF.updateBatch on the same chunks' raw data.
    dec = make_decoder(device.protocol)
    raw = [dec.feed(c.data, c.t_host_s) for c in chunks[warm:]]
    vqf = VQF(1.0 / args.rate_hz)
    vlat = []
    for b in raw:
        g, a = np.ascontiguousarray(b.gyr_rad_s), np.ascontiguousarray(b.acc_m_s2)
        t0 = time.perf_counter()
        vqf.updateBatch(g, a)
        vlat.append(time.perf_counter() - t0)
    ms = np.array(lat) * 1e3
    print(json.dumps({
        "benchmark": "latency",
        "rate_hz": args.rate_hz,
        "frames_per_chunk": args.frames_per_chunk,
        "chunks": len(lat),
        "input_s": input_s,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
        "cpu_p50_ms": float(np.percentile(cpu, 50) * 1e3),
        "cpu_p99_ms": float(np.percentile(cpu, 99) * 1e3),
        "cpu_share_400hz": cpu_s / input_s,
        "wall_share": wall_s / input_s,
        "vqf_update_batch_ms_p50": float(np.percentile(np.array(vlat) * 1e3, 50)),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
