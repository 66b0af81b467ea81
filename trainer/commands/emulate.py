"""``cervitrack emulate PROTOCOL``: a device that speaks PROTOCOL byte for byte, in real time.

A virtual patient wears a virtual IMU (trainer/simulation/emulated_device.py); its samples are
encoded exactly as the real device sends them and carried by a real transport:

- serial devices (``witmotion-serial``, ``bno08x-rvc``, ``hatire``, ``reference``): a
  pseudo-terminal; the first stdout line is its path (``/dev/pts/7``), for
  ``cervitrack stream --device serial:/dev/pts/7 --protocol P``. Host commands written to it
  are answered (WitMotion ``FF AA`` configuration, OHT/1 start/stop/rate/info).
- ``opentrack-udp``: datagrams to 127.0.0.1:``--port`` (default 4242); the first stdout line is
  ``udp:PORT``.
- BLE devices (``witmotion-ble``, ``movella-dot``, ``metawear``): a GATT peripheral on a virtual
  Bluetooth radio (Bumble, :mod:`cervitrack.firmware_bridge.emulation.ble_peripherals`); the
  first stdout line is the setting to export, ``CERVITRACK_BLE_BACKEND=bumble:127.0.0.1:PORT``,
  the second the device, ``ble:NAME`` (``cervitrack stream --device "ble:Movella DOT"``). The
  peripheral behaves as the device does (start commands, rate settings) and samples the same
  virtual patient; ``--drop-at`` takes it out of radio range (the link drops, no advertising).

The patient follows a test's prompts from ``--events PATH`` (the file ``cervitrack test
--events PATH`` or ``cervitrack train --events PATH`` writes; it may not exist yet: the
patient is the training's virtual trainee, who also does the drills) or a built-in
``--script``. ``--truth PATH``
writes the ground truth as JSON lines. Ctrl-C or SIGTERM stops it cleanly; the last stderr line
is a summary.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time

from cervitrack.trainer.commands import CliError

#: Serial devices (on a pty) and opentrack-udp (over UDP).
WIRED = ("bno08x-rvc", "hatire", "opentrack-udp", "reference", "witmotion-serial")
#: BLE peripherals on a virtual radio.
BLE = ("metawear", "movella-dot", "witmotion-ble")
#: Every device. Names only, so that ``--help`` imports no numpy or scipy;
#: tests/test_emulate_cli.py checks them against the emulation registries.
CHOICES = tuple(sorted(WIRED + BLE))
#: Every emulated protocol (``--wrong-protocol`` may send any of them).
ALL_PROTOCOLS = CHOICES
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
        TruthLog,
        run_realtime,
    )
    from cervitrack.trainer.training.sim_patient import TrainingPatient

    _positive(args.duration, "--duration")
    _positive(args.rate, "--rate")
    if args.rate is not None and args.rate > 1000:
        raise CliError(f"--rate must be at most 1000 Hz, not {args.rate}")
    if args.drop_at is not None and args.drop_on is not None:
        raise CliError("--drop-at and --drop-on are two ways to start the dropout: give one")
    if ((args.drop_at is None and args.drop_on is None) != (args.drop_for is None)):
        raise CliError("--drop-at (or --drop-on) and --drop-for go together")
    if args.drop_on is not None and not args.events:
        raise CliError("--drop-on needs --events (the prompts come from the events file)")
    if args.drop_at is not None and not (args.drop_at >= 0 and args.drop_for > 0):
        raise CliError("--drop-at must be >= 0 s and --drop-for > 0 s")
    if args.rate is not None and PROTOCOLS[args.protocol].fixed_rate:
        rate = PROTOCOLS[args.protocol].default_rate_hz
        raise CliError(f"{args.protocol} sends at a fixed {rate:g} Hz; --rate does not apply")
    kind = PROTOCOLS[args.protocol].transport
    if kind == "ble" and args.wrong_protocol:
        raise CliError("--wrong-protocol is for serial and UDP devices (a BLE device's GATT "
                       "layout is its protocol)")
    protocol = make_protocol(args.wrong_protocol or args.protocol)
    if args.rate is not None:
        protocol.rate_hz = float(args.rate)
    cfg = load_config(args.sim_config, seed=args.seed)
    faults = Faults(mirror_axes=args.mirror_axes)
    if args.drop_at is not None:
        faults.drop_at_s, faults.drop_for_s = args.drop_at, args.drop_for
    if args.drop_on is not None:
        faults.drop_on_prompt, faults.drop_for_s = args.drop_on, args.drop_for
    truth = TruthLog(args.truth) if args.truth else None
    # The trainee follows training drills as well as the tests' prompts (the same patient).
    device = EmulatedDevice(protocol, cfg, faults, truth, patient_factory=TrainingPatient)
    if kind == "ble":
        try:
            return _run_ble(args, device, truth, SCRIPTS, _prompt_tail)
        finally:
            if truth:
                truth.close()
    endpoint: PtyEndpoint | UdpEndpoint
    if kind == "serial":
        endpoint = PtyEndpoint()
        first_line = endpoint.path
    else:
        endpoint = UdpEndpoint(args.port)
        first_line = f"udp:{args.port}"
    stop, restore = _stop_flag()
    try:
        print(first_line, flush=True)
        sent_as = f" sending {protocol.name} bytes (--wrong-protocol)" if args.wrong_protocol else ""
        print(f"cervitrack: emulating {args.protocol} on {endpoint.description} at "
              f"{protocol.rate_hz:g} Hz{sent_as}; Ctrl-C stops", file=sys.stderr, flush=True)
        events = _prompt_tail(args.events, since_wall_s=time.time() - 1.0) if args.events else None
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
        restore()
    print("cervitrack: emulator stopped: " + " ".join(f"{k}={v:.3f}" if isinstance(v, float)
                                                      else f"{k}={v}" for k, v in summary.items()),
          file=sys.stderr, flush=True)
    return 0


def _prompt_tail(path, since_wall_s: float):
    """Follows the events file of ``cervitrack test`` or ``cervitrack train``: drill prompts
    (with ``amplitude_deg`` and ``vision``) come back as :class:`DrillPrompt`."""
    from cervitrack.trainer.simulation.emulated_device import PromptTail
    from cervitrack.trainer.training.drills import DrillPrompt

    return PromptTail(path, since_wall_s=since_wall_s, prompt_from_event=DrillPrompt.from_event)


def _stop_flag():
    """Returns (stop dict, restore()): SIGTERM and SIGINT set ``stop["signal"]``."""
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)
           if signal.getsignal(s) is not signal.SIG_IGN}

    def restore():
        for s, handler in old.items():
            signal.signal(s, handler)

    return stop, restore


def _run_ble(args, device, truth, scripts, prompt_tail) -> int:
    """The BLE peripheral on a virtual radio, sampling ``device``'s patient; prompts and the
    dropout fault on this thread, the radio on the peripheral's."""
    from cervitrack.trainer.simulation.emulated_device import follow_prompts

    try:
        from cervitrack.firmware_bridge.emulation.ble_peripherals import BleEmulator
    except ImportError as exc:  # bumble is an optional dependency
        raise CliError(f"emulating a BLE device needs the bumble package ({exc}); install "
                       "cervitrack[ble-emulation]") from None
    emulator = BleEmulator(args.protocol)
    peripheral = emulator.peripheral
    if args.rate is not None:
        try:
            peripheral.set_rate(float(args.rate))
        except ValueError as exc:
            raise CliError(f"--rate: {exc}") from None
    lock = threading.Lock()  # the patient is read on the radio's thread, prompted on this one

    def motion(t_s):
        with lock:
            return device.motion(t_s, peripheral.rate_hz)

    peripheral.motion = motion
    stop, restore = _stop_flag()
    started = False
    drop = device.faults
    try:
        emulator.start()
        started = True
        device.clock_origin_s = time.monotonic() - peripheral.now_s()
        wall0 = time.time() - peripheral.now_s()
        print(f"CERVITRACK_BLE_BACKEND={emulator.backend}", flush=True)
        print(f"ble:{peripheral.name}", flush=True)
        print(f"cervitrack: emulating {args.protocol} {peripheral.name!r} ({peripheral.address}) "
              f"on a virtual BLE radio at {peripheral.rate_hz:g} Hz; export the line above, then "
              f"--device \"ble:{peripheral.name}\"; Ctrl-C stops", file=sys.stderr, flush=True)
        events = prompt_tail(args.events, since_wall_s=time.time() - 1.0) if args.events else None
        script = None if args.events else scripts[args.script or "still"]
        if truth:
            truth.write({"kind": "device", "protocol": args.protocol, "sends": args.protocol,
                         "rate_hz": peripheral.rate_hz, "seed": device.cfg.seed,
                         "wall_time_s": time.time(), "script": None if events else
                         (args.script or "still"), "events": args.events,
                         "mirror_axes": args.mirror_axes, "ble_name": peripheral.name})
        t_script, seen_log, phase = 0.0, 0, "in range"
        while stop["signal"] is None:
            now = peripheral.now_s()
            if args.duration is not None and now >= args.duration:
                break
            if phase == "in range" and now >= drop.drop_at_s:
                peripheral.call(peripheral.go_out_of_range)
                phase = "out of range"
                print(f"cervitrack: {args.protocol}: out of range at {now:.2f} s (link dropped)",
                      file=sys.stderr, flush=True)
            elif phase == "out of range" and now >= drop.drop_at_s + drop.drop_for_s:
                peripheral.call(peripheral.come_back_in_range)
                phase = "back"
                print(f"cervitrack: {args.protocol}: back in range at {now:.2f} s (advertising)",
                      file=sys.stderr, flush=True)
            for line in peripheral.log[seen_log:]:
                print(f"cervitrack: {args.protocol}: {line}", file=sys.stderr, flush=True)
            seen_log = len(peripheral.log)
            with lock:
                t_script = follow_prompts(device, now, t_script, script, events, wall0)
            time.sleep(0.02)
        elapsed = peripheral.now_s()
    finally:
        if started:
            emulator.stop()
        restore()
    print(f"cervitrack: emulator stopped: sent={peripheral.sent} trials={device.trials} "
          f"elapsed_s={elapsed:.3f}", file=sys.stderr, flush=True)
    return 0


