"""Accuracy of the whole chain against the simulator's ground truth, as JSON.

    python bench/sim_accuracy.py --json [--seeds 1 2 3] [--raw] [--mount 20 -30 45] [--trials 8]

For each seed, runs the JPE test headless (the same code path as ``cervitrack demo``) and
reports, over trials, the largest |measured − true| error and the RMS difference per component
(axial, flexion, lateral, global), plus the largest violation of RMSE² = CE² + VE².
"""

import argparse
import json

import numpy as np

from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession, true_trial_errors

COMPONENTS = ("axial", "flexion", "lateral", "global")


def run(seed: int, raw: bool, mount, trials: int) -> dict:
    cfg = load_config(None, seed=seed)
    if raw:
        cfg.sensor.output = "raw"
    if mount is not None:
        cfg.sensor.mount_rpy_deg = list(mount)
    s = SimSession(cfg, JpeTest(JpeSettings(trials_per_direction=trials), rate_hz=cfg.sensor.rate_hz))
    s.run()
    diff = np.array([[t["error_deg"][c] - true_trial_errors(s.device, t)[c] for c in COMPONENTS]
                     for t in s.engine.trials if t["valid"]])
    identity = max(abs(sc["rmse_deg"] ** 2 - sc["ce_deg"] ** 2 - sc["ve_deg"] ** 2)
                   for sc in s.engine.scores().values())
    return {"seed": seed, "valid_trials": len(diff),
            "max_abs_diff_deg": dict(zip(COMPONENTS, np.abs(diff).max(axis=0).round(4).tolist())),
            "rms_diff_deg": dict(zip(COMPONENTS, np.sqrt((diff**2).mean(axis=0)).round(4).tolist())),
            "identity_max_abs_error": identity}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--mount", type=float, nargs=3, default=None)
    ap.add_argument("--trials", type=int, default=8)
    args = ap.parse_args()
    runs = [run(seed, args.raw, args.mount, args.trials) for seed in args.seeds]
    out = {"output": "raw" if args.raw else "quaternion", "mount_rpy_deg": args.mount,
           "runs": runs,
           "worst_max_abs_diff_deg": {c: max(r["max_abs_diff_deg"][c] for r in runs) for c in COMPONENTS},
           "worst_rms_diff_deg": {c: max(r["rms_diff_deg"][c] for r in runs) for c in COMPONENTS}}
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
