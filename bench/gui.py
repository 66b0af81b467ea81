"""Display performance of the application, offscreen, as JSON.

    python bench/gui.py --json [--seconds 20] [--session-min 30] [--rate 400] [--raw]

1. **Frame time and sample-to-screen latency** (real time): the simulated headset streams at
   ``--rate`` Hz (400 by default) through the pipeline thread at real-time pace; a 60 Hz
   QTimer draws the laser-wall view with a 10 s trail (4 000 points at 400 Hz). A frame is the
   timer slot: read the ring buffers and events, ``setData``, then deliver the paint events
   (``processEvents``). ``frame_ms_*`` is its wall duration, ``frame_cpu_ms_*`` the CPU time
   of the GUI thread in it (what another process's load cannot inflate). The latency of a
   sample is the time
   from its arrival at the host (the simulated link's arrival time, mapped to the wall clock)
   to the end of the first frame that drew it; ``arrival_to_ring_ms_*`` is the pipeline
   thread's share (arrival to publication in the ring buffer). The research view (9 curves, 10 s each) is
   measured the same way as a second figure.
2. **Memory over a long session** (simulated time, as fast as possible): back-to-back JPE
   tests for ``--session-min`` simulated minutes, one frame drawn per 0.25 s of simulated
   time; RSS from /proc/self/statm after every simulated minute. Growth is measured from the
   end of the warm-up (5 simulated minutes) to the end.

Offscreen raster on this machine: a real screen adds compositor cost. The load average is
printed because other processes on a shared machine inflate the times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "CERVITRACK_HOME" not in os.environ:  # keep the user's data folder out of the benchmark
    import tempfile

    os.environ["CERVITRACK_HOME"] = tempfile.mkdtemp(prefix="cervitrack-bench-")

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402  (the pinned binding, before pyqtgraph)

import pyqtgraph as pg  # noqa: E402
from cervitrack.firmware_bridge.sim.config import config_from_dict  # noqa: E402
from cervitrack.trainer.gui.application import make_window, tune_threads  # noqa: E402
from cervitrack.trainer.gui.main_window import AppSettings  # noqa: E402

DISPLAY_HZ = 60.0
TRAIL_S = 10.0


class SilentPlayer:
    def play(self, name, path) -> None:
        pass


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * resource.getpagesize() / 2**20


def sim_config(rate_hz: float, raw: bool, seed: int = 1):
    return config_from_dict({"seed": seed, "sensor": {"rate_hz": rate_hz,
                                                      "output": "raw" if raw else "quaternion"}})


def measure_frames(app, cfg, tab: str, seconds: float) -> dict:
    settings = AppSettings(display_hz=DISPLAY_HZ, trail_s=TRAIL_S, blind=False, follow=False,
                           research_window_s=TRAIL_S)
    window = make_window(cfg, trials_per_direction=8, settings=settings, threaded=True,
                         player=SilentPlayer(), save_calibrations=False)
    window.resize(1200, 860)
    window.show()
    window.connect_device("sim")
    window.timer.stop()  # replaced by the measuring timer below
    window.start_test("jpe")
    window.show_tab(tab)
    worker = window.worker
    ring = worker.feed.ring
    t_host = ring.index["t_host_s"]
    published = ring.index["published_wall_s"]
    frame_ms, frame_cpu_ms, latency_ms, pipeline_ms, points = [], [], [], [], []
    state = {"count": ring.count}
    t_end = time.perf_counter() + seconds

    def frame():
        t0, c0 = time.perf_counter(), time.thread_time()
        count = ring.count
        window.tick()
        app.processEvents()
        t1, c1 = time.perf_counter(), time.thread_time()
        if t0 > t_end:
            app.quit()
            return
        frame_ms.append((t1 - t0) * 1e3)
        frame_cpu_ms.append((c1 - c0) * 1e3)
        new = ring.since(state["count"], count)
        state["count"] = count
        if new.shape[1]:
            arrival_wall = worker.wall_t0 + new[t_host] / worker.speed
            latency_ms.extend(((t1 - arrival_wall) * 1e3).tolist())
            pipeline_ms.extend(((new[published] - arrival_wall) * 1e3).tolist())
        if tab == "test":
            points.append(len(window.wall_view.trail.getData()[0]))

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(frame)
    timer.start(round(1000 / DISPLAY_HZ))
    app.exec()
    timer.stop()
    window.close()
    warm = int(DISPLAY_HZ * 2)  # the first 2 s fill the trail
    f = np.array(frame_ms[warm:])
    cpu = np.array(frame_cpu_ms[warm:])
    lat = np.array(latency_ms[len(latency_ms) // 10:])
    pipe = np.array(pipeline_ms[len(pipeline_ms) // 10:])
    out = {"frames": int(f.size), "expected_frames": int((seconds - 2) * DISPLAY_HZ),
           "frame_ms_p50": float(np.percentile(f, 50)),
           "frame_ms_p95": float(np.percentile(f, 95)), "frame_ms_max": float(f.max()),
           "frame_cpu_ms_p50": float(np.percentile(cpu, 50)),
           "frame_cpu_ms_p95": float(np.percentile(cpu, 95)),
           "latency_ms_p50": float(np.percentile(lat, 50)),
           "latency_ms_p95": float(np.percentile(lat, 95)),
           "arrival_to_ring_ms_p50": float(np.percentile(pipe, 50)),
           "arrival_to_ring_ms_p95": float(np.percentile(pipe, 95)),
           "samples": int(lat.size)}
    if points:
        out["trail_points_max"] = int(max(points))
    return out


def measure_memory(app, cfg, minutes: float, warmup_min: float = 5.0) -> dict:
    settings = AppSettings(display_hz=DISPLAY_HZ, trail_s=TRAIL_S, blind=False, follow=False)
    window = make_window(cfg, trials_per_direction=8, settings=settings, threaded=False,
                         player=SilentPlayer(), save_calibrations=False)
    window.show()
    window.connect_device("sim")
    window.timer.stop()
    window.show_tab("test")
    worker = window.worker
    step_s = 0.25
    rss = []
    tests = 0
    t0 = time.perf_counter()
    n_steps = int(round(minutes * 60 / step_s))
    per_minute = int(round(60 / step_s))
    for i in range(1, n_steps + 1):
        if worker.engine is None or worker.engine.done:
            window.start_test("jpe")
            window.show_tab("research" if tests % 2 else "test")
            tests += 1
        worker.step_to(round(i * step_s, 9))
        window.tick()
        app.processEvents()
        if i % per_minute == 0:
            rss.append(rss_mb())
    wall_s = time.perf_counter() - t0
    window.close()
    warm = max(1, min(int(warmup_min), len(rss) // 2))  # minutes of warm-up
    base = rss[warm - 1]
    return {"simulated_min": minutes, "warmup_min": warm, "wall_s": wall_s, "tests_started": tests,
            "rss_mb_per_min": [round(r, 1) for r in rss],
            "rss_mb_after_warmup": base, "rss_mb_end": rss[-1], "rss_mb_max": max(rss),
            "growth_pct_after_warmup": 100.0 * (rss[-1] - base) / base,
            "max_growth_pct_after_warmup": 100.0 * (max(rss[warm - 1:]) - base) / base}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--seconds", type=float, default=20.0, help="real-time run per view, s")
    ap.add_argument("--session-min", type=float, default=30.0, help="simulated session, min")
    ap.add_argument("--rate", type=float, default=400.0, help="input rate, Hz")
    ap.add_argument("--raw", action="store_true", help="raw gyro+acc input (host VQF fusion)")
    ap.add_argument("--switch-interval-ms", type=float, default=None,
                    help="Python's thread switch interval, ms (default: the application's, 1 ms)")
    ap.add_argument("--parts", default="frames,memory", help="what to measure: frames, memory or both")
    args = ap.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)
    else:
        tune_threads()  # as the application does
    cfg = sim_config(args.rate, args.raw)
    parts = set(args.parts.split(","))
    nan = float("nan")
    blank = {"frame_ms_p50": nan, "frame_ms_p95": nan, "latency_ms_p95": nan}
    wall = measure_frames(app, cfg, "test", args.seconds) if "frames" in parts else blank
    research = measure_frames(app, cfg, "research", args.seconds) if "frames" in parts else blank
    memory = (measure_memory(app, sim_config(args.rate, args.raw, seed=2), args.session_min)
              if "memory" in parts else {"growth_pct_after_warmup": nan})
    frame_budget_ms = 1000.0 / DISPLAY_HZ
    import PySide6

    out = {
        "display_hz": DISPLAY_HZ, "input_rate_hz": args.rate, "trail_s": TRAIL_S,
        "input": "raw" if args.raw else "quaternion",
        "switch_interval_ms": sys.getswitchinterval() * 1e3,
        "frame_ms_p50": wall["frame_ms_p50"], "frame_ms_p95": wall["frame_ms_p95"],
        "latency_ms_p95": wall["latency_ms_p95"],
        "latency_target_ms": frame_budget_ms + 2.0,
        "memory_growth_pct": memory["growth_pct_after_warmup"],
        "wall_view": wall, "research_view": research, "memory": memory,
        "environment": {"python": sys.version.split()[0], "pyside6": PySide6.__version__,
                        "pyqtgraph": pg.__version__, "cpus": os.cpu_count(),
                        "load_average_1min": os.getloadavg()[0],
                        "qpa": os.environ.get("QT_QPA_PLATFORM")},
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
