"""``cervitrack stream --device SPEC``: decoded, time-mapped samples from a live device.

Prints one line per sample to stdout (``--format jsonl``, the default, or ``csv``) while the
link is supervised: stalls and disconnects are reconnected with backoff and each interruption
is reported once, as a ``{"gap": {...}}`` line in jsonl or a note on stderr in csv (so the csv
columns stay uniform). The gap is reported when the stream resumes, with the number of frames
lost according to the device's counter (-1 when unknown). The last stderr line is the link's
statistics: ``frames=N rejected=M skipped_bytes=K gaps=G reconnects=R lost_frames=L
rate_hz=X last_sample_age_s=Y battery_pct=Z``.

On connect a serial or BLE sensor is put in the mode the tests need (WitMotion unlock, 100 Hz,
output content; Movella DOT rate and filter profile; ``--rate``, ``--save-config``,
``--no-configure``; :mod:`cervitrack.firmware_bridge.profiles`). Over the first seconds the rate
the device really delivers is measured (:class:`cervitrack.firmware_bridge.supervisor.RateCheck`)
and one stderr line warns when it is below what a test needs.

``t_s`` is the sample time on the host monotonic clock (``time.monotonic()``), mapped from the
device clock or counter by the timebase (docs/timebase.md); for ``--device sim`` it is the
simulation's time. ``quat_wxyz`` is the device's own orientation (sensor to world, scalar
first), without any remapping.
"""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING

from cervitrack.trainer.commands import (
    add_device_argument,
    add_pace_arguments,
    check_duration,
    pace_speed,
)

if TYPE_CHECKING:  # annotations only: imported when the command runs
    from cervitrack.signal.samples import Gap, SampleBatch

#: SampleBatch channel → its csv columns, in output order (``stream`` and ``decode`` print
#: the same columns; jsonl uses the channel name with a list of the values).
CHANNELS = (
    ("quat_wxyz", ("quat_w", "quat_x", "quat_y", "quat_z")),
    ("acc_m_s2", ("acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2")),
    ("gyr_rad_s", ("gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s")),
    ("mag_uT", ("mag_x_uT", "mag_y_uT", "mag_z_uT")),
    ("mag_raw", ("mag_x_raw", "mag_y_raw", "mag_z_raw")),
)


def json_number(x: float):
    """``x`` for JSON: None (null) when it is NaN or infinite."""
    return x if math.isfinite(x) else None


class SampleWriter:
    """Formats timed samples and gaps as jsonl or csv lines (csv: gaps go to ``notes``)."""

    def __init__(self, out, fmt: str, notes) -> None:
        self.out = out
        self.fmt = fmt
        self.notes = notes
        self._columns: tuple[str, ...] | None = None

    def samples(self, batch: SampleBatch) -> None:
        import numpy as np

        present = [name for name, _ in CHANNELS if getattr(batch, name) is not None]
        seq = batch.seq.tolist()
        t = np.round(batch.t_s, 6).tolist()
        values = {name: np.round(getattr(batch, name), 6).tolist() for name in present}
        lines = []
        if self.fmt == "jsonl":
            for i, s in enumerate(seq):
                row = {"seq": s, "t_s": json_number(t[i])}
                for name in present:
                    row[name] = [json_number(v) for v in values[name][i]]
                lines.append(json.dumps(row))
        else:
            if self._columns is None:
                self._columns = tuple(present)
                header = ["t_s", "seq"] + [c for name, cols in CHANNELS if name in present
                                           for c in cols]
                lines.append(",".join(header))
            for i, s in enumerate(seq):
                cells = [repr(t[i]), str(s)]
                for name in self._columns:
                    xs = values[name][i] if name in values else [math.nan] * len(
                        dict(CHANNELS)[name])
                    cells += ["" if not math.isfinite(x) else repr(x) for x in xs]
                lines.append(",".join(cells))
        if lines:
            self.out.write("\n".join(lines) + "\n")

    def gap(self, gap: Gap, lost_frames: int) -> None:
        doc = {"t_host_s": round(gap.t_host_s, 6), "reason": gap.reason,
               "lost_frames": lost_frames}
        if self.fmt == "jsonl":
            self.out.write(json.dumps({"gap": doc}) + "\n")
        else:
            print(f"cervitrack: gap ({gap.reason}) at t_host_s={doc['t_host_s']}, "
                  f"{lost_frames} frames lost", file=self.notes)


