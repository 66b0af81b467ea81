"""Display performance of the application, offscreen, as JSON.

    python bench/gui.py --json [--seconds 20] [--session-min 30] [--rate 400] [--raw]
                           [--parts frames,memory] [--schedules data,timer]

1. **Frame time and sample-to-screen latency** (real time): the simulated headset streams at
   ``--rate`` Hz (400 by default) through the pipeline thread at real-time pace; the
   application's own frame clock (:mod:`cervitrack.trainer.gui.frame_clock`) draws the
   laser-wall view with a 10 s trail (4 000 samples at 400 Hz) at up to 60 Hz. A frame is
   the application's ``tick`` (read the ring buffers and events, ``setData``) followed by the
   paint events it causes (``processEvents``). ``frame_ms_*`` is its wall duration,
   ``frame_cpu_ms_*`` the CPU time of the GUI thread in it (what another process's load
   cannot inflate). The latency of a sample is the time from its arrival at the host (the
   simulated link's arrival time, mapped to the wall clock) to the end of the first frame
   that drew it; ``arrival_to_ring_ms_*`` is the pipeline thread's share (arrival to
   publication in the ring buffer), ``ring_to_frame_ms_*`` the wait from publication to the
   start of the frame that drew it. Each figure is measured for both frame schedules of
   :mod:`cervitrack.trainer.gui.frame_clock` on the same simulated data (``--schedules``):
   "fixed" (the application's default: frames on a 60 Hz grid) and "data" (a frame as soon as
   samples are published, at most one per display period). ``--interval-ms`` sets the
   simulated link's connection interval (15 ms: one notification per event at 400 Hz; 30 ms:
   two). The research view (9 curves, 10 s each) is measured the same way.
2. **Memory over a long session** (simulated time, as fast as possible): back-to-back JPE
   tests for ``--session-min`` simulated minutes, one frame drawn per 0.25 s of simulated
   time; RSS from /proc/self/statm after every simulated minute. Growth is measured from the
   end of the warm-up (5 simulated minutes) to the end.

Offscreen raster on this machine: a real screen adds compositor cost. The load average and
the CPU steal (time the hypervisor gave to other guests during each measurement) are printed
because other processes on a shared machine inflate the times; figures measured with a steal
above a few per cent are the host's, not the code's. The garbage collector's pauses during
each measurement are printed too (the application freezes its start-up heap, as here).
"""

from __future__ import annotations

import argparse
import gc
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
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402  (the pinned binding, before pyqtgraph)

from cervitrack.firmware_bridge.sim.config import config_from_dict  # noqa: E402
from cervitrack.trainer.gui.application import freeze_heap, make_window, tune_threads  # noqa: E402
from cervitrack.trainer.gui.main_window import AppSettings  # noqa: E402

DISPLAY_HZ = 60.0
TRAIL_S = 10.0


class SilentPlayer:
    """An audio output that plays nothing (the benchmark measures the display)."""

    name = "silent (benchmark)"

    def play(self, label, samples) -> None:
        pass


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * resource.getpagesize() / 2**20


def cpu_times() -> np.ndarray:
    """Aggregate CPU times of the machine from /proc/stat (user … steal), in ticks."""
    with open("/proc/stat") as f:
        return np.array(f.readline().split()[1:9], dtype=np.float64)


def steal_pct(before: np.ndarray, after: np.ndarray) -> float:
    """Share of CPU time the hypervisor gave to other guests between two cpu_times(), %:
    with a high steal the wall-clock figures are inflated by the host, not by the code."""
    d = after - before
    return float(100.0 * d[7] / d.sum()) if d.sum() > 0 else float("nan")


