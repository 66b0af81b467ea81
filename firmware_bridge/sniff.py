"""Which protocol are these bytes? Try every registered decoder and rank them.

Used when the chosen protocol finds no valid frame: ``cervitrack decode`` exits with one line,
``cervitrack stream`` and the app warn, naming the protocols whose frames were found instead
("no valid frame in 4096 bytes: is this a witmotion-serial device?"). Pure: bytes in, names out.
"""

from __future__ import annotations

from dataclasses import dataclass

from cervitrack.firmware_bridge.protocols import DECODERS, make_decoder
from cervitrack.firmware_bridge.protocols.movella_dot import MODES as DOT_MODES

#: Bytes examined at most (a few seconds of any protocol here).
SNIFF_BYTES = 16384
#: Bytes a stream may deliver without one valid frame before the warning.
NO_FRAME_WARN_BYTES = 4096
#: A candidate must decode at least this many samples to be named.
MIN_SAMPLES = 2


def candidate_protocols() -> list[str]:
    """Every registered protocol, and each Movella DOT payload mode (the layout differs)."""
    names = [n for n in sorted(DECODERS) if n != "movella-dot"]
    return names + [f"movella-dot:{m}" for m in sorted(DOT_MODES)]


@dataclass(frozen=True)
class Candidate:
    protocol: str
    samples: int
    #: Fraction of the examined bytes inside accepted frames (skipped bytes excluded).
    coverage: float


def sniff(data: bytes, exclude: str | None = None) -> list[Candidate]:
    """Protocols whose decoders find valid frames in ``data[:SNIFF_BYTES]``, best first.

    Ranked by the share of bytes their frames cover, then by samples decoded; header-less
    decoders that lock onto a few chance records in foreign bytes cover little and rank low.
    ``exclude``: a protocol to leave out (the one that already failed, base name or full).
    """
    data = bytes(data[:SNIFF_BYTES])
    if not data:
        return []
    skip = None if exclude is None else exclude.partition(":")[0]
    found = []
    for name in candidate_protocols():
        if exclude is not None and (name == exclude or name.partition(":")[0] == skip):
            continue
        decoder = make_decoder(name)
        n = len(decoder.feed(data)) + len(decoder.finish())
        if n < MIN_SAMPLES:
            continue
        used = len(data) - decoder.stats.skipped_bytes - len(getattr(decoder, "_buf", b""))
        found.append(Candidate(name, n, max(0.0, used / len(data))))
    found.sort(key=lambda c: (-round(c.coverage, 2), -c.samples, c.protocol))
    return found


def no_frame_message(data: bytes, protocol: str, n_bytes: int | None = None) -> str:
    """The one-line report: no valid ``protocol`` frame in N bytes, and what they look like."""
    n = len(data) if n_bytes is None else n_bytes
    ranked = sniff(data, exclude=protocol)
    # Name only the protocols that explain (nearly) all the bytes: header-less decoders can
    # read most of another protocol's stream as chance records, never all of it.
    best = ranked[0].coverage if ranked else 0.0
    found = [c for c in ranked if c.coverage >= max(0.5, best - 0.02)]
    head = f"no valid {protocol} frame in {n} bytes"
    if not found:
        return f"{head}; no other known protocol's frames were found in them either"
    names = " or ".join(c.protocol for c in found[:3])
    return f"{head}: is this a {names} device? (try --protocol {found[0].protocol})"


class NoFrameWatch:
    """Warns once when a stream has delivered ``limit`` bytes and not one valid sample.

    Call :meth:`see` with each batch of chunk bytes and the number of samples they gave; it
    returns the message the first time the condition holds, else None.
    """

    def __init__(self, protocol: str, limit: int = NO_FRAME_WARN_BYTES) -> None:
        self.protocol = protocol
        self.limit = limit
        self.bytes_seen = 0
        self.samples_seen = 0
        self.message: str | None = None
        self._head = bytearray()
        self._done = False

    def see(self, data: bytes, samples: int) -> str | None:
        if self._done:
            return None
        self.samples_seen += samples
        if self.samples_seen:
            self._done = True
            return None
        self.bytes_seen += len(data)
        if len(self._head) < SNIFF_BYTES:
            self._head += data[:SNIFF_BYTES - len(self._head)]
        if self.bytes_seen < self.limit:
            return None
        self._done = True
        self.message = no_frame_message(bytes(self._head), self.protocol, self.bytes_seen)
        return self.message
