"""Serial transport (pyserial): USB-UART adapters, native USB CDC boards, Bluetooth SPP ports.

The reader thread (:class:`~.base.LinkRunner`) calls :meth:`SerialDriver.read`, which blocks
for at most the read timeout, returns whatever the OS buffered and stamps it with
``time.monotonic()`` right after the read returns. Frames split and merge arbitrarily across
reads; the decoder reassembles them.

- Low latency: on Linux, ``set_low_latency_mode(True)`` sets ASYNC_LOW_LATENCY (FTDI adapters
  otherwise hold bytes for their 16 ms latency timer). Adapters and ptys that do not support it
  are noted in the log and in :attr:`SerialDriver.notes`, never an error.
- Boot text: opening a port can reset the board (DTR), which then prints a banner before its
  first frame. Nothing is discarded here; the decoder skips the text and counts it in
  ``skipped_bytes``.
- Configuration: ``setup`` commands (e.g. WitMotion's unlock, rate, content, save:
  :func:`cervitrack.firmware_bridge.profiles.serial_setup`) are written, in order and
  ``setup_gap_s`` apart, right after every open (a sensor that was unplugged comes back in its
  saved settings, so they are sent again).
- Port removed (USB unplugged, SPP link lost): the read raises, the runner marks one gap and
  reopens the port by name with backoff until it is back.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING

from cervitrack.firmware_bridge.transports.base import LinkError, LinkLost, stamp

if TYPE_CHECKING:
    import serial

log = logging.getLogger(__name__)


class SerialDriver:
    """One serial port.

    Args:
        port: the port name (``/dev/ttyUSB0``, ``COM3``, ``/dev/serial/by-id/...``).
        baud: line speed (8N1); native USB boards ignore it.
        rtscts: hardware flow control (opentrack Hatire sketches use it).
        serial_factory: ``serial.Serial`` or a compatible class (tests).
        setup: commands written after each open, in order.
        setup_gap_s: pause between two setup commands, s (WitMotion applies one register
            write at a time; its own tools pause between commands).
    """

    kind = "serial"
    reconnect_on_stall = True
    battery_pct = None

    def __init__(self, port: str, baud: int = 115200, rtscts: bool = False,
                 serial_factory=None, setup: tuple[bytes, ...] = (),
                 setup_gap_s: float = 0.05) -> None:
        if not port:
            raise ValueError("serial:PORT needs a port name, e.g. serial:/dev/ttyUSB0 or serial:COM3")
        self.port = port
        self.baud = int(baud)
        self.rtscts = bool(rtscts)
        self._factory = serial_factory
        self._ser: serial.Serial | None = None
        self._lock = threading.Lock()
        self.notes: list[str] = []
        self.low_latency: bool | None = None
        self.setup = tuple(bytes(c) for c in setup)
        self.setup_gap_s = float(setup_gap_s)
        self.setups_sent = 0

    def connect(self) -> None:
        import serial

        factory = self._factory or serial.Serial
        try:
            ser = factory(self.port, self.baud, timeout=0.05, rtscts=self.rtscts)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open serial port {self.port}: {_reason(exc)} "
                            "(`cervitrack devices` lists the ports)") from None
        try:
            # pyserial implements this on Linux only; elsewhere it raises NotImplementedError
            # (and fakes or other port classes may lack it): the port then works as it is.
            ser.set_low_latency_mode(True)
            self.low_latency = True
        except (ValueError, NotImplementedError, OSError, AttributeError) as exc:
            self.low_latency = False
            note = f"low-latency mode not available on {self.port}: {_reason(exc)}"
            if note not in self.notes:
                self.notes.append(note)
                log.info(note)
        try:
            for i, command in enumerate(self.setup):
                if i:
                    time.sleep(self.setup_gap_s)
                ser.write(command)
            if self.setup:
                ser.flush()
                self.setups_sent += 1
        except (serial.SerialException, OSError) as exc:
            ser.close()
            raise LinkError(f"cannot configure the sensor on {self.port}: {_reason(exc)}") from None
        with self._lock:
            self._ser = ser

    def read(self, timeout_s: float) -> list:
        import serial

        ser = self._ser
        if ser is None:
            raise LinkLost(f"serial port {self.port} is closed")
        try:
            if ser.timeout != timeout_s:  # the setter reconfigures the port: only on change
                ser.timeout = timeout_s
            data = ser.read(1)
            if data:
                waiting = ser.in_waiting
                if waiting:
                    data += ser.read(waiting)
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial reading a port closed under it.
            raise LinkLost(f"serial port {self.port}: {_reason(exc)}") from None
        return [stamp(data)] if data else []

    def disconnect(self) -> None:
        with self._lock:
            ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception as exc:  # closing a vanished port may fail; it is closed anyway
                log.debug("closing %s: %s", self.port, exc)

    def metadata(self) -> dict:
        return {"port": self.port, "baud": self.baud, "rtscts": self.rtscts,
                "low_latency": self.low_latency, "notes": list(self.notes),
                "setup_hex": [c.hex(" ") for c in self.setup]}


def _reason(exc: BaseException) -> str:
    """The innermost OS reason of a pyserial error, e.g. "No such file or directory"."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    inner = re.findall(r"\[Errno -?\d+\] ([^:']+)", text)
    return inner[-1].strip() if inner else text
