"""``cervitrack decode FILE --protocol P [--format jsonl|csv]``: decode a captured byte file.

Prints one line per sample to stdout and ends with exactly one stderr line
``frames=N rejected=M skipped_bytes=K``. ``t_s`` is the device clock, unwrapped and in seconds,
where the protocol carries one; otherwise the unwrapped sequence number times the nominal period
(``1 / nominal_rate_hz``). ``seq`` is the unwrapped sequence number. Bad bytes are never an
error: they are counted.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cervitrack.trainer.commands import CliError
from cervitrack.trainer.commands.stream import CHANNELS, json_number

if TYPE_CHECKING:  # annotations only: imported when the command runs
    import numpy as np

    from cervitrack.signal.samples import SampleBatch

#: Bytes fed to the decoder per call (a capture is decoded in chunks, as a stream would be).
CHUNK_BYTES = 1 << 20


def decode_bytes(data: bytes, protocol: str):
    """Decode ``data`` with a fresh decoder: (batch with ``t_s`` set, unwrapped seq, stats).

    Returns:
        batch: all samples; ``t_s`` (N,) in s as described in the module docstring.
        seq: int64 (N,) unwrapped sequence numbers.
        stats: the decoder's :class:`LinkStats` (trailing partial frames counted as skipped).
    """
    import numpy as np

    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.signal.samples import SampleBatch, concat
    from cervitrack.signal.unwrap import unwrap_clock, unwrap_counter

    decoder = make_decoder(protocol)
    batches = [decoder.feed(data[i:i + CHUNK_BYTES]) for i in range(0, len(data), CHUNK_BYTES)]
    batches.append(decoder.finish())
    decoder.flush()
    batch = concat(batches) if batches else SampleBatch.empty()
    seq = unwrap_counter(batch.seq, decoder.seq_modulus)
    if decoder.has_clock and len(batch):
        t_s = unwrap_clock(batch.t_device_s, decoder.clock_wrap_s)
    else:
        t_s = seq / float(decoder.nominal_rate_hz)
    return batch.with_(t_s=np.asarray(t_s, dtype=np.float64)), seq, decoder.stats


def _write_jsonl(out, batch: SampleBatch, seq: np.ndarray) -> None:
    present = [(name, getattr(batch, name).tolist()) for name, _ in CHANNELS
               if getattr(batch, name) is not None]
    t = batch.t_s.tolist()
    for i, s in enumerate(seq.tolist()):
        row = {"seq": s, "t_s": json_number(t[i])}
        for name, values in present:
            row[name] = [json_number(v) for v in values[i]]
        out.write(json.dumps(row) + "\n")


def _write_csv(out, batch: SampleBatch, seq: np.ndarray) -> None:
    present = [(name, cols) for name, cols in CHANNELS if getattr(batch, name) is not None]
    out.write(",".join(["t_s", "seq"] + [c for _, cols in present for c in cols]) + "\n")
    t = batch.t_s.tolist()
    values = [getattr(batch, name).tolist() for name, _ in present]
    for i, s in enumerate(seq.tolist()):
        cells = [repr(t[i]), str(s)]
        for v in values:
            cells += ["" if not math.isfinite(x) else repr(x) for x in v[i]]
        out.write(",".join(cells) + "\n")


def run(args) -> int:
    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.firmware_bridge.sniff import no_frame_message

    path = Path(args.file)
    make_decoder(args.protocol)  # validate the protocol before touching the file
    data = path.read_bytes()
    if not data:
        raise CliError(f"{path} is empty: there are no bytes to decode")
    batch, seq, stats = decode_bytes(data, args.protocol)
    if len(batch) == 0:
        raise CliError(no_frame_message(data, args.protocol))
    writer = _write_csv if args.format == "csv" else _write_jsonl
    writer(sys.stdout, batch, seq)
    sys.stdout.flush()
    print(f"frames={stats.frames} rejected={stats.rejected_frames} "
          f"skipped_bytes={stats.skipped_bytes}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("decode", help="decode a captured byte file to samples (jsonl or csv)")
    p.add_argument("file", help="the captured bytes")
    p.add_argument("--protocol", required=True, metavar="P",
                   help="protocol name, or NAME:OPTION (movella-dot:MODE, text:PRESET)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.set_defaults(func=run)