def register(sub) -> None:
    import argparse

    p = sub.add_parser(
        "emulate", help="emulate a device (byte-exact protocol, real transport) worn by the "
        "virtual patient", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A device worn by the virtual patient, on a real transport:\n"
        f"  serial (a pseudo-terminal): {', '.join(c for c in WIRED if c != 'opentrack-udp')}\n"
        "  UDP: opentrack-udp\n"
        f"  BLE (a virtual radio, CERVITRACK_BLE_BACKEND): {', '.join(BLE)}")
    p.add_argument("protocol", choices=CHOICES, metavar="PROTOCOL",
                   help="the device (listed above)")
    motion = p.add_mutually_exclusive_group()
    motion.add_argument("--events", metavar="PATH",
                        help="follow the events file of cervitrack test or train --events PATH: "
                        "the patient does what the test or drill asks")
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
    p.add_argument("--drop-at", type=float, metavar="S", help="fault: send nothing from S s "
                   "(BLE: out of radio range) ...")
    p.add_argument("--drop-on", metavar="PROMPT", help="fault: send nothing from 0.2 s after the first "
                   "PROMPT of the events file (e.g. return, drill_return) ...")
    p.add_argument("--drop-for", type=float, metavar="S", help="... for S s (a dropout)")
    p.add_argument("--mirror-axes", action="store_true",
                   help="fault: the device reports a mirrored (left-handed) y axis")
    p.add_argument("--wrong-protocol", choices=ALL_PROTOCOLS, metavar="P",
                   help="fault: send protocol P's bytes instead (serial, UDP)")
    p.set_defaults(func=run)
