"""The recording subsystem's figures, as JSON: crash loss, replay equality, BIDS, LSL, cost.

    python bench/recording.py [--kills 20] [--seeds 3] [--trials 2]

Run it from outside the repository root (e.g. ``cd /tmp``). Prints one JSON object:

- ``kill9``: a child process records a real-time 100 Hz OHT/1 stream with the default flush
  settings and is killed with SIGKILL after a random delay, ``--kills`` times; for each file,
  the loss (kill time − host time of the last recorded chunk, s) and the integrity status.
- ``replay``: per seed, a simulated JPE test recorded live, then re-scored from the file;
  whether the per-direction scores and per-trial errors are exactly equal, and the CPU time
  of the live run with and without recording.
- ``clinical_replay``: each ``cervitrack test`` kind recorded with ``--record`` and re-scored
  with ``--device replay:``; whether scores and trials are exactly equal.
- ``bids``: unmatched file names reported by bidsschematools for the export of the first
  recording (an empty list means every name is valid).
- ``lsl``: samples pushed to and received by an LSL inlet on this machine for a 5 s simulated
  recording, and whether the received timestamps are strictly increasing.
"""

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import sys, time
import numpy as np
from cervitrack.firmware_bridge.protocols.reference import encode_samples
from cervitrack.signal.samples import Chunk
from cervitrack.trainer.recording.writer import Recorder

rec = Recorder(sys.argv[1], {"protocol": "reference", "nominal_rate_hz": 100.0})
print("ready", flush=True)
k, t0 = 0, time.monotonic()
while True:
    seq = np.arange(k, k + 2)
    data = encode_samples(seq, seq * 10_000, np.tile([1.0, 0, 0, 0], (2, 1)),
                          np.zeros((2, 3)), np.tile([0, 0, 9.81], (2, 1)))
    rec.write(Chunk(time.monotonic(), data))
    k += 2
    time.sleep(max(0.0, t0 + k * 0.01 - time.monotonic()))
