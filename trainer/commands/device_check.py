"""``cervitrack device-check --device SPEC [--protocol P]``: does a new sensor agree with itself?

Walks the person through three steps, printing each prompt and waiting for the motion (a real
sensor waits for the person; the simulated headset's virtual patient hears the prompts):
keep still (orientation against accelerometer: the gravity angle), turn left and right, nod
(orientation increments against the gyro). Then it names the protocol whose frames fit the
bytes (:mod:`cervitrack.firmware_bridge.sniff`) and, when the orientation, accelerometer and
gyro disagree, the known fault whose correction makes them agree (a mirrored axis, the Euler
order, the heading sign, gyro units: :func:`cervitrack.signal.consistency.diagnose`).

``--events PATH`` writes each prompt as a JSON line (as ``cervitrack test --events`` does), so
that an emulated sensor's patient (``cervitrack emulate ... --events PATH``) follows it.

Exit code 0 when the sensor agrees with itself, 1 when it does not or no motion came.
"""

from __future__ import annotations

import json
import math
import time

#: A still window lasts this long, s, with the orientation within STILL_RANGE_DEG.
STILL_S = 1.5
STILL_RANGE_DEG = 3.0
#: A movement counts once the head has turned this far from rest, deg; it ends after
#: SETTLE_S of stillness.
MOVED_DEG = 15.0
SETTLE_S = 0.5
#: Each step gives up after this long without the motion, s.
STEP_TIMEOUT_S = 40.0


class _Recorder:
    """Decoded samples so far: time, orientation, accelerometer, gyro."""

    def __init__(self) -> None:
        self.t: list = []
        self.q: list = []
        self.acc: list = []
        self.gyr: list = []

    def add(self, batch) -> None:
        import numpy as np

        n = len(batch)
        self.t.append(np.asarray(batch.t_s, float))
        self.q.append(batch.quat_wxyz if batch.quat_wxyz is not None else np.full((n, 4), np.nan))
        self.acc.append(batch.acc_m_s2 if batch.acc_m_s2 is not None else np.full((n, 3), np.nan))
        self.gyr.append(batch.gyr_rad_s if batch.gyr_rad_s is not None else np.full((n, 3), np.nan))

    def arrays(self):
        import numpy as np

        if not self.t:
            return np.zeros(0), np.zeros((0, 4)), np.zeros((0, 3)), np.zeros((0, 3))
        return (np.concatenate(self.t), np.concatenate(self.q), np.concatenate(self.acc),
                np.concatenate(self.gyr))


def _still_since(t, q, hold_s: float, range_deg: float, after_t: float):
    """Index where a still run of ``hold_s`` (orientation within ``range_deg`` of its last
    sample) ending at the newest sample began, or None."""
    import numpy as np

    from cervitrack.signal import quaternion as quat

    if t.size < 2 or t[-1] - max(after_t, t[0]) < hold_s:
        return None
    i0 = int(np.searchsorted(t, t[-1] - hold_s))
    if t[i0] < after_t:
        return None
    ang = quat.angle_deg(quat.relative(q[-1], q[i0:]))
    return i0 if np.nanmax(ang) <= range_deg else None


