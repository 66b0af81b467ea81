"""``cervitrack demo``: a full JPE test with the simulated headset and virtual patient.

With a display it opens the application (:mod:`cervitrack.trainer.gui`) running the test live;
without one, or with ``--headless``, it runs on simulated time as fast as it can and prints a
table (``--json``: one JSON object). ``--screenshot PATH`` renders the test's laser-wall view
offscreen after a few trials of the virtual patient and saves a PNG.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from cervitrack.trainer.commands import (
    MAX_TRIALS,
    add_device_argument,
    add_force_argument,
    add_pace_arguments,
    check_count,
    pace_speed,
)

if TYPE_CHECKING:  # annotations only: imported when the command runs
    from cervitrack.trainer.simulation.runner import SimSession


def has_display() -> bool:
    """Whether a GUI can be shown (a display server on Linux; always on Windows and macOS)."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_session(args) -> SimSession:
    from cervitrack.firmware_bridge.sim.config import load_config
    from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
    from cervitrack.trainer.simulation.runner import SimSession

    cfg = load_config(args.sim_config, seed=args.seed)
    settings = JpeSettings(trials_per_direction=args.trials)
    engine = JpeTest(settings, rate_hz=cfg.sensor.rate_hz)
    return SimSession(cfg, engine)


def run(args) -> int:
    check_count("--trials", args.trials, 1, MAX_TRIALS)
    from cervitrack.firmware_bridge.sim.config import load_config
    from cervitrack.trainer.clinical.jpe_report import format_table, result_document
    from cervitrack.trainer.recording import test_io
    from cervitrack.trainer.simulation.runner import true_trial_errors

    pace_speed(args, None)  # validates --speed/--fast
    if args.device != "sim":
        return run_replay(args)
    if args.screenshot and not args.json:
        from cervitrack.trainer.gui.application import render_screenshot

        cfg = load_config(args.sim_config, seed=args.seed)
        print(f"saved {render_screenshot('wall', args.screenshot, cfg, min(args.trials, 3))}")
        return 0
    capturing = bool(args.record or args.lsl)  # recording and LSL run the test headless
    if not args.headless and not args.json and not capturing and has_display():
        from cervitrack.trainer.gui.application import run_app

        return run_app("sim", "jpe", load_config(args.sim_config, seed=args.seed), args.trials)
    session = build_session(args)
    with test_io.capture(session, args, "sim"):
        session.run()
    doc = result_document(session.engine, "sim", lambda tr: true_trial_errors(session.device, tr))
    if args.json:
        print(json.dumps(doc))
    else:
        print(format_table(doc))
    return 0


def run_replay(args) -> int:
    """Re-score a recorded test (``--device replay:PATH``): exactly the live scores."""
    from cervitrack.trainer.clinical.jpe_report import format_table, result_document
    from cervitrack.trainer.recording import test_io

    if args.record:
        raise ValueError("--record with --device replay: the recording exists already")
    session, _ = test_io.replay(args)
    if not session.engine.done:
        print("cervitrack: note: the recording ends before the test did; partial scores",
              file=sys.stderr)
    doc = result_document(session.engine, args.device)
    print(json.dumps(doc) if args.json else format_table(doc))
    return 0


def register(sub) -> None:
    from cervitrack.trainer.recording import test_io

    p = sub.add_parser("demo", help="run a JPE test with the simulated headset and virtual patient")
    p.add_argument("--headless", action="store_true", help="no window: run on simulated time")
    p.add_argument("--json", action="store_true", help="print one JSON object (implies --headless)")
    p.add_argument("--seed", type=int, default=None, help="simulation seed (overrides the config file)")
    p.add_argument("--sim-config", metavar="FILE.toml", default=None,
                   help="simulator settings (docs/simulator.md)")
    p.add_argument("--trials", type=int, default=8, help=f"trials per direction (default 8, at most {MAX_TRIALS})")
    p.add_argument("--screenshot", metavar="PATH", default=None,
                   help="render the live view offscreen after a few trials and save a PNG")
    add_device_argument(p, "sim or replay:FILE.cvtrec (a recorded test, re-scored)", default="sim",
                        extra="the demonstration is the one command with a default device")
    add_pace_arguments(p, default="replay as fast as possible")
    add_force_argument(p)
    test_io.add_capture_arguments(p)
    p.set_defaults(func=run)