"""


def _cli(argv):
    from cervitrack.trainer.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def kill9(tmp: Path, n: int) -> dict:
    from cervitrack.trainer.recording.reader import load
    from cervitrack.trainer.recording.summary import summarise

    rng = np.random.default_rng()
    losses, statuses = [], []
    for i in range(n):
        path = tmp / f"kill{i}.cvtrec"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        child.stdout.readline()
        t_ready = time.monotonic()
        time.sleep(float(rng.uniform(0.05, 0.8)))
        t_kill = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        report = summarise(load(path))
        last = report["host_last_s"] if report["chunks"] else t_ready
        losses.append(t_kill - last)
        statuses.append(report["integrity"]["status"])
    return {"trials": n, "loss_s_max": max(losses), "loss_s_mean": float(np.mean(losses)),
            "loss_s": losses, "integrity": sorted(set(statuses)), "bound_s": 0.6}


def replay(tmp: Path, seeds: int, trials: int) -> tuple[dict, Path]:
    runs = []
    first = None
    for seed in range(1, seeds + 1):
        path = tmp / f"jpe{seed}.cvtrec"
        c0 = time.process_time()
        _, plain = _cli(["demo", "--json", "--trials", str(trials), "--seed", str(seed)])
        cpu_plain = time.process_time() - c0
        c0 = time.process_time()
        _, live = _cli(["demo", "--json", "--trials", str(trials), "--seed", str(seed),
                        "--record", str(path)])
        cpu_recorded = time.process_time() - c0
        _, again = _cli(["demo", "--json", "--device", f"replay:{path}"])
        live, again, plain = json.loads(live), json.loads(again), json.loads(plain)
        errors = lambda doc: [t.get("error_deg") for t in doc["trials"]]  # noqa: E731
        runs.append({"seed": seed, "trials": len(live["trials"]),
                     "scores_equal": live["directions"] == again["directions"],
                     "trial_errors_equal": errors(live) == errors(again),
                     "recording_changes_result": live["directions"] != plain["directions"],
                     "cpu_s_live": cpu_plain, "cpu_s_live_recorded": cpu_recorded,
                     "file_bytes": path.stat().st_size})
        first = first or path
    return {"runs": runs, "all_equal": all(r["scores_equal"] and r["trial_errors_equal"]
                                           for r in runs)}, first


def clinical(tmp: Path) -> dict:
    """Each clinical test kind (and the manually marked JPE preset), recorded and re-scored."""
    runs = {}
    for name, argv in (("jpe-manual", ["jpe", "--preset", "jpe-manual"]), ("rom", ["rom"]),
                       ("thp", ["thp"]), ("butterfly", ["butterfly"]), ("trace", ["trace"])):
        path = tmp / f"{name}.cvtrec"
        _, live = _cli(["test", *argv, "--device", "sim", "--trials", "1", "--json",
                        "--record", str(path)])
        _, again = _cli(["test", argv[0], "--device", f"replay:{path}", "--json"])
        live, again = json.loads(live), json.loads(again)

        def strip(doc):
            return [{k: v for k, v in t.items() if k not in ("true_error_deg", "truth")}
                    for t in doc["trials"]]

        runs[name] = {"scores_equal": live["scores"] == again["scores"],
                      "trials_equal": strip(live) == strip(again),
                      "trials": len(live["trials"])}
    return runs


def bids(tmp: Path, recording: Path) -> dict:
    from bidsschematools import validator

    out = tmp / "bids"
    _cli(["export", str(recording), "--to", "bids", "--out", str(out)])
    result = validator.validate_bids(str(out))
    return {"files": len(result["path_listing"]), "unmatched": result["path_tracking"]}


def lsl(tmp: Path) -> dict:
    cfg = tmp / "lsl_api.cfg"
    cfg.write_text("[multicast]\nResolveScope = machine\n")
    os.environ["LSLAPICFG"] = str(cfg)
    from cervitrack.firmware_bridge.sim.config import config_from_dict
    from cervitrack.trainer.recording.decode import decode_recording
    from cervitrack.trainer.recording.live import LslPoseTap
    from cervitrack.trainer.recording.lsl import require_pylsl
    from cervitrack.trainer.recording.reader import load
    from cervitrack.trainer.recording.session import record_source, recording_metadata
    from cervitrack.trainer.recording.writer import Recorder
    from cervitrack.trainer.simulation.sim_source import SimSource

    pylsl = require_pylsl()
    source = SimSource(config_from_dict({"seed": 3}), speed=None)
    source.metadata["spec"] = f"bench-{os.getpid()}"
    tap = LslPoseTap(source)
    (info,) = pylsl.resolve_byprop("source_id", f"{source.metadata['spec']}-head", 1, 10.0)
    inlet = pylsl.StreamInlet(info, max_buflen=60)
    inlet.open_stream(timeout=10.0)
    path = tmp / "lsl.cvtrec"
    with Recorder(path, recording_metadata(source)) as rec:
        record_source(source, rec, 5.0, on_step=tap.process)
    recorded = len(decode_recording(load(path)).samples)
    got, stamps = 0, []
    for _ in range(100):
        data, ts = inlet.pull_chunk(timeout=1.0, max_samples=10_000)
        got += len(data)
        stamps += ts
        if got >= recorded:
            break
    return {"recorded_samples": recorded, "pushed": tap.samples_pushed, "received": got,
            "channels": inlet.info().channel_count(),
            "timestamps_increasing": bool(np.all(np.diff(stamps) > 0))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["CERVITRACK_HOME"] = str(tmp / "home")
        out = {"kill9": kill9(tmp, args.kills)}
        out["replay"], first = replay(tmp, args.seeds, args.trials)
        out["clinical_replay"] = clinical(tmp)
        out["bids"] = bids(tmp, first)
        out["lsl"] = lsl(tmp)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
