"""The transport interface, the supervised reader thread, and the live device source.

A *driver* talks to one kind of link (serial port, BLE peripheral, UDP socket). It is
blocking and owns no thread of its own:

- ``connect()``: open the link; raise :class:`LinkError` when the attempt failed (it is
  retried), :class:`LinkUnavailable` when retrying cannot help (Bluetooth switched off).
- ``read(timeout_s) -> list[Chunk]``: bytes that arrived, each stamped with the host
  monotonic time (``time.monotonic()``) at arrival; ``[]`` after ``timeout_s`` of silence;
  raise :class:`LinkLost` when the link dropped.
- ``disconnect()``: close; never raises.
- ``metadata() -> dict``: JSON-ready facts about the device and link.
- Attributes ``kind`` (``serial``, ``ble``, ``udp``), ``reconnect_on_stall`` and
  ``battery_pct`` (None unless the device reports it).

:class:`LinkRunner` runs a driver in its own reader thread under a
:class:`~cervitrack.firmware_bridge.supervisor.LinkSupervisor` and puts :class:`Chunk` and
:class:`Gap` items, in arrival order, into a thread-safe queue. :class:`LiveSource` exposes a
runner as a device source (:mod:`cervitrack.firmware_bridge.device_spec`): ``polls()`` drains
the queue every ``poll_s`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time

from cervitrack.firmware_bridge.supervisor import (
    CONNECT,
    DISCONNECT,
    LinkSupervisor,
    SupervisorParams,
)
from cervitrack.firmware_bridge.transports.bounded import ItemQueue
from cervitrack.signal.samples import Chunk, Gap

log = logging.getLogger(__name__)


class LinkError(OSError):
    """A connection attempt failed or a link cannot be used; retried by the runner."""


class LinkUnavailable(LinkError):
    """Retrying cannot help (e.g. Bluetooth is off or not permitted); the message says why,
    in words a patient understands."""


class LinkLost(LinkError):
    """An open link dropped (port removed, BLE disconnect, read error)."""


class LinkRunner:
    """The reader thread: connects, reads, detects stalls, reconnects, marks gaps.

    Args:
        driver: see the module docstring.
        nominal_rate_hz: the device's nominal sample rate (sets the stall timeout).
        params: supervision settings.
        wait_for_device: keep retrying when the very first connection fails. When False (the
            default for the command line), a first failure ends the runner and its message is
            raised from :meth:`raise_if_failed`: a wrong port name should be reported at once.
        read_timeout_s: longest blocking read, s (bounds the reaction time to stop()).
    """

    def __init__(self, driver, nominal_rate_hz: float,
                 params: SupervisorParams = SupervisorParams(), *,
                 wait_for_device: bool = False, read_timeout_s: float = 0.05) -> None:
        self.driver = driver
        self.supervisor = LinkSupervisor(nominal_rate_hz, params,
                                         reconnect_on_stall=driver.reconnect_on_stall)
        self.wait_for_device = wait_for_device
        self.read_timeout_s = read_timeout_s
        self.items = ItemQueue()
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cervitrack-{driver.kind}-link",
                                        daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and close the link."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.supervisor.on_closed()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def raise_if_failed(self) -> None:
        """Re-raise a fatal failure of the reader thread in the caller's thread."""
        if self.failure is not None:
            raise self.failure

    def drain(self, timeout_s: float) -> list:
        """Items queued so far, waiting up to ``timeout_s`` for the first one."""
        return self.items.get_all(timeout_s)

    def _emit(self, items) -> None:
        for item in items:
            self.items.put(item)

    def _run(self) -> None:
        sup = self.supervisor
        try:
            while not self._stop.is_set():
                if sup.state == "connected":
                    # Read before judging a stall: after a scheduling hiccup, bytes waiting in
                    # the OS buffer prove the link alive.
                    try:
                        chunks = self.driver.read(self.read_timeout_s)
                    except LinkLost as exc:
                        log.info("%s link lost: %s", self.driver.kind, exc)
                        self._emit(sup.on_lost(time.monotonic(), str(exc)))
                        self.driver.disconnect()
                        continue
                    for chunk in chunks:
                        sup.on_bytes(chunk.t_host_s, len(chunk.data))
                        self.items.put(chunk)
                    sup.battery_pct = getattr(self.driver, "battery_pct", None)
                now = time.monotonic()
                action, gaps = sup.poll(now)
                self._emit(gaps)
                if action == DISCONNECT:
                    self.driver.disconnect()
                elif action == CONNECT:
                    self._connect()
                elif sup.state != "connected":
                    self._stop.wait(min(0.05, max(0.0, sup.retry_at_s - now)))
        except LinkUnavailable as exc:
            self.failure = exc
        except Exception as exc:  # a driver bug: report it to the consumer, never hang
            log.exception("%s link failed", self.driver.kind)
            self.failure = LinkError(f"{self.driver.kind} link failed: {exc}")
        finally:
            self.driver.disconnect()

    def _connect(self) -> None:
        sup = self.supervisor
        try:
            self.driver.connect()
        except LinkUnavailable:
            raise
        except OSError as exc:
            if sup.connects == 0 and not self.wait_for_device:
                self.failure = exc
                self._stop.set()
                return
            log.info("%s connect failed: %s", self.driver.kind, exc)
            sup.on_connect_failed(time.monotonic(), str(exc))
            return
        sup.on_connected(time.monotonic())
        log.info("%s link connected (%d reconnects)", self.driver.kind, sup.reconnects)


