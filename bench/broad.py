"""Orientation accuracy on the BROAD regression subset (tests/data/broad), printed as JSON.

For each trial: the relative-orientation error over 5 s and 10 s windows (RMS / median / p95)
and the total, heading and inclination RMSE, computed as the BROAD README defines them
(:mod:`cervitrack.signal.accuracy`), next to the README's VQF reference values.

Profiles, all through Cervitrack's offline fusion (:func:`cervitrack.signal.orientation.fuse_offline`,
gyro scaled by the true per-sample period):

- ``vqf_default_6d`` / ``vqf_default_9d``: causal VQF with VQF's default parameters, the
  README's reference procedure (the regression comparison; ratio = ours / reference);
- ``head_6d``: the head profile (HEAD_VQF_PARAMS, gyro bias from the recording's rest windows);
- ``offline_6d``: ``offlineVQF`` (non-causal) with default parameters.

Data: D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD—A Benchmark for Robust Inertial
Orientation Estimation", Data 6(7):72, 2021, doi:10.3390/data6070072, CC BY 4.0 (adapted subset).

Usage: python bench/broad.py [--json] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cervitrack.calibration.rest import rest_bias_from_raw
from cervitrack.signal import accuracy
from cervitrack.signal.orientation import fuse_offline

#: The README's VQF reference values (vqf 2.1.2, default parameters): trial → metric → RMS, deg.
REFERENCE = {
    "02": {"rel5_6d": 0.619, "rel10_6d": 0.658, "rel5_9d": 0.779, "rel10_9d": 0.930, "total_6d": 0.630, "total_9d": 1.382},
    "05": {"rel5_6d": 0.575, "rel10_6d": 0.614, "rel5_9d": 0.820, "rel10_9d": 1.124, "total_6d": 0.667, "total_9d": 0.986},
    "07": {"rel5_6d": 1.841, "rel10_6d": 1.858, "rel5_9d": 1.938, "rel10_9d": 2.161, "total_6d": 1.551, "total_9d": 1.755},
    "16": {"rel5_6d": 0.714, "rel10_6d": 0.748, "rel5_9d": 0.759, "rel10_9d": 0.837, "total_6d": 0.662, "total_9d": 0.742},
    "30": {"rel5_6d": 1.960, "rel10_6d": 2.607, "rel5_9d": 1.896, "rel10_9d": 2.241, "total_6d": 5.214, "total_9d": 2.574},
}


def default_data_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "tests" / "data" / "broad"


def load_trial(path: Path) -> dict:
    z = np.load(path)
    gyr, acc, mag = (np.ascontiguousarray(z[k], dtype=np.float64) for k in ("imu_gyr", "imu_acc", "imu_mag"))
    fs = float(z["sampling_rate"])
    return {"gyr": gyr, "acc": acc, "mag": mag, "q_ref": z["opt_quat"].astype(np.float64),
            "movement": z["movement"].astype(bool), "fs": fs, "t_s": np.arange(len(gyr)) / fs}


def score(q_est, trial: dict, nine_d: bool) -> dict:
    fs, q_ref, mov = trial["fs"], trial["q_ref"], trial["movement"]
    absolute = accuracy.absolute_rmse_deg(q_est, q_ref, mov, remove_heading=not nine_d)
    rel5 = accuracy.relative_error_deg(q_est, q_ref, mov, fs, 5.0)
    rel10 = accuracy.relative_error_deg(q_est, q_ref, mov, fs, 10.0)
    return {"rel5": rel5, "rel10": rel10, "rmse": absolute}


def evaluate(trial: dict) -> dict:
    t, gyr, acc, mag, fs = trial["t_s"], trial["gyr"], trial["acc"], trial["mag"], trial["fs"]
    bias, _ = rest_bias_from_raw(t, gyr, acc)
    return {
        "vqf_default_6d": score(fuse_offline(t, gyr, acc, rate_hz=fs, params={}, causal=True), trial, False),
        "vqf_default_9d": score(fuse_offline(t, gyr, acc, mag, rate_hz=fs, params={}, causal=True), trial, True),
        "head_6d": score(fuse_offline(t, gyr, acc, rate_hz=fs, gyr_bias_rad_s=bias, causal=True), trial, False),
        "offline_6d": score(fuse_offline(t, gyr, acc, rate_hz=fs, params={}), trial, False),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="BROAD subset folder")
    args = parser.parse_args()
    files = sorted(args.data.glob("*.npz"))
    if not files:
        raise SystemExit(f"bench/broad.py: error: no .npz files in {args.data}")
    trials = {}
    for path in files:
        key = path.name[:2]
        res = evaluate(load_trial(path))
        ref = REFERENCE.get(key)
        if ref:
            d6, d9 = res["vqf_default_6d"], res["vqf_default_9d"]
            res["reference"] = ref
            res["ratio_to_reference"] = {
                "rel5_6d": d6["rel5"]["rms"] / ref["rel5_6d"], "rel10_6d": d6["rel10"]["rms"] / ref["rel10_6d"],
                "rel5_9d": d9["rel5"]["rms"] / ref["rel5_9d"], "rel10_9d": d9["rel10"]["rms"] / ref["rel10_9d"],
                "total_6d": d6["rmse"]["total"] / ref["total_6d"], "total_9d": d9["rmse"]["total"] / ref["total_9d"],
            }
        trials[path.stem] = res
    print(json.dumps({"benchmark": "broad", "trials": trials}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
