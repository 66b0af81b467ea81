"""A UDP flood against `cervitrack stream --device udp:PORT`: peak memory and run time.

The bench starts `cervitrack stream --device udp:PORT --duration D` (opentrack-udp decoder,
output to /dev/null), floods its port on 127.0.0.1 with 64 KB datagrams for the same D seconds,
and reports the child's peak resident memory (VmHWM from /proc, Linux) and its wall time. A
bounded stream stays near its idle memory and ends about D seconds after it started. Prints
JSON. `--cervitrack PATH` runs another install (e.g. an older checkout's venv) in the same way.

    python bench/udp_flood.py [--seconds 20] [--cervitrack .venv/bin/cervitrack]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--cervitrack", default=shutil.which("cervitrack")
                    or str(Path(sys.executable).with_name("cervitrack")))
    ap.add_argument("--datagram-bytes", type=int, default=65000)
    args = ap.parse_args()
    port = free_udp_port()
    t0 = time.monotonic()
    child = subprocess.Popen([args.cervitrack, "stream", "--device", f"udp:127.0.0.1:{port}",
                              "--duration", str(args.seconds), "--format", "jsonl"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.5)  # let it bind
    payload = bytes(args.datagram_bytes)
    sent, peak = 0, 0.0
    end = time.monotonic() + args.seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while time.monotonic() < end and child.poll() is None:
            for _ in range(50):
                try:
                    s.sendto(payload, ("127.0.0.1", port))
                    sent += 1
                except OSError:
                    break
            peak = max(peak, peak_rss_mb(child.pid))
    while child.poll() is None and time.monotonic() - t0 < 30 * args.seconds:
        peak = max(peak, peak_rss_mb(child.pid))
        time.sleep(0.2)
    timed_out = child.poll() is None
    if timed_out:
        child.kill()
    child.wait()
    wall = time.monotonic() - t0
    print(json.dumps({"benchmark": "udp_flood", "cervitrack": args.cervitrack,
                      "flood_s": args.seconds, "datagrams_sent": sent,
                      "datagram_bytes": args.datagram_bytes, "peak_rss_mb": round(peak, 1),
                      "wall_s": round(wall, 1), "exit_code": child.returncode,
                      "killed_after_timeout": timed_out}, indent=2))


if __name__ == "__main__":
    main()
