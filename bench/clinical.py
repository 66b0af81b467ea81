"""Configured versus recovered: each clinical test on the simulator, as JSON.

    python bench/clinical.py [--seed 31]

For JPE (neutral), target JPE (20°), ROM, tracking (lagging, on-time and leading virtual
patients) and tracing (steady and shaky), runs the shipped preset on the simulated headset and
prints what the virtual patient was configured to do, what it drew (its realised errors), what
Cervitrack measured, and the wall and CPU time of each run (simulated time runs much faster
than real time; CPU time is what a loaded machine cannot inflate).
"""

import argparse
import json
import time

import numpy as np

from cervitrack.firmware_bridge.sim.config import config_from_dict
from cervitrack.trainer.clinical import presets as protocols
from cervitrack.trainer.simulation.sim_tests import run_sim_test, truth_for

BIAS = {"rotation_left": 2.0, "rotation_right": -1.0, "flexion": 1.0, "extension": -2.0}
SD = 1.2


def timed(preset, patient, seed, **overrides):
    cfg = config_from_dict({"seed": seed, "patient": patient})
    w0, c0 = time.perf_counter(), time.process_time()
    session = run_sim_test(protocols.load(preset), cfg, overrides or None)
    return session, {"wall_s": round(time.perf_counter() - w0, 2), "cpu_s": round(time.process_time() - c0, 2),
                     "simulated_s": round(session.t_s, 1)}


def relocation_figures(kind, preset, seed):
    session, times = timed(preset, {"bias_deg": BIAS, "sd_deg": SD}, seed)
    engine, truth = session.engine, truth_for(kind, session.device)
    scores = engine.scores()
    out = {}
    for d, bias in BIAS.items():
        drawn = np.array([r["error_deg"] for r in session.patient.relocations if r["direction"] == d])
        valid = [tr for tr in engine.trials if tr["valid"] and tr["direction"] == d]
        measured = np.array([tr["signed_error_deg"] for tr in valid])
        true_signed = np.array([truth(tr)["signed_error_deg"] if kind == "thp" else np.nan for tr in valid])
        true_global = np.array([truth(tr)["error_deg"]["global"] if kind == "thp" else truth(tr)["global"] for tr in valid])
        global_err = np.array([tr["error_deg"]["global"] for tr in valid])
        n = len(valid)
        out[d] = {"n": n, "configured_bias_deg": bias, "configured_sd_deg": SD,
                  "bound_2sd_sqrt_n_deg": round(2 * SD / np.sqrt(n), 2),
                  "drawn_mean_deg": round(float(drawn.mean()), 2), "drawn_sd_deg": round(float(drawn.std()), 2),
                  "measured_ce_deg": round(scores[d]["ce_deg"], 2), "measured_ve_deg": round(scores[d]["ve_deg"], 2),
                  "measured_minus_drawn_mean_deg": (round(float((measured - drawn).mean()), 2)
                                                    if len(drawn) == n else None),
                  "max_abs_global_minus_truth_deg": round(float(np.abs(global_err - true_global).max()), 3)}
        if kind == "thp":
            out[d]["max_abs_signed_minus_truth_deg"] = round(float(np.nanmax(np.abs(measured - true_signed))), 3)
    return {"directions": out, **times}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--json", action="store_true", help="(the output is always JSON)")
    args = ap.parse_args()
    seed = args.seed
    result = {"jpe": relocation_figures("jpe", "jpe", seed),
              "thp-20": relocation_figures("thp", "thp-20", seed)}

    session, times = timed("rom", {"rom_sd_deg": 1.5}, seed)
    cfg_rom = session.cfg.patient.rom_deg
    scores = session.engine.scores()["directions"]
    result["rom"] = {d: {"configured_deg": cfg_rom[d], "configured_sd_deg": 1.5,
                         "drawn_mean_deg": round(float(np.mean([r["reach_deg"] for r in session.patient.reaches
                                                                if r["direction"] == d])), 2),
                         "measured_mean_deg": round(s["mean_deg"], 2), "measured_max_deg": round(s["max_deg"], 2)}
                     for d, s in scores.items()} | times

    result["butterfly"] = {}
    for lag in (0.5, 0.2, 0.0, -0.2, -0.5):
        session, times = timed("butterfly", {"tracking_lag_s": lag}, seed, repetitions=1)
        result["butterfly"][f"lag_{lag:+.1f}_s"] = {
            level: {k: round(v, 2) for k, v in s.items() if k in ("aa_deg", "time_on_target_pct",
                                                                   "undershoot_pct", "overshoot_pct")}
            for level, s in session.engine.scores().items()} | times

    result["trace"] = {}
    for preset in ("trace-figure8", "trace-zigzag"):
        for err in (0.3, 1.0, 2.0):
            session, times = timed(preset, {"trace_error_deg": err}, seed)
            run = session.engine.trials[-1]
            result["trace"][f"{preset}_error_{err}_deg"] = {
                k: (round(run[k], 2) if isinstance(run[k], float) else run[k])
                for k in ("completed", "time_s", "error_count", "error_magnitude_deg_s", "mean_excess_deg")} | times
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
