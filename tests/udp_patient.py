"""A virtual patient on a UDP link, for the CLI journey tests (run as a script).

It sends opentrack datagrams (6 float64: x, y, z cm, yaw, pitch, roll deg) at ``--rate``
Hz to ``127.0.0.1:PORT`` and follows the test by tailing the ``--events`` file that
``cervitrack test ... --events`` writes: it sits still, nods (chin down first) and turns
(left first) for the calibration, re-centres exactly to the straight-ahead posture, moves
30 deg in the asked direction and holds, and comes back to an error it draws (uniform,
0.5-4 deg either side, in the moving axis only), which it writes to ``--log`` as one JSON line
per trial: ``{"trial": n, "direction": d, "axis": "yaw"|"pitch", "error_deg": e}``.

With ``--drop-trial N --drop-s S`` it stops sending for S seconds once trial N's return
movement has begun (the head still moves), then sends again (a lost signal), and logs
``{"dropout": [t_start, t_end]}`` (``time.monotonic()``).

Only the standard library and numpy: the sender is another program, not part of cervitrack.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import time
from pathlib import Path

import numpy as np

#: direction -> (axis index in yaw, pitch, roll; sign of the outward movement)
DIRECTIONS = {"rotation_left": (0, +1.0), "rotation_right": (0, -1.0),
              "flexion": (1, +1.0), "extension": (1, -1.0),
              "lateral_left": (2, -1.0), "lateral_right": (2, +1.0)}
AXES = ("yaw", "pitch", "roll")


class Plan:
    """Piecewise minimum-jerk moves of (yaw, pitch, roll), deg, on time.monotonic()."""

    def __init__(self) -> None:
        self.segments = [(0.0, 0.0, np.zeros(3), np.zeros(3))]  # (t0, t1, start, end)

    def at(self, t: float) -> np.ndarray:
        for t0, t1, a, b in reversed(self.segments):
            if t >= t0:
                if t >= t1:
                    return b.copy()
                s = (t - t0) / (t1 - t0)
                return a + (b - a) * (10 * s**3 - 15 * s**4 + 6 * s**5)
        return self.segments[0][2].copy()

    def move(self, t0: float, end, duration: float | None = None) -> float:
        start = self.at(t0)
        end = np.asarray(end, dtype=float)
        if duration is None:
            duration = 0.5 + float(np.abs(end - start).max()) / 60.0
        # Drop what was planned after t0 (a new prompt replaces the old plan).
        self.segments = [s for s in self.segments if s[0] < t0]
        self.segments.append((t0, t0 + duration, start, end))
        return t0 + duration

    def sequence(self, t0: float, targets) -> None:
        t = t0
        for target in targets:
            t = self.move(t, target) + 0.15


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drop-trial", type=int, default=None)
    ap.add_argument("--drop-s", type=float, default=4.0)
    ap.add_argument("--max-s", type=float, default=600.0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    log = open(args.log, "w", encoding="utf-8")  # noqa: SIM115
    plan = Plan()
    events_path = Path(args.events)
    events_file = None
    buffer = ""
    trial = 0
    move_end = np.zeros(3)
    move_axis, move_direction = 0, None
    drop = None
    t_begin = time.monotonic()
    next_send = t_begin
    done_at = None
    while time.monotonic() - t_begin < args.max_s:
        now = time.monotonic()
        if events_file is None and events_path.exists():
            events_file = open(events_path, encoding="utf-8")  # noqa: SIM115
        if events_file is not None:
            buffer += events_file.read()
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                event = json.loads(line)
                kind = event.get("kind")
                if kind == "trial_start":
                    trial = int(event["trial"])
                elif kind == "test_end":
                    done_at = now
                elif kind == "prompt":
                    prompt = event["prompt"]
                    if prompt in ("sit_still", "recenter"):
                        plan.move(now, np.zeros(3))
                    elif prompt == "nod":
                        plan.sequence(now, [(0, 18, 0), (0, -14, 0), (0, 18, 0), (0, -14, 0), (0, 0, 0)])
                    elif prompt == "turn":
                        plan.sequence(now, [(30, 0, 0), (-24, 0, 0), (30, 0, 0), (-24, 0, 0), (0, 0, 0)])
                    elif prompt == "move":
                        axis, sign = DIRECTIONS[event["direction"]]
                        move_end = np.zeros(3)
                        move_end[axis] = sign * 30.0
                        plan.move(now, move_end)
                        move_axis, move_direction = axis, event["direction"]
                    elif prompt == "return":
                        error = float(rng.uniform(0.5, 4.0) * rng.choice([-1.0, 1.0]))
                        end = np.zeros(3)
                        end[move_axis] = error
                        plan.move(now, end)
                        log.write(json.dumps({"trial": trial, "direction": move_direction,
                                              "axis": AXES[move_axis], "error_deg": error}) + "\n")
                        log.flush()
                        if args.drop_trial == trial and drop is None:
                            drop = (now + 0.2, now + 0.2 + args.drop_s)
                            log.write(json.dumps({"dropout": list(drop)}) + "\n")
                            log.flush()
        if done_at is not None and now - done_at > 1.0:
            break
        if now >= next_send:
            next_send += 1.0 / args.rate
            if drop is None or not (drop[0] <= now < drop[1]):
                yaw, pitch, roll = plan.at(now)
                sock.sendto(struct.pack("<6d", 0.0, 0.0, 0.0, yaw, pitch, roll), ("127.0.0.1", args.port))
        time.sleep(max(0.0, min(next_send - time.monotonic(), 0.005)))
    log.close()


if __name__ == "__main__":
    main()