class GcPauses:
    """Durations of the garbage collector's collections (gc.callbacks), ms."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._t0) * 1e3)

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self)


def sim_config(rate_hz: float, raw: bool, seed: int = 1, interval_ms: float = 15.0):
    return config_from_dict({"seed": seed, "sensor": {"rate_hz": rate_hz,
                                                      "output": "raw" if raw else "quaternion"},
                             "link": {"interval_ms": interval_ms}})


def measure_frames(app, cfg, tab: str, seconds: float, schedule: str) -> dict:
    settings = AppSettings(display_hz=DISPLAY_HZ, trail_s=TRAIL_S, blind=False, follow=False,
                           research_window_s=TRAIL_S, frame_schedule=schedule)
    window = make_window(cfg, trials_per_direction=8, settings=settings, threaded=True,
                         player=SilentPlayer(), save_calibrations=False)
    window.resize(1200, 860)
    window.show()
    freeze_heap()  # as the application does once its window is built
    window.connect_device("sim")
    window.start_test("jpe")
    window.show_tab(tab)
    worker = window.worker
    ring = worker.feed.ring
    t_host = ring.index["t_host_s"]
    published = ring.index["published_wall_s"]
    frame_ms, frame_cpu_ms, latency_ms, pipeline_ms, wait_ms, points, starts = [], [], [], [], [], [], []
    state = {"count": ring.count}
    t_end = time.perf_counter() + seconds

    def frame():
        """The application's frame (tick), then its paint events, timed."""
        t0, c0 = time.perf_counter(), time.thread_time()
        count = ring.count
        window.tick()
        app.processEvents()
        t1, c1 = time.perf_counter(), time.thread_time()
        if t0 > t_end:
            app.quit()
            return
        starts.append(t0)
        frame_ms.append((t1 - t0) * 1e3)
        frame_cpu_ms.append((c1 - c0) * 1e3)
        new = ring.since(state["count"], count)
        state["count"] = count
        if new.shape[1]:
            arrival_wall = worker.wall_t0 + new[t_host] / worker.speed
            latency_ms.extend(((t1 - arrival_wall) * 1e3).tolist())
            pipeline_ms.extend(((new[published] - arrival_wall) * 1e3).tolist())
            wait_ms.extend(((t0 - new[published]) * 1e3).tolist())
        if tab == "test":
            points.append(len(window.wall_view.trail.getData()[0]))

    window.frame_clock.draw = frame  # the application's own schedule calls the timed frame
    cpu0 = cpu_times()
    with GcPauses() as pauses:
        app.exec()
    cpu1 = cpu_times()
    window.close()
    gc.unfreeze()  # the next measurement builds its own window
    warm = int(DISPLAY_HZ * 2)  # the first 2 s fill the trail
    f = np.array(frame_ms[warm:])
    cpu = np.array(frame_cpu_ms[warm:])
    gaps = np.diff(starts[warm:]) * 1e3
    lat = np.array(latency_ms[len(latency_ms) // 10:])
    pipe = np.array(pipeline_ms[len(pipeline_ms) // 10:])
    wait = np.array(wait_ms[len(wait_ms) // 10:])
    out = {"schedule": schedule, "frames": int(f.size),
           "frame_rate_hz": float(1e3 / gaps.mean()),
           "frame_interval_ms_min": float(gaps.min()),
           "frame_ms_p50": float(np.percentile(f, 50)),
           "frame_ms_p95": float(np.percentile(f, 95)), "frame_ms_max": float(f.max()),
           "frame_cpu_ms_p50": float(np.percentile(cpu, 50)),
           "frame_cpu_ms_p95": float(np.percentile(cpu, 95)),
           "latency_ms_p50": float(np.percentile(lat, 50)),
           "latency_ms_p95": float(np.percentile(lat, 95)),
           "arrival_to_ring_ms_p50": float(np.percentile(pipe, 50)),
           "arrival_to_ring_ms_p95": float(np.percentile(pipe, 95)),
           "ring_to_frame_ms_p50": float(np.percentile(wait, 50)),
           "ring_to_frame_ms_p95": float(np.percentile(wait, 95)),
           "samples": int(lat.size),
           "gc_collections": len(pauses.pauses_ms),
           "gc_pause_ms_max": float(max(pauses.pauses_ms, default=0.0)),
           "cpu_steal_pct": steal_pct(cpu0, cpu1)}
    if points:
        out["trail_points_max"] = int(max(points))
    return out


def measure_memory(app, cfg, minutes: float, warmup_min: float = 5.0) -> dict:
    settings = AppSettings(display_hz=DISPLAY_HZ, trail_s=TRAIL_S, blind=False, follow=False)
    window = make_window(cfg, trials_per_direction=8, settings=settings, threaded=False,
                         player=SilentPlayer(), save_calibrations=False)
    window.show()
    window.connect_device("sim")
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
    ap.add_argument("--interval-ms", type=float, default=15.0,
                    help="the simulated link delivers bunches this often, ms (BLE connection interval)")
    ap.add_argument("--switch-interval-ms", type=float, default=None,
                    help="Python's thread switch interval, ms (default: the application's, 1 ms)")
    ap.add_argument("--parts", default="frames,memory", help="what to measure: frames, memory or both")
    ap.add_argument("--schedules", default="fixed,data",
                    help="frame schedules to compare (the application's default, fixed, first)")
    args = ap.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)
    else:
        tune_threads()  # as the application does
    cfg = sim_config(args.rate, args.raw, interval_ms=args.interval_ms)
    parts = set(args.parts.split(","))
    nan = float("nan")
    blank = {"frame_ms_p50": nan, "frame_ms_p95": nan, "latency_ms_p95": nan}
    schedules = args.schedules.split(",")
    views = {}
    for view, tab in (("wall_view", "test"), ("research_view", "research")):
        views[view] = {sch: measure_frames(app, cfg, tab, args.seconds, sch) if "frames" in parts else blank
                       for sch in schedules}
    wall = views["wall_view"][schedules[0]]
    memory = (measure_memory(app, sim_config(args.rate, args.raw, seed=2), args.session_min)
              if "memory" in parts else {"growth_pct_after_warmup": nan})
    frame_budget_ms = 1000.0 / DISPLAY_HZ
    import PySide6

    out = {
        "display_hz": DISPLAY_HZ, "input_rate_hz": args.rate, "trail_s": TRAIL_S,
        "input": "raw" if args.raw else "quaternion", "link_interval_ms": args.interval_ms,
        "switch_interval_ms": sys.getswitchinterval() * 1e3,
        "frame_ms_p50": wall["frame_ms_p50"], "frame_ms_p95": wall["frame_ms_p95"],
        "latency_ms_p95": wall["latency_ms_p95"],
        "latency_target_ms": frame_budget_ms + 2.0,
        "memory_growth_pct": memory["growth_pct_after_warmup"],
        "schedule": schedules[0], **views, "memory": memory,
        "environment": {"python": sys.version.split()[0], "pyside6": PySide6.__version__,
                        "pyqtgraph": pg.__version__, "cpus": os.cpu_count(),
                        "load_average_1min": os.getloadavg()[0],
                        "qpa": os.environ.get("QT_QPA_PLATFORM")},
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
