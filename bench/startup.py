"""Start-up time of the ``cervitrack`` command and of the application's first window, as JSON.

    python bench/startup.py [--runs 15]

Run it with the interpreter of the environment where Cervitrack is installed (the
``cervitrack`` script next to ``sys.executable`` is used), from a folder other than the
repository root. Each figure is the wall time of a fresh process, ``time.perf_counter`` around
``subprocess.run``, over ``--runs`` runs (median and 90th percentile, nearest rank):

- ``python``: ``python -c pass`` with the same interpreter (the floor every command pays);
- ``version``, ``help``: ``cervitrack --version``, ``cervitrack --help``;
- ``sessions``: ``cervitrack sessions`` against a fresh, empty ``CERVITRACK_HOME``;
- ``test_help``: ``cervitrack test --help``;
- ``first_window_offscreen``: ``cervitrack app`` on the offscreen platform with
  ``CERVITRACK_REPORT_FIRST_WINDOW=exit`` (:mod:`cervitrack.trainer.gui.first_window`): the
  time from starting the process until its stderr line ``first-window-shown`` is read (the first
  top-level window's show event), and ``self_reported``: the seconds since process start the
  application printed on that line;
- ``app_window_ready_offscreen``: the same run's ``app-window-ready`` line (the application
  window shown with the simulated device connected; versions before the starting window have
  no such line: their first window is the application window). The application then exits.

The commands run interleaved (one of each per round) so that load from other processes on a
shared machine spreads over all of them. ``delta_*`` is the figure minus bare Python's.
The load average at start and end is printed: a busy machine inflates every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def cervitrack_command() -> list[str]:
    script = Path(sys.executable).with_name("cervitrack")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cervitrack.trainer.cli"]


def timed_run(argv: list[str], env: dict, cwd: str) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return elapsed


def first_window_run(argv: list[str], env: dict, cwd: str, timeout_s: float = 120.0) -> dict:
    """Line name → (wall seconds until the line was read, the seconds the app printed), for
    ``first-window-shown`` and (when the app prints it) ``app-window-ready``."""
    env = dict(env, QT_QPA_PLATFORM="offscreen", CERVITRACK_REPORT_FIRST_WINDOW="exit")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seen, tail = {}, []
    try:
        for line in proc.stderr:
            name = line.split(" ", 1)[0]
            if name in ("first-window-shown", "app-window-ready"):
                seen[name] = (time.perf_counter() - t0, float(line.split()[1]))
            else:
                tail.append(line)
        proc.wait(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if "first-window-shown" not in seen:
        raise RuntimeError(f"{' '.join(argv)} showed no window (exit {proc.returncode}): "
                           f"{''.join(tail)[-400:]}")
    return seen


def summary(values: list[float], floor: list[float] | None = None) -> dict:
    out = {"median_s": round(statistics.median(values), 4), "p90_s": round(percentile(values, 90), 4)}
    if floor is not None:
        out["delta_median_s"] = round(out["median_s"] - statistics.median(floor), 4)
        out["delta_p90_s"] = round(out["p90_s"] - percentile(floor, 90), 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--no-window", action="store_true", help="skip the application's first window")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    cli = cervitrack_command()
    commands = {
        "python": [sys.executable, "-c", "pass"],
        "version": cli + ["--version"],
        "help": cli + ["--help"],
        "sessions": cli + ["sessions"],
        "test_help": cli + ["test", "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    window: dict[str, tuple[list[float], list[float]]] = {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cervitrack-startup-") as tmp:
        env = dict(os.environ, CERVITRACK_HOME=str(Path(tmp) / "home"))
        env.pop("PYTHONPATH", None)
        # One untimed round first: the page cache holds the files afterwards, as for a person
        # who has run the command before.
        for argv in commands.values():
            timed_run(argv, env, tmp)
        if not args.no_window:
            first_window_run(cli + ["app"], env, tmp)
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(timed_run(argv, env, tmp))
            if not args.no_window:
                for name, (wall_s, self_s) in first_window_run(cli + ["app"], env, tmp).items():
                    walls, selfs = window.setdefault(name, ([], []))
                    walls.append(wall_s)
                    selfs.append(self_s)
    floor = times["python"]
    result = {
        "runs": args.runs,
        "python": sys.executable,
        "cervitrack": " ".join(cli),
        "loadavg_1min_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "commands": {name: summary(values, None if name == "python" else floor)
                     for name, values in times.items()},
    }
    for name, key in (("first-window-shown", "first_window_offscreen"),
                      ("app-window-ready", "app_window_ready_offscreen")):
        if name in window:
            walls, selfs = window[name]
            result[key] = dict(summary(walls, floor), self_reported=summary(selfs))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
