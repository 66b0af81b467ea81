"""UDP transport: pose datagrams from phone apps and trackers (opentrack's UDP format).

opentrack's "UDP over network" output sends one 48-byte datagram per pose: 6 little-endian
float64 x, y, z (cm), yaw, pitch, roll (deg); default port 4242
(opentrack's ``proto-udp``). Each datagram becomes one :class:`Chunk`, stamped
with ``time.monotonic()`` when ``recvfrom`` returns, so datagram boundaries are kept.

UDP has no connection: a stall (the app stopped sending) marks one gap and the socket keeps
listening (``reconnect_on_stall = False``).
"""

from __future__ import annotations

import socket
import threading

from cervitrack.firmware_bridge.transports.base import LinkError, LinkLost, stamp

DEFAULT_PORT = 4242
MAX_DATAGRAM = 65535


class UdpDriver:
    """A bound UDP socket.

    Args:
        port: local port to listen on (0 picks a free one; see :attr:`bound_port`).
        host: local address to bind (default 127.0.0.1: this computer only; "0.0.0.0" for
            every interface, e.g. a phone on the network).
    """

    kind = "udp"
    reconnect_on_stall = False
    battery_pct = None

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"UDP port must be between 0 and 65535, not {port}")
        self.port = int(port)
        self.host = host
        self.bound_port: int | None = None
        self.senders: set[str] = set()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise LinkError(f"cannot listen on UDP port {self.port}: {exc.strerror or exc}") from None
        self.bound_port = sock.getsockname()[1]
        with self._lock:
            self._sock = sock

    def read(self, timeout_s: float) -> list:
        sock = self._sock
        if sock is None:
            raise LinkLost("UDP socket is closed")
        out = []
        try:
            sock.settimeout(timeout_s)
            data, addr = sock.recvfrom(MAX_DATAGRAM)
            out.append(stamp(data))
            self.senders.add(f"{addr[0]}:{addr[1]}")
            sock.settimeout(0.0)
            while len(out) < 256:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
                out.append(stamp(data))
        except (TimeoutError, BlockingIOError):
            pass
        except OSError as exc:
            raise LinkLost(f"UDP port {self.port}: {exc.strerror or exc}") from None
        return out

    @property
    def listening_text(self) -> str:
        """Where this socket listens, in words (printed when a command opens it)."""
        where = (f"UDP {self.host}:{self.port}" + (" (this computer only; udp:0.0.0.0:"
                 f"{self.port} accepts a phone or tracker on the network)"
                 if self.host.startswith("127.") else " (every network interface)"))
        return f"listening for {where}"

    def disconnect(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def metadata(self) -> dict:
        return {"host": self.host, "port": self.port, "bound_port": self.bound_port,
                "senders": sorted(self.senders)}
