"""Device sources for the application: what the pipeline thread reads transport items from.

A source has:

- ``spec``: the device spec string (``sim``, and the transports' specs when available);
- ``protocol``: the wire protocol name (for :func:`cervitrack.firmware_bridge.protocols.make_decoder`);
- ``rate_hz``: the nominal sample rate, Hz;
- ``simulated``: True when time is simulated (the worker then paces it, or runs it fast);
- ``open()`` / ``close()``;
- ``read(until_s)``: the Chunk and Gap items arrived by ``until_s`` (simulated time for a
  simulated source; real sources return what has arrived and ignore it);
- ``status()``: a dict with ``state`` ("connected", "reconnecting", "disconnected") and,
  where the device reports it, ``battery_pct``;
- ``on_prompt(prompt, t_s)``: the simulated patient hears the prompt (no-op for real devices);
- optionally ``next_arrival_s()``: when the next item arrives, so the worker sleeps until then
  (a simulated link knows; real transports wake the worker by polling);
- optionally ``prefetch(now_s)``: work the source can do ahead while the worker is idle (the
  simulator samples ahead, so that its own cost does not land between arrival and display).
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.signal.samples import Chunk, Gap
from cervitrack.trainer.simulation.virtual_patient import VirtualPatient


class SimSource:
    """The simulated headset worn by the virtual patient (seeded as in
    :class:`cervitrack.trainer.simulation.runner.SimSession`, so the same seed gives the same patient).
    The headset keeps the last ``TRUTH_S`` of ground truth only, so a long session's memory
    stays flat."""

    TRUTH_S = 120.0

    simulated = True

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.spec = "sim"
        root = np.random.SeedSequence([cfg.seed, 0x7E57])
        self.patient = VirtualPatient(cfg.patient, np.random.default_rng(root))
        self.device = SimulatedHeadset(cfg, self.patient, keep_truth_s=self.TRUTH_S)
        self.protocol = self.device.protocol
        self.rate_hz = float(cfg.sensor.rate_hz)
        self.info = dict(self.device.device_info)
        #: Names the device for saved calibrations (a seed is a different virtual head).
        self.device_id = f"sim:seed{cfg.seed}:{cfg.sensor.output}"
        self._open = False

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def read(self, until_s: float) -> list:
        return self.device.advance(until_s) if self._open else []

    def prefetch(self, now_s: float) -> None:
        """Simulate ahead while the reader is idle (real-time mode; see
        :meth:`~cervitrack.firmware_bridge.sim.device.SimulatedHeadset.prefetch`)."""
        if self._open:
            self.device.prefetch(now_s)

    def next_arrival_s(self) -> float:
        """Simulated time at which the next item arrives (inf: none queued yet)."""
        return self.device.link.next_arrival_s()

    def status(self) -> dict:
        link = self.device.link.stats
        return {"state": "connected" if self._open else "disconnected",
                "lost_frames": int(link["lost_frames"]), "disconnects": int(link["disconnects"])}

    def on_prompt(self, prompt, t_s: float) -> None:
        self.patient.on_prompt(prompt, t_s)


class LiveDeviceSource:
    """A real device through the transports' supervised links
    (:func:`cervitrack.trainer.live.devices.open_device`: ``serial:PORT``, ``ble:ADDRESS_OR_NAME``,
    ``udp:PORT``). The link's own reader thread (for BLE, a thread with its asyncio loop) fills
    a queue; :meth:`read` waits up to ``block_s`` for the first item, so the pipeline thread
    wakes as soon as bytes arrive."""

    simulated = False
    blocking = True

    def __init__(self, spec: str, protocol: str | None = None, block_s: float = 0.005,
                 baud: int | None = None) -> None:
        from cervitrack.trainer.live.devices import open_device

        self.live = open_device(spec, protocol=protocol, **({"baud": baud} if baud is not None else {}))
        self.spec = spec
        self.protocol = self.live.protocol
        self.rate_hz = float(self.live.nominal_rate_hz)
        self.block_s = block_s
        self.error: str | None = None
        self.device_id = f"{spec}:{self.protocol}"

    def open(self) -> None:
        self.live.runner.start()

    def read(self, until_s: float) -> list:
        if self.error is not None:
            return []
        items = self.live.runner.drain(self.block_s)
        if not items:
            try:
                self.live.runner.raise_if_failed()
            except OSError as exc:  # LinkError: the link cannot be opened or used at all
                self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [item for item in items if isinstance(item, (Chunk, Gap))]

    def status(self) -> dict:
        snap = self.live.supervisor.snapshot()
        state = snap["state"]
        if state in ("waiting", "idle"):
            state = "reconnecting" if snap["connects"] else "connecting"
        if self.error is not None:
            state = f"failed: {self.error}"
        out = {"state": state, "battery_pct": snap.get("battery_pct"),
               "reconnects": snap.get("reconnects", 0)}
        if self.error is not None:
            out["error"] = self.error
        if snap.get("last_error"):
            out["last_error"] = snap["last_error"]
        return out

    def close(self) -> None:
        self.live.close()

    def on_prompt(self, prompt, t_s: float) -> None:
        """A real patient hears prompts from the application, not from here."""


def available_specs() -> list[tuple[str, str]]:
    """(spec, label) of the device choices offered without a BLE scan: the serial ports the
    system lists (with the kind recognised), UDP input and, last, the simulator (never a
    default: it is chosen explicitly)."""
    specs = []
    try:
        from cervitrack.firmware_bridge.discovery import serial_ports

        for port in serial_ports():
            kind = "" if port["kind"] == "unknown" else f", {port['kind']}"
            specs.append((f"serial:{port['device']}", f"Serial port {port['description'] or port['device']}{kind}"))
    except (ImportError, OSError):  # no pyserial port listing on this system
        pass
    specs.append(("udp:4242", "UDP input (opentrack format, phone apps), port 4242"))
    specs.append(("sim", "SIMULATED headset and virtual patient (no person: for trying the app)"))
    return specs


def ble_scan_specs(timeout_s: float = 5.0) -> list[tuple[str, str]]:
    """(spec, label) of the BLE peripherals a scan finds (raises OSError when Bluetooth is
    unavailable, with a message meant for the user)."""
    from cervitrack.firmware_bridge.discovery import ble_scan

    out = []
    for d in ble_scan(timeout_s):
        kind = "" if d["kind"] == "unknown" else f", {d['kind']}"
        out.append((f"ble:{d['address']}", f"{d['name'] or 'unnamed'} ({d['rssi_dbm']} dBm{kind})"))
    return out


def can_scan_ble() -> bool:
    import importlib.util

    return importlib.util.find_spec("bleak") is not None


def open_source(spec: str, sim_config: SimConfig | None = None, protocol: str | None = None):
    """A source for a device spec; ValueError (unknown kind, bad spec) or OSError (cannot open)
    with a one-line message."""
    if spec == "sim":
        return SimSource(sim_config if sim_config is not None else SimConfig())
    return LiveDeviceSource(spec, protocol)
