"""Throughput of the offline chain against bare VQF on the same data, printed as JSON.

Data: the five BROAD trials (tests/data/broad; Laidig et al. 2021, CC BY 4.0) concatenated
and tiled to about ``--samples`` samples of raw gyro + acc at 285.7 Hz.

- ``pipeline_samples_per_s``: :func:`cervitrack.trainer.live.pipeline.process_recording` with a head
  calibration and ``causal=True``: rest-window gyro bias, gyro scaled by the true period,
  causal VQF (head profile), angular speed, stillness, neutral capture, head pose relative to
  neutral, head angles and zero-phase smoothed angles.
- ``offline_vqf_pipeline_samples_per_s``: the same chain with ``offlineVQF`` (the default of
  ``cervitrack process``).
- ``vqf_update_batch_samples_per_s``: bare ``vqf.VQF(Ts).updateBatch(gyr, acc)``.

Each is the best of ``--repeats`` interleaved runs (``time.perf_counter``), all in the same
process.
``ratio`` = pipeline / bare VQF.

Usage: python bench/pipeline.py [--json] [--samples N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from vqf import VQF

from cervitrack.calibration.head import HeadCalibration
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.live.pipeline import process_recording


def load_data(n_samples: int):
    root = Path(__file__).resolve().parents[1] / "tests" / "data" / "broad"
    files = sorted(root.glob("*.npz"))
    if not files:
        raise SystemExit(f"bench/pipeline.py: error: no BROAD data in {root}")
    gyr, acc, fs = [], [], None
    for f in files:
        z = np.load(f)
        gyr.append(z["imu_gyr"].astype(np.float64))
        acc.append(z["imu_acc"].astype(np.float64))
        fs = float(z["sampling_rate"])
    gyr, acc = np.concatenate(gyr), np.concatenate(acc)
    reps = max(1, int(np.ceil(n_samples / len(gyr))))
    gyr = np.ascontiguousarray(np.tile(gyr, (reps, 1))[:n_samples])
    acc = np.ascontiguousarray(np.tile(acc, (reps, 1))[:n_samples])
    return np.arange(len(gyr)) / fs, gyr, acc, fs


def best_of(repeats: int, fn) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    t, gyr, acc, fs = load_data(args.samples)
    cal = HeadCalibration(q_sensor_head=quat.IDENTITY_WXYZ.copy())
    n = len(t)
    runs = {"bare": lambda: VQF(1.0 / fs).updateBatch(gyr, acc),
            "chain": lambda: process_recording(t, gyr, acc, calibration=cal, causal=True),
            "offline": lambda: process_recording(t, gyr, acc, calibration=cal, causal=False)}
    best = dict.fromkeys(runs, np.inf)
    for _ in range(args.repeats):  # interleaved, so a busy spell hits all three alike
        for name, fn in runs.items():
            best[name] = min(best[name], best_of(1, fn))
    bare, chain, offline = best["bare"], best["chain"], best["offline"]
    print(json.dumps({
        "benchmark": "pipeline",
        "samples": n,
        "rate_hz": fs,
        "pipeline_samples_per_s": n / chain,
        "offline_vqf_pipeline_samples_per_s": n / offline,
        "vqf_update_batch_samples_per_s": n / bare,
        "ratio": bare / chain,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
