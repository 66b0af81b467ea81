"""Time to read 1, 4 and 16 MiB of hostile bytes, beside a clean recording of the same size.

Hostile: fake records that all claim to end at the end of the file (each would cost a CRC over
the rest of the file without the scanner's budget: quadratic), and random bytes. The peer is a
clean recording of the same size, read by the same function in the same run. Prints JSON.

    python bench/recording_hostile.py [--sizes-mib 1 4 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import struct
import time

import numpy as np

from cervitrack.signal.samples import Chunk
from cervitrack.trainer.recording import format as fmt
from cervitrack.trainer.recording.reader import parse


def fake_records(size: int) -> bytes:
    out = bytearray(fmt.FILE_HEADER)
    while len(out) + fmt.RECORD_OVERHEAD_BYTES < size:
        out += fmt.SYNC + struct.pack("<BI", fmt.CHUNK, size - len(out) - fmt.RECORD_OVERHEAD_BYTES)
    return bytes(out + b"\0" * (size - len(out)))


def random_bytes(size: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return fmt.FILE_HEADER + rng.integers(0, 256, size - fmt.FILE_HEADER_BYTES, np.uint8).tobytes()


def clean(size: int) -> bytes:
    out = bytearray(fmt.FILE_HEADER + fmt.encode_meta({"protocol": "reference"}))
    payload = bytes(range(256)) * 4
    i = 0
    while len(out) < size - 2000:
        out += fmt.encode_chunk(Chunk(0.01 * i, payload))
        i += 1
    return bytes(out)


def best_time(data: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        parse(data)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes-mib", type=float, nargs="+", default=[1, 4, 16])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for mib in args.sizes_mib:
        size = int(mib * 1024 * 1024)
        row = {"size_mib": mib}
        for name, make in (("fake_records", fake_records), ("random", random_bytes),
                           ("clean_recording", clean)):
            data = make(size)
            row[f"{name}_s"] = round(best_time(data, args.repeat), 4)
        rows.append(row)
    base = rows[0]
    for row in rows:
        row["fake_records_s_per_mib"] = round(row["fake_records_s"] / row["size_mib"], 4)
    print(json.dumps({"benchmark": "recording_hostile", "rows": rows,
                      "linear": all(r["fake_records_s_per_mib"] <= 3 * base["fake_records_s_per_mib"]
                                    for r in rows)}, indent=2))


if __name__ == "__main__":
    main()
