"""``cervitrack devices [--json]``: serial ports and a BLE scan, with the kind recognised.

``cervitrack devices configure DEVICE [--protocol P] [--rate HZ] [--save]``: put a sensor in
the mode the tests need (the same configuration every connection sends,
:mod:`cervitrack.firmware_bridge.profiles`), stream it for ``--seconds`` and print the rate it
really delivers (:class:`cervitrack.firmware_bridge.supervisor.RateCheck`).

The serial list never needs Bluetooth. When Bluetooth is off, missing or not permitted, the
BLE part is a clear note (in ``--json``: ``"ble_error"``), and the command still exits 0.
"""

from __future__ import annotations

import json


def _spec_hint(kind: str, target: str, protocol: str | None) -> str:
    return f"--device {kind}:{target}" + (f" --protocol {protocol}" if protocol else "")


def configure(args) -> int:
    import io
    import math
    import sys

    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.firmware_bridge.supervisor import RateCheck
    from cervitrack.trainer.commands.stream import stream_source
    from cervitrack.trainer.live.devices import open_device

    if not (args.seconds > 0 and math.isfinite(args.seconds)):
        raise ValueError(f"--seconds must be a positive number, not {args.seconds}")
    kind = args.device.partition(":")[0]
    if kind not in ("serial", "ble"):
        raise ValueError(f"{args.device!r}: only serial: and ble: sensors can be configured")
    if args.protocol is not None:
        make_decoder(args.protocol)
    source = open_device(args.device, protocol=args.protocol, baud=args.baud, configure=True,
                         rate_hz=args.rate, save_config=args.save)
    wanted = source.configured_rate_hz
    setup = source.metadata.get("setup_hex") or []
    profile = getattr(source.driver, "profile", None)
    steps = [getattr(s, "data", b"").hex(" ") or f"read-modify-write {s.char_uuid}"
             for s in getattr(profile, "configure", ())]
    for line in setup or steps:
        print(f"sent: {line}")
    decoder = make_decoder(source.protocol)
    check = RateCheck(decoder.has_clock, measure_s=min(2.0, args.seconds / 2))
    stats = stream_source(source, source.protocol, args.seconds, io.StringIO(), "jsonl",
                          notes=sys.stderr, rate_check=check)
    rate = stats["measured_rate_hz"]
    if not math.isfinite(rate):
        raise OSError(f"no samples from {args.device} in {args.seconds:g} s: the rate could "
                      "not be measured (is --protocol right?)")
    asked = "" if wanted is None else f" (asked for {wanted:g} Hz)"
    saved = "saved in the sensor" if args.save else "not saved: it lasts until the sensor is switched off"
    print(f"measured rate: {rate:.1f} Hz{asked}; configuration {saved}")
    return 0


def run(args) -> int:
    if getattr(args, "devices_action", None) == "configure":
        return configure(args)
    from cervitrack.firmware_bridge import discovery
    from cervitrack.firmware_bridge.transports.base import LinkError

    if not (args.scan_time > 0):
        raise ValueError(f"--scan-time must be a positive number of seconds, not {args.scan_time}")
    ports = discovery.serial_ports()
    ble, ble_error = [], None
    if not args.no_ble:
        try:
            ble = discovery.ble_scan(args.scan_time)
        except LinkError as exc:
            ble_error = str(exc)
    if args.json:
        print(json.dumps({"serial": ports, "ble": ble, "ble_error": ble_error,
                          "ble_scanned": not args.no_ble}))
        return 0
    print("Serial ports:")
    if not ports:
        print("  none found (is the cable a data cable? is the board powered?)")
    for p in ports:
        ids = f"{p['vid']:04X}:{p['pid']:04X}" if p["vid"] is not None else "-"
        print(f"  {p['device']}  {p['description']}  [{ids}]  kind: {p['kind']}")
        print(f"      {_spec_hint('serial', p['device'], p['protocol_hint'])}"
              + (f"  ({p['note']})" if p["note"] else ""))
    if args.no_ble:
        return 0
    print(f"Bluetooth LE ({args.scan_time:g} s scan):")
    if ble_error:
        print(f"  not available: {ble_error}")
    elif not ble:
        print("  nothing found (is the sensor on, charged, and not connected to a phone?)")
    for d in ble:
        print(f"  {d['name'] or '(no name)'}  {d['address']}  RSSI {d['rssi_dbm']} dBm  "
              f"kind: {d['kind']}")
        if d["kind"] != "unknown":
            print(f"      {_spec_hint('ble', d['address'], d['protocol_hint'])}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("devices", help="list serial ports and nearby BLE sensors")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--scan-time", type=float, default=5.0, metavar="S",
                   help="BLE scan duration in seconds (default 5)")
    p.add_argument("--no-ble", action="store_true", help="list serial ports only")
    actions = p.add_subparsers(dest="devices_action", metavar="ACTION")
    c = actions.add_parser("configure", help="put a sensor in the mode the tests need and "
                           "print the rate it really delivers")
    c.add_argument("device", metavar="DEVICE", help="serial:PORT or ble:ADDRESS_OR_NAME")
    c.add_argument("--protocol", metavar="P", help="wire protocol (default: recognised)")
    c.add_argument("--rate", type=float, metavar="HZ", help="rate to set (default: 100 Hz "
                   "WitMotion, 60 Hz Movella DOT; MetaMotion fusion is 100 Hz)")
    c.add_argument("--save", action="store_true", help="save the configuration in the sensor")
    c.add_argument("--baud", type=int, metavar="B", help="serial line speed")
    c.add_argument("--seconds", type=float, default=4.0, metavar="S",
                   help="how long to measure the rate (default 4)")
    p.set_defaults(func=run)
