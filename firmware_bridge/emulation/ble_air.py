"""The virtual radio ("the air") for emulated BLE devices.

:class:`VirtualAir` runs Bumble virtual LE controllers (Bumble emulates their link layer) on one
``LocalLink``, in its own thread and event loop. Each controller is served to one Bluetooth host
at a time over loopback TCP with H4 framing, on an ephemeral port chosen by the operating
system; a host reaches it with the Bumble transport ``tcp-client:127.0.0.1:PORT``
(:meth:`VirtualAir.transport`). A host is either an emulated peripheral
(:mod:`~cervitrack.firmware_bridge.emulation.ble_peripherals`) or the central that Cervitrack
drives through bleak (:mod:`~cervitrack.firmware_bridge.emulation.bleak_backend`).

TCP rather than an in-process pipe because Bumble's link and controllers live on one asyncio
loop while Cervitrack's BLE driver owns another (in its own thread), and so that a peripheral
may live in another process (``cervitrack emulate``). Only 127.0.0.1 is ever bound.

Not emulated: connection-interval timing (a notification is delivered as soon as it is sent,
without the batching of real links), radio loss, and RSSI (fixed).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class VirtualAir:
    """``n_controllers`` virtual controllers sharing one link, each on a loopback TCP port.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Stop the hosts (peripherals,
    drivers) first: a host whose controller disappears logs a lost transport.
    """

    def __init__(self, n_controllers: int = 2) -> None:
        if n_controllers < 1:
            raise ValueError("the virtual air needs at least one controller")
        self.n_controllers = n_controllers
        self.ports: list[int] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="cervitrack-ble-air", daemon=True)
        self._host_ports: list[_HostPort] = []
        self.controllers: list = []

    def __enter__(self) -> VirtualAir:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout_s: float = 10.0) -> VirtualAir:
        """Open the controllers; returns self once every port accepts connections."""
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("the virtual BLE air did not start")
        if self._error is not None:
            raise self._error
        return self

    def transport(self, index: int) -> str:
        """The Bumble transport spec of controller ``index`` (``tcp-client:127.0.0.1:PORT``)."""
        return f"tcp-client:{HOST}:{self.ports[index]}"

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._open())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    async def _open(self) -> None:
        from bumble.controller import Controller
        from bumble.link import LocalLink

        link = LocalLink()
        loop = asyncio.get_running_loop()
        for i in range(self.n_controllers):
            port = _HostPort()
            port.controller = Controller(f"C{i}", host_sink=port, link=link)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            self.ports.append(sock.getsockname()[1])
            port.server = await loop.create_server(functools.partial(_HostConnection, port),
                                                   sock=sock)
            self._host_ports.append(port)
            self.controllers.append(port.controller)

    async def _close(self) -> None:
        for port in self._host_ports:
            port.server.close()
            if port.current is not None:
                port.current.close()
        for port in self._host_ports:
            await port.server.wait_closed()

    def stop(self) -> None:
        """Close every port and stop the thread (idempotent)."""
        if self._loop.is_closed() or not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5.0)
        except Exception as exc:  # closing anyway
            log.debug("virtual air close: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)


async def open_hci(spec: str):
    """A Bumble HCI transport (``open_transport``), with Nagle's algorithm off on TCP: H4
    packets are small and answered one by one, so delayed ACKs would add ~40 ms per ATT round
    trip."""
    from bumble.transport import open_transport

    transport = await open_transport(spec)
    _no_delay(getattr(transport.sink, "transport", None))
    return transport


async def settle(device, timeout_s: float = 1.0) -> None:
    """Wait until a Bumble device's host has had no HCI command in flight for two 10 ms
    checks in a row (at most ``timeout_s``). Closing a transport under a pending command makes
    Bumble fail the command twice, which asyncio logs as a stray traceback."""
    quiet = 0
    for _ in range(max(1, int(timeout_s / 0.01))):
        quiet = quiet + 1 if device.host.pending_command is None else 0
        if quiet >= 2:
            return
        await asyncio.sleep(0.01)


def _no_delay(transport) -> None:
    sock = None if transport is None else transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _HostPort:
    """The controller's HCI sink towards its host: the TCP connection accepted last.

    (Bumble's own ``tcp-server`` transport forgets a new host when the previous one's
    connection-lost callback arrives after it, which happens when a host reconnects at once.)
    """

    def __init__(self) -> None:
        self.controller: Any = None
        self.server: Any = None
        self.current: asyncio.Transport | None = None

    def on_packet(self, packet: bytes) -> None:
        if self.current is not None:
            self.current.write(packet)


class _HostConnection(asyncio.Protocol):
    """One host's TCP connection: H4 packets in, through a parser of its own, to the controller."""

    def __init__(self, port: _HostPort) -> None:
        from bumble.transport.common import StreamPacketSource

        self.port = port
        self.transport: asyncio.Transport | None = None
        self.source = StreamPacketSource()
        self.source.set_packet_sink(port.controller)

    def connection_made(self, transport) -> None:
        self.transport = transport
        _no_delay(transport)
        self.port.current = transport

    def data_received(self, data: bytes) -> None:
        self.source.data_received(data)

    def connection_lost(self, exc) -> None:
        if self.port.current is self.transport:
            self.port.current = None
