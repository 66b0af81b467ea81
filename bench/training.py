"""Time of the simulated training program (`cervitrack train --simulate-days N`), as JSON.

    python bench/training.py [--days 21] [--flare-day 10]

Prints wall and CPU time (CPU time is what a loaded machine cannot inflate) of the whole
program and per simulated day, the simulated seconds per day, and, as a peer on the same
pipeline in the same run, a headless JPE test (1 trial per direction) timed the same way, so
the cost per simulated second of the training sessions and of the JPE engine can be compared.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from cervitrack.firmware_bridge.sim.config import load_config
from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession
from cervitrack.trainer.training.simulate import simulate_program
from cervitrack.trainer.training.store import TrainingStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--flare-day", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TrainingStore(Path(tmp) / "bench.db") as store:
        t0, c0 = time.perf_counter(), time.process_time()
        records = simulate_program(args.days, store, seed=1, flare_day=args.flare_day)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sim_s = sum(r["sim_s"] for r in records)
    cfg = load_config(None, seed=1)
    peer = SimSession(cfg, JpeTest(JpeSettings(trials_per_direction=1)))
    t0, c0 = time.perf_counter(), time.process_time()
    peer.run()
    peer_wall, peer_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "days": args.days, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "cpu_s_per_day": round(cpu / args.days, 3), "simulated_s_per_day": round(sim_s / args.days, 1),
        "cpu_ms_per_simulated_s": round(1000 * cpu / sim_s, 2),
        "peer_jpe_demo": {"simulated_s": round(peer.t_s, 1), "wall_s": round(peer_wall, 2),
                          "cpu_s": round(peer_cpu, 2),
                          "cpu_ms_per_simulated_s": round(1000 * peer_cpu / peer.t_s, 2)},
    }))


if __name__ == "__main__":
    main()
