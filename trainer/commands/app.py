"""``cervitrack app``: the application (device panel, calibration, tests, results, research).

With ``--screenshot PATH`` it renders one view offscreen after a few seconds of the virtual
patient (simulated time runs faster than real time) and saves a PNG; no display is needed.
"""

from __future__ import annotations

import sys

from cervitrack.trainer.commands import MAX_TRIALS, check_count, refuse_overwrite


def _warn_bad_user_presets() -> None:
    """One warning per preset file the application skips (a bad file in the user's preset
    folder never stops it). The presets are only imported when that folder holds files."""
    from cervitrack.trainer.paths import data_dir

    folder = data_dir(create=False) / "presets"
    if not (folder.is_dir() and any(folder.glob("*.toml"))):
        return
    from cervitrack.trainer.clinical.presets import load_available

    for problem in load_available()[1]:
        print(f"cervitrack: warning: {problem}", file=sys.stderr)


def run(args) -> int:
    # Light imports only until the starting window is up (run_app): the test catalog, the
    # pipeline and the views take seconds to import.
    from cervitrack.firmware_bridge.sim.config import load_config
    from cervitrack.trainer.commands.demo import has_display
    from cervitrack.trainer.gui import first_window
    from cervitrack.trainer.gui.application import available_views, render_screenshot, run_app

    if args.device is None and (args.test or args.screenshot):
        raise ValueError("--test and --screenshot need --device (e.g. --device sim)")
    if args.device not in (None, "sim"):
        # A bad spec or an unknown kind is a one-line error now, before any window opens.
        import importlib

        from cervitrack.firmware_bridge import device_spec
        from cervitrack.firmware_bridge.device_spec import parse_device_spec
        from cervitrack.trainer.live.devices import SOURCE_MODULES

        for module in SOURCE_MODULES:
            importlib.import_module(module)
        kind = parse_device_spec(args.device).kind
        if kind not in device_spec.available_kinds():
            raise ValueError(f"unknown device kind {kind!r} in {args.device!r} "
                             f"(kinds: {', '.join(device_spec.available_kinds())})")
    check_count("--trials", args.trials, 1, MAX_TRIALS)
    if args.events:
        refuse_overwrite(args.events, args.force)
    _warn_bad_user_presets()
    sim_config = load_config(args.sim_config, seed=args.seed)
    # An instrumented run (CERVITRACK_REPORT_FIRST_WINDOW: a benchmark or test harness watches
    # the windows) runs on whatever platform it was given, offscreen too.
    window_follows = has_display() or first_window.mode() is not None
    if args.test is not None and (args.screenshot or not window_follows):
        # The catalog imports the test engines (seconds): with a window to show, run_app
        # checks --test once its starting window is up.
        from cervitrack.trainer.gui.catalog import catalog

        tests = catalog(args.trials)
        if args.test not in tests:
            raise ValueError(f"unknown test {args.test!r} (available: {', '.join(tests)})")
    if args.screenshot:
        if args.device != "sim":
            raise ValueError("--screenshot needs --device sim (it runs the virtual patient)")
        views = available_views()
        if args.view not in views:
            raise ValueError(f"unknown view {args.view!r} (views: {', '.join(views)})")
        path = render_screenshot(args.view, args.screenshot,
                                 sim_config if args.sim_config else None,
                                 trials_per_direction=min(args.trials, 3), seed=args.seed)
        print(f"saved {path}")
        return 0
    if not window_follows:
        raise ValueError("no display found: use --screenshot PATH, or `cervitrack demo --headless`")
    if args.patient is not None and not args.patient.strip():
        raise ValueError("--patient must not be empty")
    from cervitrack.trainer.gui.system_libs import require_window_libraries

    require_window_libraries()
    # run_app checks --test once its starting window is up (the catalog imports the engines).
    return run_app(args.device, args.test, sim_config, args.trials, fullscreen=args.fullscreen,
                   protocol=args.protocol, patient=args.patient, events_path=args.events)


def register(sub) -> None:
    p = sub.add_parser("app", help="the application: device, calibration, tests, results, research")
    p.add_argument("--device", default=None, metavar="SPEC",
                   help="connect this device at start: sim (simulated headset), serial:PORT, "
                   "ble:NAME_OR_ADDRESS, udp:PORT (default: none; choose it in the device panel). sim is marked SIMULATED everywhere")
    p.add_argument("--patient", default=None, metavar="ID",
                   help="pseudonymous patient id to test (created if new); default: choose in the app")
    p.add_argument("--protocol", default=None, help="wire protocol of a real device (default: its profile's)")
    p.add_argument("--test", default=None, help="start this test at once (e.g. jpe)")
    p.add_argument("--trials", type=int, default=8, help=f"trials per direction (default 8, at most {MAX_TRIALS})")
    p.add_argument("--fullscreen", action="store_true", help="open the patient display fullscreen")
    p.add_argument("--events", metavar="PATH", default=None,
                   help="write each prompt and the tests' moments as JSON lines as they happen (as "
                        "`cervitrack test --events`), for another program to follow")
    p.add_argument("--force", action="store_true", help="overwrite an --events file that exists")
    p.add_argument("--view", default="wall",
                   help="view for --screenshot: device, calibration, wall, blind, results, research, "
                        "patient, settings, and butterfly, tracing with the clinical tests (default wall)")
    p.add_argument("--screenshot", metavar="PATH", default=None,
                   help="render --view offscreen with the simulated device and save a PNG")
    p.add_argument("--seed", type=int, default=None, help="simulation seed")
    p.add_argument("--sim-config", metavar="FILE.toml", default=None, help="simulator settings")
    p.set_defaults(func=run)
