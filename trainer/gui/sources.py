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
  (a simulated link knows; real transports wake the worker by polling).
"""

from __future__ import annotations

import numpy as np

from cervitrack.firmware_bridge.sim.config import SimConfig
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.trainer.virtual_patient import VirtualPatient


class SimSource:
    """The simulated headset worn by the virtual patient (seeded as in
    :class:`cervitrack.trainer.runner.SimSession`, so the same seed gives the same patient).
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
        self._open = False

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def read(self, until_s: float) -> list:
        return self.device.advance(until_s) if self._open else []

    def next_arrival_s(self) -> float:
        """Simulated time at which the next item arrives (inf: none queued yet)."""
        return self.device.link.next_arrival_s()

    def status(self) -> dict:
        link = self.device.link.stats
        return {"state": "connected" if self._open else "disconnected",
                "lost_frames": int(link["lost_frames"]), "disconnects": int(link["disconnects"])}

    def on_prompt(self, prompt, t_s: float) -> None:
        self.patient.on_prompt(prompt, t_s)


def available_specs() -> list[tuple[str, str]]:
    """(spec, label) of the device choices the application offers without scanning."""
    return [("sim", "Simulated headset (virtual patient)")]


def open_source(spec: str, sim_config: SimConfig | None = None):
    """A source for a device spec; raises ValueError for a spec this build cannot open."""
    if spec == "sim":
        return SimSource(sim_config if sim_config is not None else SimConfig())
    known = ", ".join(s for s, _ in available_specs())
    raise ValueError(f"unknown device {spec!r} (available: {known})")
