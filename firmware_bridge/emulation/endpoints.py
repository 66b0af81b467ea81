"""Real transports for emulated devices: a pseudo-terminal (serial devices) and a UDP sender.

Both have the same small interface: ``send(data) -> bool`` (False when the bytes could not be
delivered), ``receive() -> bytes`` (what the host wrote, never blocking), ``close()``, and a
``description`` for the user.

:class:`PtyEndpoint` opens a pseudo-terminal pair with :func:`os.openpty` and puts it in raw mode
(no echo, no line editing, no CR/LF translation), so the host reading the slave side
(``/dev/pts/N``) with pyserial sees exactly the device's bytes, and what it writes arrives
unchanged. The master side is non-blocking: when no host reads and the kernel's buffer is
full, new bytes are dropped and counted, as a UART's bytes are lost when nobody listens (a
blocking write would stall the device's clock instead). The emulator keeps its own slave
descriptor open so the pty survives a host closing and reopening the port.
"""

from __future__ import annotations

import os
import socket
import termios
import tty


class PtyEndpoint:
    """A pseudo-terminal whose slave path (:attr:`path`) a host opens as a serial port."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        tty.setraw(self._master, termios.TCSANOW)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.description = f"serial port {self.path}"
        self.dropped_bytes = 0

    def send(self, data: bytes) -> bool:
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError:  # the pty is being torn down
            written = 0
        self.dropped_bytes += len(data) - written
        return written == len(data)

    def receive(self) -> bytes:
        chunks = []
        while True:
            try:
                data = os.read(self._master, 4096)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class UdpEndpoint:
    """Datagrams to ``host:port`` (one per :meth:`send`), as opentrack's UDP output sends them.
    Datagrams the host sends back to the emulator's port are returned by :meth:`receive`."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"UDP port must be between 1 and 65535, not {port}")
        self.address = (host, int(port))
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self.description = f"UDP to {host}:{int(port)}"
        self.dropped_bytes = 0

    def send(self, data: bytes) -> bool:
        try:
            self._sock.sendto(data, self.address)
            return True
        except OSError:  # nobody listening (ICMP refused) or buffer full: the datagram is lost
            self.dropped_bytes += len(data)
            return False

    def receive(self) -> bytes:
        chunks = []
        while True:
            try:
                data, _ = self._sock.recvfrom(65535)
            except OSError:
                break
            chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        self._sock.close()