def run(args) -> int:
    import numpy as np

    from cervitrack.firmware_bridge.decoding import TimedDecoder
    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.firmware_bridge.sniff import NoFrameWatch, sniff
    from cervitrack.signal import consistency
    from cervitrack.signal import quaternion as quat
    from cervitrack.signal.samples import Chunk, SampleBatch
    from cervitrack.trainer.clinical.prompts import make_prompt
    from cervitrack.trainer.live.devices import open_device

    if args.protocol is not None:
        make_decoder(args.protocol)
    source = open_device(args.device, protocol=args.protocol, baud=args.baud, speed=None,
                         seed=args.seed, configure=not args.no_configure)
    protocol = args.protocol or source.protocol
    if not protocol:
        raise ValueError("this device source needs --protocol")
    timed = TimedDecoder(make_decoder(protocol))
    watch = NoFrameWatch(protocol)
    head = bytearray()
    rec = _Recorder()
    patient = getattr(source, "patient", None)  # the simulated headset's wearer hears prompts
    steps = [("sit_still", "Keep still"), ("turn", "Turn left and right"), ("nod", "Nod")]
    step = 0
    windows: dict[str, slice] = {}
    t_step = math.nan
    moved = False

    events = open(args.events, "a", encoding="utf-8") if args.events else None  # noqa: SIM115

    def prompt(kind: str, t_s: float) -> None:
        p = make_prompt(kind, t_s)
        print(f"[{step + 1}/3] {p.text}", flush=True)
        if patient is not None:
            patient.on_prompt(p, t_s)
        if events is not None:
            events.write(json.dumps({**p.as_event(), "wall_time_s": time.time()}) + "\n")
            events.flush()

    try:
        for items in source.polls():
            data = b"".join(i.data for i in items if isinstance(i, Chunk))
            if len(head) < 16384:
                head += data[:16384 - len(head)]
            processed = timed.process(items)
            batches = [b for b in processed if isinstance(b, SampleBatch) and len(b)]
            for b in batches:
                rec.add(b)
            problem = watch.see(data, sum(len(b) for b in batches))
            if problem:
                ranked = sniff(bytes(head), exclude=protocol)
                print(f"cervitrack: {problem}")
                if ranked:
                    print(f"protocol: these bytes fit {ranked[0].protocol}, not {protocol}: "
                          f"run again with --protocol {ranked[0].protocol}")
                return 1
            t, q, acc, gyr = rec.arrays()
            if t.size == 0:
                continue
            if rec.q and np.isnan(q[:, 0]).all() and t.size > 50:
                raise ValueError(f"{protocol} gives no orientation: there is nothing to check "
                                 "the accelerometer and gyro against")
            now = float(t[-1])
            if math.isnan(t_step):
                t_step = now
                prompt(steps[0][0], now)
            if now - t_step > STEP_TIMEOUT_S:
                print(f"cervitrack: no {'stillness' if step == 0 else 'movement'} seen in "
                      f"{STEP_TIMEOUT_S:g} s at step {step + 1} ({steps[step][1].lower()})")
                return 1
            kind = steps[step][0]
            if kind == "sit_still":
                i0 = _still_since(t, q, STILL_S, STILL_RANGE_DEG, t_step + 0.5)
                if i0 is None:
                    continue
                windows[kind] = slice(i0, t.size)
            else:
                i_start = int(np.searchsorted(t, t_step))
                if not moved:
                    ang = quat.angle_deg(quat.relative(q[i_start], q[i_start:]))
                    moved = bool(np.nanmax(ang) > MOVED_DEG)
                    continue
                if _still_since(t, q, SETTLE_S, STILL_RANGE_DEG, t_step) is None:
                    continue
                windows[kind] = slice(i_start, t.size)
                moved = False
            step += 1
            if step == len(steps):
                break
            t_step = now
            prompt(steps[step][0], now)
    finally:
        source.close()
        if events is not None:
            events.close()

    t, q, acc, gyr = rec.arrays()
    rest = windows["sit_still"]
    motion_idx = np.r_[windows["turn"], windows["nod"]]
    mt, mq, mg = t[motion_idx], q[motion_idx], gyr[motion_idx]
    has_acc = not np.isnan(acc[rest]).all()
    has_gyr = not np.isnan(mg).all()
    diag = consistency.diagnose(q[rest], acc[rest] if has_acc else None,
                                mq if has_gyr else None, mg if has_gyr else None, mt)
    a = diag.as_received
    ranked = sniff(bytes(head)) if head else []
    if ranked:
        fits = ranked[0].protocol
        note = "" if fits.partition(":")[0] == protocol.partition(":")[0] else \
            f" (you chose {protocol}: run again with --protocol {fits})"
        print(f"protocol: the bytes fit {fits}{note}")
    if has_acc:
        print(f"at rest: orientation vs accelerometer {a.gravity_angle_deg:.1f}° apart "
              f"(agree below {consistency.MAX_GRAVITY_ANGLE_DEG:g}°)")
    else:
        print("at rest: no accelerometer in this stream, gravity not checked")
    if has_gyr and not math.isfinite(a.gyro_direction_deg):
        print(f"in motion: too little movement faster than "
              f"{consistency.MIN_MOTION_RATE_DEG_S:g}°/s to compare orientation and gyro")
    elif has_gyr:
        print(f"in motion: orientation vs gyro {a.gyro_direction_deg:.1f}° apart, speed ratio "
              f"{a.gyro_ratio:.2f} (agree below {consistency.MAX_GYRO_DIRECTION_DEG:g}°, ratio "
              f"{consistency.GYRO_RATIO_RANGE[0]:g}-{consistency.GYRO_RATIO_RANGE[1]:g})")
    else:
        print("in motion: no gyro in this stream, not checked")
    if not has_acc and not has_gyr:
        print("ok: nothing to compare: this stream carries an orientation only (no "
              "accelerometer or gyro)")
        return 0
    print(("ok: " if a.ok else "problem: ") + diag.message())
    return 0 if a.ok else 1


def register(sub) -> None:
    p = sub.add_parser("device-check", help="check a new sensor: keep still, turn, nod; "
                       "names the protocol and any axis or unit fault")
    p.add_argument("--device", required=True, metavar="SPEC",
                   help="sim, serial:PORT, ble:ADDRESS_OR_NAME, udp:PORT or replay:PATH")
    p.add_argument("--protocol", metavar="P", help="wire protocol (default: the device's own)")
    p.add_argument("--baud", type=int, metavar="B", help="serial line speed")
    p.add_argument("--seed", type=int, help="sim: simulation seed")
    p.add_argument("--events", metavar="PATH",
                   help="also write each prompt as a JSON line to PATH (an emulated sensor's "
                        "patient follows it: cervitrack emulate ... --events PATH)")
    p.add_argument("--no-configure", action="store_true",
                   help="serial/BLE: send the sensor no configuration")
    p.set_defaults(func=run)
