"""The Recorder: append-only, crash-safe writing of a session recording.

Durability policy
-----------------
Records are encoded in memory and appended to the file by one ``os.write`` per flush. A flush
happens at the latest ``flush_interval_s`` (default 0.1 s, wall clock) after the oldest
unwritten record was fed: a background thread wakes every ``flush_interval_s`` and flushes
whatever is pending, so a stalled source never holds data back; a large backlog (1 MiB) is
written at once. ``os.write`` hands the bytes to the operating system, which keeps them if the
process dies (``kill -9``, a crash, a power-cut of the program only). With ``fsync=True`` (the
default) every flush is followed by ``os.fsync``, so the bytes also survive an operating-system
crash or a power loss; the cost is one disk sync per flush (a few per second), negligible next
to the value of the data. A torn final write (power loss mid-write) leaves a truncated tail
that readers detect and skip.

So a crash loses at most the records fed during the last ``flush_interval_s`` (plus whatever
the source itself had not yet delivered).

The wall clock is used only to schedule I/O; nothing recorded depends on it, except the
``created_utc`` stamp in the header.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
import uuid
from pathlib import Path

from cervitrack.signal.samples import Chunk, Gap, SampleBatch
from cervitrack.trainer.recording import format as fmt

#: Default flush interval, s. Must stay ≤ 0.5 s (the product's crash-loss promise).
DEFAULT_FLUSH_INTERVAL_S = 0.1
_BACKLOG_BYTES = 1 << 20


def software_metadata() -> dict:
    """Versions of Cervitrack and its numeric dependencies (for the header)."""
    import importlib.metadata
    import platform
    import sys

    import cervitrack

    versions: dict[str, str | None] = {
        "cervitrack": cervitrack.__version__, "python": sys.version.split()[0],
        "platform": platform.platform()}
    for name in ("numpy", "scipy", "vqf"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class Recorder:
    """Write one recording: a header, then chunks, gaps, sample batches, events, metadata.

    Args:
        path: the new file (must not exist; recordings are never overwritten). Created with
            mode 0600 (health data).
        metadata: the header: device, protocol, firmware, calibration, settings... Keys
            ``format``, ``format_version``, ``recording_id``, ``created_utc`` and
            ``created_monotonic_s`` are set; ``software`` and ``host_clock`` ("monotonic", or
            "simulated" when the source's host times are simulated) are defaulted.
            ``protocol`` names the decoder of the recorded chunks
            (:func:`cervitrack.firmware_bridge.protocols.make_decoder`).
        flush_interval_s: longest time a fed record stays in memory, s (0 < x ≤ 0.5).
        fsync: sync to the disk after each flush (see the module docstring).

    Thread safety: :meth:`write` and friends may be called from one producer thread; the
    internal flusher thread swaps the pending buffer under a short lock and writes outside
    it, so producers (e.g. a BLE callback) never wait for a disk sync.
    """

    def __init__(self, path, metadata: dict | None = None, *,
                 flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S, fsync: bool = True) -> None:
        if not 0 < flush_interval_s <= 0.5:
            raise ValueError(f"flush interval {flush_interval_s} s outside (0, 0.5] s")
        self.path = Path(path)
        self.flush_interval_s = float(flush_interval_s)
        self.fsync = bool(fsync)
        self.counts = {name: 0 for name in fmt.KIND_NAMES.values()}
        self.bytes_written = 0
        self.flushes = 0
        self._pending = bytearray()
        self._lock = threading.Lock()  # guards _pending and counts
        self._io_lock = threading.Lock()  # orders writes to the file
        self._error: BaseException | None = None
        self._closed = False
        header = dict(metadata or {})
        header.update({
            "format": "cervitrack-recording",
            "format_version": fmt.VERSION,
            "recording_id": uuid.uuid4().hex,
            # The same instant on both clocks: maps host monotonic times to UTC.
            "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds"),
            "created_monotonic_s": time.monotonic(),
        })
        header.setdefault("host_clock", "monotonic")
        header.setdefault("software", software_metadata())
        # The header is written twice: one flipped bit in the first record must not cost the
        # whole file its protocol and test settings (the reader falls back to the copy).
        header_bytes = (fmt.FILE_HEADER + fmt.encode_meta(header)
                        + fmt.encode_meta({**header, fmt.HEADER_COPY_KEY: True}))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND,
                               0o600)
        except FileExistsError:
            raise FileExistsError(f"{self.path} already exists; recordings are never "
                                  "overwritten") from None
        self.counts["meta"] += 2
        try:
            self._write_now(header_bytes)
            self._sync_dir()
        except OSError:
            os.close(self._fd)
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, name="recorder-flush",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ feeding

    def write(self, item) -> None:
        """Record a :class:`Chunk`, :class:`Gap`, :class:`SampleBatch`, :class:`format.Step`
        or event dict."""
        if isinstance(item, Chunk):
            self.chunk(item)
        elif isinstance(item, Gap):
            self.gap(item)
        elif isinstance(item, SampleBatch):
            self.samples(item)
        elif isinstance(item, dict):
            self.event(item)
        elif isinstance(item, fmt.Step):
            self.step(item.t_host_s)
        else:
            raise TypeError(f"cannot record a {type(item).__name__}")

    def chunk(self, chunk: Chunk) -> None:
        self._append("chunk", fmt.encode_chunk(chunk))

    def gap(self, gap: Gap) -> None:
        self._append("gap", fmt.encode_gap(gap))

    def samples(self, batch: SampleBatch) -> None:
        if len(batch):
            self._append("samples", fmt.encode_samples(batch))

    def step(self, t_host_s: float) -> None:
        """Mark a pipeline-step boundary: the items since the previous step were processed
        together at host time ``t_host_s`` (s). Replay repeats the same steps."""
        self._append("step", fmt.encode_step(fmt.Step(float(t_host_s))))

    def event(self, event: dict) -> None:
        """An event dict ``{"t_s": float, "kind": str, ...}`` (JSON-serialisable)."""
        self._append("event", fmt.encode_event(event))

    def metadata(self, update: dict) -> None:
        """Add or update header keys (e.g. calibration after it is captured)."""
        self._append("meta", fmt.encode_meta(update))

    # ------------------------------------------------------------------ flushing

    def flush(self) -> None:
        """Write everything pending to the OS now (and fsync when enabled)."""
        self._flush()
        self._raise_error()

    def close(self, summary: dict | None = None) -> None:
        """Flush, append the END record (a clean close), sync and close. Idempotent."""
        if self._closed:
            return
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._closed = True
            if self._error is None:
                end = {"records": dict(self.counts), **(summary or {})}
                self.counts["end"] += 1
                self._pending += fmt.encode_end(end)
        try:
            self._flush(force_sync=True)
        finally:
            os.close(self._fd)
        self._raise_error()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(None if exc_type is None else {"aborted": exc_type.__name__})

    # ------------------------------------------------------------------ internals

    def _append(self, kind_name: str, record: bytes) -> None:
        self._raise_error()
        if self._closed:
            raise ValueError(f"recording {self.path} is closed")
        with self._lock:
            self._pending += record
            self.counts[kind_name] += 1
            backlog = len(self._pending) >= _BACKLOG_BYTES
        if backlog:
            self._flush()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self._flush()

    def _flush(self, force_sync: bool = False) -> None:
        """Write the pending bytes. The I/O lock keeps writes in order; the buffer lock is
        held only to swap the buffer, so a producer never waits for a disk sync."""
        with self._io_lock:
            with self._lock:
                if self._error is not None or (not self._pending and not force_sync):
                    return
                data, self._pending = bytes(self._pending), bytearray()
            try:
                self._write_now(data, sync=self.fsync or force_sync)
            except OSError as exc:  # disk full, device gone: surface it to the producer
                self._error = exc

    def _write_now(self, data: bytes, sync: bool = True) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if sync:
            os.fsync(self._fd)
        self.bytes_written += len(data)
        self.flushes += 1

    def _sync_dir(self) -> None:
        """Make the new file's directory entry durable too (POSIX; a no-op elsewhere)."""
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise OSError(f"writing {self.path} failed: {self._error}")
