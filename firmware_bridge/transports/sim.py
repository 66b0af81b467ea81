"""The simulated headset as a device source (``--device sim``).

Wraps :class:`~cervitrack.firmware_bridge.sim.device.SimulatedHeadset` on a
:class:`~cervitrack.trainer.virtual_patient.VirtualPatient` (who holds a natural posture with
tremor and sway unless a test prompts it). Host times are the simulation's time
(``host_clock = "simulated"``). With ``speed`` X each step of ``step_s`` simulated seconds is
yielded ``step_s / X`` wall seconds after the previous one; ``speed=None`` runs as fast as the
consumer takes the steps. Only the pacing reads the wall clock.
"""

from __future__ import annotations

import math
import time

import numpy as np

from cervitrack.firmware_bridge.sim.config import SimConfig, as_dict, load_config
from cervitrack.firmware_bridge.sim.device import SimulatedHeadset


class SimSource:
    """Args:
        cfg: simulator settings.
        speed: pace factor (1.0 = real time), None = as fast as possible.
        step_s: simulated time per poll, s.
        sleep, clock: injectable pacing functions (default ``time.sleep``, ``time.monotonic``).
    """

    host_clock = "simulated"

    def __init__(self, cfg: SimConfig, speed: float | None = 1.0, step_s: float = 0.05, *,
                 sleep=time.sleep, clock=time.monotonic) -> None:
        from cervitrack.trainer.virtual_patient import VirtualPatient

        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"simulation speed must be a positive number, not {speed}")
        self.cfg = cfg
        self.speed = speed
        self.step_s = float(step_s)
        root = np.random.SeedSequence([cfg.seed, 0x7E57])
        self.patient = VirtualPatient(cfg.patient, np.random.default_rng(root))
        self.device = SimulatedHeadset(cfg, self.patient)
        self.protocol = self.device.protocol
        self.nominal_rate_hz = float(cfg.sensor.rate_hz)
        self.metadata = {"spec": "sim", "transport": "sim", **self.device.device_info,
                         "sim_config": as_dict(cfg)}
        self._t_s = 0.0
        self._sleep = sleep
        self._clock = clock

    def now_s(self) -> float:
        return self._t_s

    def polls(self):
        t0_wall = self._clock()
        while True:
            self._t_s = round(self._t_s + self.step_s, 9)
            if self.speed is not None:
                wait = self._t_s / self.speed - (self._clock() - t0_wall)
                if wait > 0:
                    self._sleep(wait)
            yield self.device.advance(self._t_s)

    def __iter__(self):
        for items in self.polls():
            yield from items

    def close(self) -> None:
        """Nothing to release."""


def open_sim(spec, speed: float | None = 1.0, seed: int | None = None,
             sim_config: str | None = None, **_options) -> SimSource:
    if spec.target:
        raise ValueError(f"bad device spec {spec.text!r}: sim takes no target "
                         "(use --sim-config FILE.toml for settings)")
    return SimSource(load_config(sim_config, seed=seed), speed=speed)