def stream_source(source, protocol: str | None, duration_s: float | None, out, fmt: str,
                  notes=sys.stderr, rate_check=None) -> dict:
    """Stream ``source`` to ``out`` until ``duration_s`` of the source's time has passed (None:
    until interrupted or the source ends). Returns the final link statistics."""
    import numpy as np

    from cervitrack.firmware_bridge.decoding import TimedDecoder
    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.firmware_bridge.sniff import NoFrameWatch
    from cervitrack.firmware_bridge.supervisor import RateCheck, StreamStats, link_stats
    from cervitrack.signal.samples import Chunk, Gap, SampleBatch

    protocol = protocol or source.protocol
    if not protocol:
        raise ValueError("this device source needs --protocol")
    decoder = make_decoder(protocol)
    timed = TimedDecoder(decoder)
    watch = NoFrameWatch(protocol)
    stats = StreamStats()
    writer = SampleWriter(out, fmt, notes)
    rates = rate_check if rate_check is not None else RateCheck(decoder.has_clock)
    pending_gap: Gap | None = None
    last_seq: int | None = None
    lost_frames = 0
    t_first = math.nan

    def emit(processed) -> None:
        nonlocal pending_gap, last_seq, lost_frames
        for item in processed:
            if isinstance(item, Gap):
                stats.on_gap(item)
                if pending_gap is None:
                    pending_gap = item
                continue
            seq = item.seq
            if last_seq is not None:
                jumps = np.diff(np.concatenate([[last_seq], seq])) - 1
                missing = int(jumps[jumps > 0].sum())
                lost_frames += missing
                if pending_gap is not None:
                    writer.gap(pending_gap, int(max(0, jumps[0])))
                    pending_gap = None
            elif pending_gap is not None:
                writer.gap(pending_gap, -1)
                pending_gap = None
            last_seq = int(seq[-1])
            stats.on_samples(item)
            slow = rates.on_samples(item)
            if slow:
                print(f"cervitrack: warning: {slow}", file=notes)
            writer.samples(item)

    try:
        for items in source.polls():
            now = source.now_s()
            if math.isnan(t_first):
                t_first = now
            processed = timed.process(items)
            emit(processed)
            warning = watch.see(b"".join(i.data for i in items if isinstance(i, Chunk)),
                                sum(len(x) for x in processed if isinstance(x, SampleBatch)))
            if warning:
                print(f"cervitrack: warning: {warning}", file=notes)
            out.flush()
            if duration_s is not None and math.isfinite(now) and now - t_first >= duration_s:
                break
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    emit(timed.finish())
    if pending_gap is not None:
        writer.gap(pending_gap, -1)
    out.flush()
    now = source.now_s()
    result = link_stats(stats, now, decoder.stats, getattr(source, "supervisor", None))
    result["lost_frames"] = lost_frames
    result["measured_rate_hz"] = rates.rate_hz
    return result


def format_stats(stats: dict) -> str:
    def num(x, digits):
        return "nan" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"

    battery = stats.get("battery_pct")
    return (f"frames={stats['frames']} rejected={stats['rejected_frames']} "
            f"skipped_bytes={stats['skipped_bytes']} gaps={stats['gaps']} "
            f"reconnects={stats['reconnects']} lost_frames={stats['lost_frames']} "
            f"rate_hz={num(stats['rate_hz'], 2)} "
            f"last_sample_age_s={num(stats['last_sample_age_s'], 3)} "
            f"battery_pct={'none' if battery is None else num(battery, 0)}")


def run(args) -> int:
    check_duration("--duration", args.duration)
    from cervitrack.firmware_bridge.protocols import make_decoder
    from cervitrack.trainer.live.devices import open_device

    if args.protocol is not None:
        make_decoder(args.protocol)  # a bad protocol name is reported before opening a device
    options = {"protocol": args.protocol, "baud": args.baud,
               "speed": pace_speed(args, 1.0), "seed": args.seed,
               "sim_config": args.sim_config, "configure": not args.no_configure,
               "rate_hz": args.rate, "save_config": args.save_config}
    source = open_device(args.device, **options)
    listening = getattr(getattr(source, "driver", None), "listening_text", None)
    if listening:
        print(f"cervitrack: {listening}", file=sys.stderr)
    if args.lsl:
        from cervitrack.trainer.recording.live import TappedSource

        source = TappedSource(source, args.protocol)
    stats = stream_source(source, args.protocol, args.duration, sys.stdout, args.format)
    print(format_stats(stats), file=sys.stderr)
    return 0


def add_config_arguments(p) -> None:
    """``--rate``, ``--save-config``, ``--no-configure`` (sensor configuration on connect)."""
    p.add_argument("--rate", type=float, metavar="HZ",
                   help="serial/BLE: the rate to set on connect (default: 100 Hz WitMotion, "
                        "60 Hz Movella DOT)")
    p.add_argument("--save-config", action="store_true",
                   help="serial/BLE: save the configuration in the sensor (default: it lasts "
                        "until the sensor is switched off)")
    p.add_argument("--no-configure", action="store_true",
                   help="serial/BLE: send the sensor no configuration, stream it as it is")


def register(sub) -> None:
    p = sub.add_parser("stream", help="print decoded, time-mapped samples from a device")
    add_device_argument(p)
    p.add_argument("--protocol", metavar="P",
                   help="wire protocol (default: the device's own, or recognised)")
    p.add_argument("--baud", type=int, metavar="B", help="serial line speed (default: the "
                   "protocol's usual speed, 115200 for most)")
    p.add_argument("--duration", type=float, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    add_pace_arguments(p, default="real time")
    p.add_argument("--seed", type=int, help="sim: simulation seed")
    p.add_argument("--sim-config", metavar="FILE.toml", help="sim: simulator settings")
    add_config_arguments(p)
    p.add_argument("--lsl", action="store_true",
                   help="also stream head orientation and angles over LSL (needs pylsl)")
    p.set_defaults(func=run)
