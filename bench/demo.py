"""Wall time of a headless simulated JPE test (`cervitrack demo --headless`), as JSON.

    python bench/demo.py --json [--trials 8] [--repeat 3]

Prints the wall and CPU time per run (CPU time is what a loaded machine cannot inflate) for 4 directions × N trials on simulated time, and the simulated
duration, so the ratio (how much faster than real time) is visible.
"""

import argparse
import json
import time

from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--raw", action="store_true", help="raw sensor output (host VQF fusion)")
    args = ap.parse_args()
    walls, cpus, sims = [], [], []
    for seed in range(1, args.repeat + 1):
        cfg = load_config(None, seed=seed)
        if args.raw:
            cfg.sensor.output = "raw"
        s = SimSession(cfg, JpeTest(JpeSettings(trials_per_direction=args.trials)))
        t0, c0 = time.perf_counter(), time.process_time()
        s.run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        sims.append(s.t_s)
    out = {"trials": 4 * args.trials, "output": "raw" if args.raw else "quaternion",
           "wall_s": walls, "wall_s_max": max(walls), "cpu_s": cpus, "cpu_s_max": max(cpus),
           "simulated_s": sims,
           "speedup_vs_real_time": min(s / w for s, w in zip(sims, walls))}
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
