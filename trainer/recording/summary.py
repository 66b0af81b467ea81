"""What ``cervitrack inspect`` reports about a recording (a plain, JSON-ready dict)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from cervitrack.trainer.recording.decode import decode_recording


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def summarise(recording) -> dict:
    """Counts, times, rate, gaps, events and integrity of a loaded recording.

    Keys (units in names): ``samples``, ``duration_s`` (first to last sample time),
    ``rate_hz`` (effective: (samples − 1) / duration), ``nominal_rate_hz``, ``chunks``,
    ``chunk_bytes``, ``host_first_s`` / ``host_last_s`` (host monotonic arrival time of the
    first and last chunk, s), ``gaps`` (count), ``lost_frames`` (sum of known losses from gap
    markers and counter jumps), ``rejected_frames``, ``events`` (count), ``event_kinds``,
    ``protocol``, ``device``, ``created_utc``, ``software``, ``integrity`` (see
    :class:`cervitrack.trainer.recording.format.Integrity`).
    """
    decoded = decode_recording(recording)
    samples = decoded.samples
    n = len(samples)
    t = samples.t_s if n and np.all(np.isfinite(samples.t_s)) else samples.t_device_s
    duration_s = (_finite(t[-1] - t[0]) or 0.0) if n >= 2 else 0.0
    rate_hz = (n - 1) / duration_s if n >= 2 and duration_s else None
    chunks = recording.chunks
    hosts = [c.t_host_s for c in chunks if math.isfinite(c.t_host_s)]
    if not hosts and n:
        hosts = [float(v) for v in samples.t_host_s[np.isfinite(samples.t_host_s)]]
    seq_lost = 0
    if n >= 2:
        steps = np.diff(samples.seq)
        seq_lost = int(np.sum(steps[steps > 1] - 1))
    gap_lost = sum(g.lost_frames for g in decoded.gaps if g.lost_frames > 0)
    meta = recording.metadata
    return {
        "path": str(recording.path),
        "samples": n,
        "duration_s": duration_s,
        "rate_hz": rate_hz,
        "nominal_rate_hz": decoded.nominal_rate_hz,
        "chunks": len(chunks),
        "steps": len(recording.steps),
        "chunk_bytes": sum(len(c.data) for c in chunks),
        "host_first_s": hosts[0] if hosts else None,
        "host_last_s": hosts[-1] if hosts else None,
        "gaps": len(decoded.gaps),
        "gap_reasons": dict(Counter(g.reason for g in decoded.gaps)),
        "lost_frames": max(seq_lost, gap_lost),
        "rejected_frames": decoded.stats.rejected_frames,
        "skipped_bytes": decoded.stats.skipped_bytes,
        "events": len(recording.events),
        "event_kinds": dict(Counter(str(e.get("kind")) for e in recording.events)),
        "protocol": recording.protocol,
        "device": meta.get("device"),
        "created_utc": meta.get("created_utc"),
        "software": meta.get("software"),
        "integrity": recording.integrity.as_dict(),
    }


def format_text(summary: dict) -> str:
    """A short human-readable report of :func:`summarise`'s dict."""
    integ = summary["integrity"]
    if integ["status"] == "ok":
        state = "ok" + ("" if integ["closed"] else " (not closed cleanly: writer stopped early)")
    else:
        parts = []
        if integ["corrupt_regions"] or integ["undecodable_records"]:
            parts.append(f"{integ['corrupt_regions']} corrupt region(s), "
                         f"{integ['corrupt_bytes']} B skipped"
                         + (f", {integ['undecodable_records']} undecodable record(s)"
                            if integ["undecodable_records"] else ""))
        if integ["truncated_at"] is not None:
            parts.append(f"truncated tail at byte {integ['truncated_at']} "
                         f"({integ['truncated_bytes']} B skipped"
                         + (", damage too dense to search further" if
                            integ.get("resync_budget_exhausted") else "") + ")")
        state = integ["status"] + ": " + "; ".join(parts)
    if integ.get("header_lost"):
        state += ("; header damaged, read from its copy" if integ.get("header_from_copy") else
                  "; header damaged and no copy: protocol and test settings lost "
                  "(name the protocol with --protocol)")
    rate = f"{summary['rate_hz']:.2f} Hz" if summary["rate_hz"] else "n/a"
    device = summary["device"] or {}
    device_text = device.get("spec") if isinstance(device, dict) else str(device)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary["event_kinds"].items()))
    lines = [
        f"recording  {summary['path']}",
        f"created    {summary['created_utc'] or 'unknown'}",
        f"device     {device_text or 'unknown'} (protocol {summary['protocol'] or 'none'})",
        f"samples    {summary['samples']}",
        f"duration   {summary['duration_s']:.3f} s",
        f"rate       {rate} (nominal {summary['nominal_rate_hz'] or 'n/a'} Hz)",
        f"gaps       {summary['gaps']} (lost frames {summary['lost_frames']})",
        f"events     {summary['events']}" + (f" ({kinds})" if kinds else ""),
        f"integrity  {state}",
    ]
    return "\n".join(lines)
