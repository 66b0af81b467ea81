"""``cervitrack emulate PROTOCOL``: a device that speaks PROTOCOL byte for byte, in real time.

A virtual patient wears a virtual IMU (trainer/simulation/emulated_device.py); its samples are
encoded exactly as the real device sends them and carried by a real transport:

- serial devices (``witmotion-serial``, ``bno08x-rvc``, ``hatire``, ``reference``): a
  pseudo-terminal; the first stdout line is its path (``/dev/pts/7``), for
  ``cervitrack stream --device serial:/dev/pts/7 --protocol P``. Host commands written to it
  are answered (WitMotion ``FF AA`` configuration, OHT/1 start/stop/rate/info).
- ``opentrack-udp``: datagrams to 127.0.0.1:``--port`` (default 4242); the first stdout line is
  ``udp:PORT``.

The patient follows a test's prompts from ``--events PATH`` (the file ``cervitrack test
--events PATH`` writes; it may not exist yet) or a built-in ``--script``. ``--truth PATH``
writes the ground truth as JSON lines. Ctrl-C or SIGTERM stops it cleanly; the last stderr line
is a summary. BLE devices (witmotion-ble, movella-dot, metawear) have their encoders already
(firmware_bridge/emulation/protocols.py) but no BLE peripheral transport yet, so they are not
offered here.
"""

from __future__ import annotations

import math
import signal
import sys
import time

from cervitrack.trainer.commands import CliError

#: The devices with a transport here: serial ones on a pty, opentrack-udp over UDP. The BLE
#: devices wait for the BLE peripheral transport. Names only, so that ``--help`` imports no
#: numpy or scipy; tests/test_emulate_cli.py checks them against the emulation registry.
CHOICES = ("bno08x-rvc", "hatire", "opentrack-udp", "reference", "witmotion-serial")
#: Every emulated protocol (``--wrong-protocol`` may send any of them).
ALL_PROTOCOLS = tuple(sorted(CHOICES + ("metawear", "movella-dot", "witmotion-ble")))
#: The built-in motion scripts (trainer/simulation/emulated_device.py SCRIPTS).
SCRIPT_NAMES = ("nods", "still", "turns")


def _positive(value, flag):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise CliError(f"{flag} must be a positive number, not {value}")


def run(args) -> int:
    from cervitrack.firmware_bridge.emulation import PROTOCOLS, make_protocol
    from cervitrack.firmware_bridge.emulation.endpoints import PtyEndpoint, UdpEndpoint
    from cervitrack.firmware_bridge.sim.config import load_config
    from cervitrack.trainer.simulation.emulated_device import (
        SCRIPTS,
        EmulatedDevice,
        Faults,
        PromptTail,
        TruthLog,
        run_realtime,
    )

    _positive(args.duration, "--duration")
    _positive(args.rate, "--rate")
    if args.rate is not None and args.rate > 1000:
        raise CliError(f"--rate must be at most 1000 Hz, not {args.rate}")
    if (args.drop_at is None) != (args.drop_for is None):
        raise CliError("--drop-at and --drop-for go together")
    if args.drop_at is not None and not (args.drop_at >= 0 and args.drop_for > 0):
        raise CliError("--drop-at must be >= 0 s and --drop-for > 0 s")
    if args.rate is not None and PROTOCOLS[args.protocol].fixed_rate:
        rate = PROTOCOLS[args.protocol].default_rate_hz
        raise CliError(f"{args.protocol} sends at a fixed {rate:g} Hz; --rate does not apply")
    kind = PROTOCOLS[args.protocol].transport
    protocol = make_protocol(args.wrong_protocol or args.protocol)
    if args.rate is not None:
        protocol.rate_hz = float(args.rate)
    cfg = load_config(args.sim_config, seed=args.seed)
    faults = Faults(mirror_axes=args.mirror_axes)
    if args.drop_at is not None:
        faults.drop_at_s, faults.drop_for_s = args.drop_at, args.drop_for
    truth = TruthLog(args.truth) if args.truth else None
    device = EmulatedDevice(protocol, cfg, faults, truth)
    endpoint: PtyEndpoint | UdpEndpoint
    if kind == "serial":
        endpoint = PtyEndpoint()
        first_line = endpoint.path
    else:
        endpoint = UdpEndpoint(args.port)
        first_line = f"udp:{args.port}"
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)
           if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        print(first_line, flush=True)
        sent_as = f" sending {protocol.name} bytes (--wrong-protocol)" if args.wrong_protocol else ""
        print(f"cervitrack: emulating {args.protocol} on {endpoint.description} at "
              f"{protocol.rate_hz:g} Hz{sent_as}; Ctrl-C stops", file=sys.stderr, flush=True)
        events = PromptTail(args.events, since_wall_s=time.time() - 1.0) if args.events else None
        script = None if args.events else SCRIPTS[args.script or "still"]
        if truth:
            truth.write({"kind": "device", "protocol": args.protocol, "sends": protocol.name,
                         "rate_hz": protocol.rate_hz, "seed": cfg.seed,
                         "wall_time_s": time.time(), "script": None if events else
                         (args.script or "still"), "events": args.events,
                         "mirror_axes": args.mirror_axes})

        def log(line):
            print(f"cervitrack: {protocol.name}: {line}", file=sys.stderr, flush=True)

        summary = run_realtime(device, endpoint, duration_s=args.duration, script=script,
                               events=events, should_stop=lambda: stop["signal"] is not None,
                               log=log)
    finally:
        endpoint.close()
        if truth:
            truth.close()
        for s, handler in old.items():
            signal.signal(s, handler)
    print("cervitrack: emulator stopped: " + " ".join(f"{k}={v:.3f}" if isinstance(v, float)
                                                      else f"{k}={v}" for k, v in summary.items()),
          file=sys.stderr, flush=True)
    return 0


def register(sub) -> None:
    p = sub.add_parser("emulate", help="emulate a device (byte-exact protocol, real transport) "
                       "worn by the virtual patient")
    p.add_argument("protocol", choices=CHOICES, metavar="PROTOCOL",
                   help=f"one of: {', '.join(CHOICES)}")
    motion = p.add_mutually_exclusive_group()
    motion.add_argument("--events", metavar="PATH",
                        help="follow a test's events file (cervitrack test --events PATH): the "
                        "patient does what the test asks")
    motion.add_argument("--script", choices=SCRIPT_NAMES,
                        help="built-in motion instead (default: still)")
    p.add_argument("--seed", type=int, default=None, help="makes the patient reproducible")
    p.add_argument("--sim-config", metavar="FILE.toml", help="simulator settings (sensor noise, "
                   "mount, patient; docs/simulator.md)")
    p.add_argument("--truth", metavar="PATH", help="write the ground truth as JSON lines")
    p.add_argument("--rate", type=float, metavar="HZ",
                   help="output rate (default: the device's; WitMotion 10 Hz factory setting)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--port", type=int, default=4242, help="UDP: send to 127.0.0.1:PORT")
    p.add_argument("--drop-at", type=float, metavar="S", help="fault: send nothing from S s ...")
    p.add_argument("--drop-for", type=float, metavar="S", help="... for S s (a dropout)")
    p.add_argument("--mirror-axes", action="store_true",
                   help="fault: the device reports a mirrored (left-handed) y axis")
    p.add_argument("--wrong-protocol", choices=ALL_PROTOCOLS, metavar="P",
                   help="fault: send protocol P's bytes instead")
    p.set_defaults(func=run)
