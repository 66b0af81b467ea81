"""What the application costs while nobody watches it: process CPU per second of wall time, as JSON.

    python bench/idle.py --json [--seconds 20] [--warmup 2] [--cases a,b,...]

Each case builds the application window (offscreen), brings it to the state below, lets it
settle for ``--warmup`` s, then runs the application's own event loop for ``--seconds`` s of
wall time. ``cpu_pct_of_core`` is the process CPU time (user + system, all threads, from
``resource.getrusage``) per wall second, in per cent of one core; ``pipeline_cpu_pct`` is the
pipeline thread's share (``/proc/self/task/<tid>/stat``, 10 ms ticks); ``frames_per_s`` the
frames the window's frame clock drew.

Cases (all in the same run, one after the other):

- ``no_device``: the window shown on the device tab, nothing connected;
- ``device_tab``: the simulated headset connected (streaming at ``--rate`` Hz), the device
  tab shown, no test running;
- ``results_tab``: the same on the results tab;
- ``minimised``: the simulated headset connected, the window minimised (``showMinimized``);
- ``minimised_test``: a JPE test running while the window is minimised (the recording goes on);
- ``wall_test``: the peer: a JPE test running on the laser-wall view, shown (frame time and
  sample-to-screen latency of this view are bench/gui.py's).

Offscreen raster on this machine; the load average and the CPU steal are printed because other
processes on a shared machine inflate the wall-clock parts of the figures.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gui import SilentPlayer, cpu_times, sim_config, steal_pct  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from cervitrack.trainer.gui.application import make_window, tune_threads  # noqa: E402
from cervitrack.trainer.gui.main_window import AppSettings  # noqa: E402

CASES = ("no_device", "device_tab", "results_tab", "minimised", "minimised_test", "wall_test")
CLK_TCK_HZ = os.sysconf("SC_CLK_TCK")


def process_cpu_s() -> float:
    """User + system CPU time of the whole process (all threads), s."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def thread_cpu_s(native_id: int | None) -> float:
    """User + system CPU time of one thread of this process, s (0 without the thread)."""
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK_HZ  # utime, stime (fields 14, 15)


def run_loop(app, seconds: float) -> None:
    """An event loop (the application's events, timers and paints) for ``seconds`` of wall
    time (not ``app.quit``: in Qt 6 it closes the windows)."""
    loop = QtCore.QEventLoop()
    timer = QtCore.QTimer()
    timer.setSingleShot(True)
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(loop.quit)
    timer.start(round(seconds * 1e3))
    loop.exec()


def measure(app, cfg, case: str, seconds: float, warmup_s: float) -> dict:
    settings = AppSettings(display_hz=60.0, blind=False, follow=False)
    window = make_window(cfg, trials_per_direction=8, settings=settings, threaded=True,
                         player=SilentPlayer(), save_calibrations=False)
    window.resize(1200, 860)
    window.show()
    if case != "no_device":
        window.connect_device("sim")
    if case in ("minimised_test", "wall_test"):
        window.start_test("jpe")
    window.show_tab({"results_tab": "results", "wall_test": "test"}.get(case, "device"))
    if case.startswith("minimised"):
        window.showMinimized()
    run_loop(app, warmup_s)
    worker = window.worker
    thread = getattr(worker, "_thread", None) if worker is not None else None
    tid = thread.native_id if thread is not None else None
    frames0 = window.frame_clock.frames
    samples0 = worker.feed.ring.count if worker is not None else 0
    cpu0, p0, m0, t0 = process_cpu_s(), thread_cpu_s(tid), cpu_times(), time.perf_counter()
    run_loop(app, seconds)
    cpu1, p1, m1, t1 = process_cpu_s(), thread_cpu_s(tid), cpu_times(), time.perf_counter()
    wall = t1 - t0
    out = {"case": case, "wall_s": wall,
           "cpu_pct_of_core": 100.0 * (cpu1 - cpu0) / wall,
           "pipeline_cpu_pct": 100.0 * (p1 - p0) / wall,
           "frames_per_s": (window.frame_clock.frames - frames0) / wall,
           "samples_recorded_per_s": ((worker.feed.ring.count - samples0) / wall) if worker is not None else 0.0,
           "minimised": window.isMinimized(),
           "cpu_steal_pct": steal_pct(m0, m1)}
    window.close()
    app.processEvents()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured wall time per case, s")
    ap.add_argument("--warmup", type=float, default=2.0, help="settling time before each case, s")
    ap.add_argument("--rate", type=float, default=400.0, help="simulated input rate, Hz")
    ap.add_argument("--cases", default=",".join(CASES), help=f"which cases ({', '.join(CASES)})")
    args = ap.parse_args()
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}: use {', '.join(CASES)}")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    tune_threads()  # as the application does
    cfg = sim_config(args.rate, raw=False)
    results = {case: measure(app, cfg, case, args.seconds, args.warmup) for case in cases}
    out = {"seconds": args.seconds, "input_rate_hz": args.rate, "target_cpu_pct_of_core": 3.0,
           "cases": results,
           "environment": {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                           "load_average_1min": os.getloadavg()[0],
                           "qpa": os.environ.get("QT_QPA_PLATFORM")}}
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
