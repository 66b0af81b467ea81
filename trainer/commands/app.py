"""``cervitrack app``: the application (device panel, calibration, tests, results, research).

With ``--screenshot PATH`` it renders one view offscreen after a few seconds of the virtual
patient (simulated time runs faster than real time) and saves a PNG; no display is needed.
"""

from __future__ import annotations

from cervitrack.firmware_bridge.sim.config import load_config


def run(args) -> int:
    from cervitrack.trainer.commands.demo import has_display
    from cervitrack.trainer.gui.application import available_views, render_screenshot, run_app
    from cervitrack.trainer.gui.catalog import catalog

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
    if args.trials < 1:
        raise ValueError("--trials must be at least 1")
    tests = catalog(args.trials)
    if args.test is not None and args.test not in tests:
        raise ValueError(f"unknown test {args.test!r} (available: {', '.join(tests)})")
    if args.test is not None and args.device is None and not args.screenshot:
        raise ValueError("--test needs --device (the simulator only when asked for: --device sim)")
    sim_config = load_config(args.sim_config, seed=args.seed)
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
    if not has_display():
        raise ValueError("no display found: use --screenshot PATH, or `cervitrack demo --headless`")
    if args.patient is not None and not args.patient.strip():
        raise ValueError("--patient must not be empty")
    return run_app(args.device, args.test, sim_config, args.trials, fullscreen=args.fullscreen,
                   protocol=args.protocol, patient=args.patient)


def register(sub) -> None:
    p = sub.add_parser("app", help="the application: device, calibration, tests, results, research")
    p.add_argument("--device", default=None,
                   help="device spec: serial:PORT, ble:ADDRESS_OR_NAME, udp:PORT, or sim (the simulated "
                        "headset, marked SIMULATED everywhere); default: choose on the device page")
    p.add_argument("--patient", default=None, metavar="ID",
                   help="pseudonymous patient id to test (created if new); default: choose in the app")
    p.add_argument("--protocol", default=None, help="wire protocol of a real device (default: its profile's)")
    p.add_argument("--test", default=None, help="start this test at once (e.g. jpe)")
    p.add_argument("--trials", type=int, default=8, help="trials per direction (default 8)")
    p.add_argument("--fullscreen", action="store_true", help="open the patient display fullscreen")
    p.add_argument("--view", default="wall",
                   help="view for --screenshot: device, calibration, wall, blind, results, research, "
                        "patient, settings, and butterfly, tracing with the clinical tests (default wall)")
    p.add_argument("--screenshot", metavar="PATH", default=None,
                   help="render --view offscreen with the simulated device and save a PNG")
    p.add_argument("--seed", type=int, default=None, help="simulation seed")
    p.add_argument("--sim-config", metavar="FILE.toml", default=None, help="simulator settings")
    p.set_defaults(func=run)
