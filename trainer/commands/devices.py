"""``cervitrack devices [--json]``: serial ports and a BLE scan, with the kind recognised.

The serial list never needs Bluetooth. When Bluetooth is off, missing or not permitted, the
BLE part is a clear note (in ``--json``: ``"ble_error"``), and the command still exits 0.
"""

from __future__ import annotations

import json


def _spec_hint(kind: str, target: str, protocol: str | None) -> str:
    return f"--device {kind}:{target}" + (f" --protocol {protocol}" if protocol else "")


def run(args) -> int:
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
    p.set_defaults(func=run)
