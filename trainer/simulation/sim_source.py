"""``--device sim``: the simulated headset as a device source (for ``record`` and streaming).

The virtual patient wears the headset and rests (tremor and postural sway, no prompts); the
simulated link delivers OHT/1 chunks and gap markers. Each poll advances the simulation by
``step_s`` of simulated time (the steps :class:`cervitrack.trainer.simulation.runner.SimSession` uses),
paced to real time by default (``speed`` X: X times faster; None: as fast as possible). Host
times are the simulation's own time, so recordings of it say ``host_clock: simulated``.
"""

from __future__ import annotations

import time

import numpy as np

from cervitrack.firmware_bridge.device_spec import register_source
from cervitrack.firmware_bridge.sim.config import as_dict, load_config
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.trainer.simulation.virtual_patient import VirtualPatient


class SimSource:
    """The simulated headset on a resting virtual patient.

    Args:
        cfg: simulator settings (:func:`cervitrack.firmware_bridge.sim.config.load_config`).
        speed: pacing factor (1.0 = real time), None = as fast as possible.
        step_s: simulated time per poll, s.
        sleep, clock: injectable wall-clock functions (pacing only).
    """

    host_clock = "simulated"

    def __init__(self, cfg, speed: float | None = 1.0, step_s: float = 0.1, *,
                 sleep=time.sleep, clock=time.monotonic) -> None:
        self.cfg = cfg
        root = np.random.SeedSequence([cfg.seed, 0x7E57])  # as SimSession seeds its patient
        self.patient = VirtualPatient(cfg.patient, np.random.default_rng(root))
        self.device = SimulatedHeadset(cfg, self.patient)
        self.protocol = self.device.protocol
        self.nominal_rate_hz = float(cfg.sensor.rate_hz)
        self.metadata = {"spec": "sim", **self.device.device_info, "sim_config": as_dict(cfg)}
        self.speed = speed
        self.step_s = float(step_s)
        self.t_s = 0.0
        self._sleep = sleep
        self._clock = clock

    def now_s(self) -> float:
        """Simulated time of the latest poll, s."""
        return self.t_s

    def polls(self):
        """Endless polls of ``step_s`` simulated seconds each."""
        t0_wall = self._clock()
        while True:
            self.t_s = round(self.t_s + self.step_s, 9)
            items = self.device.advance(self.t_s)
            if self.speed is not None:
                wait = self.t_s / self.speed - (self._clock() - t0_wall)
                if wait > 0:
                    self._sleep(wait)
            yield items

    def close(self) -> None:
        """Nothing to release."""


def _open_sim(spec, speed: float | None = 1.0, seed: int | None = None,
              sim_config=None, **_options) -> SimSource:
    if spec.target:
        raise ValueError(f"bad device spec {spec.text!r}: sim takes no target "
                         "(use --sim-config FILE.toml)")
    return SimSource(load_config(sim_config, seed=seed), speed=speed)


register_source("sim", _open_sim, "sim")