class LiveSource:
    """A supervised transport as a device source (see :mod:`..device_spec`).

    Args:
        driver: the transport driver.
        protocol: decoder name for its bytes.
        nominal_rate_hz: the device's nominal sample rate, Hz.
        spec: the ``--device`` text, kept in the metadata.
        poll_s: how long one poll waits for data before yielding an empty list, s.
        params, wait_for_device: passed to :class:`LinkRunner`.
    """

    host_clock = "monotonic"
    #: The rate the configuration asked the sensor for, Hz (None: not configured).
    configured_rate_hz: float | None = None

    def __init__(self, driver, protocol: str, nominal_rate_hz: float, spec: str = "", *,
                 poll_s: float = 0.05, params: SupervisorParams = SupervisorParams(),
                 wait_for_device: bool = False) -> None:
        self.driver = driver
        self.protocol = protocol
        self.nominal_rate_hz = float(nominal_rate_hz)
        self.spec = spec
        self.poll_s = poll_s
        self.runner = LinkRunner(driver, nominal_rate_hz, params, wait_for_device=wait_for_device)

    @property
    def supervisor(self) -> LinkSupervisor:
        return self.runner.supervisor

    @property
    def metadata(self) -> dict:
        meta = {"spec": self.spec, "transport": self.driver.kind, "protocol": self.protocol}
        meta.update(self.driver.metadata())
        return meta

    def now_s(self) -> float:
        return time.monotonic()

    def polls(self):
        """Yield lists of Chunk/Gap items; an empty list after ``poll_s`` without data.

        Raises:
            LinkError (an OSError) when the link cannot be opened or used at all.
        """
        self.runner.start()
        while True:
            items = self.runner.drain(self.poll_s)
            if not items:
                self.runner.raise_if_failed()
            yield items

    def __iter__(self):
        for items in self.polls():
            yield from items

    def close(self) -> None:
        self.runner.stop()
        getattr(self.driver, "shutdown", self.driver.disconnect)()


def stamp(data: bytes) -> Chunk:
    """A chunk of ``data`` stamped with the host monotonic time now (call right at arrival)."""
    return Chunk(time.monotonic(), bytes(data))


__all__ = ["Chunk", "Gap", "LinkError", "LinkLost", "LinkRunner", "LinkUnavailable",
           "LiveSource", "stamp"]
