"""Running any test preset with the simulated headset and virtual patient, and the simulator's
ground truth for its trials.

:func:`run_sim_test` drives :class:`~cervitrack.trainer.simulation.runner.SimSession` to the end; for a
preset with manual marking a *virtual examiner* presses the mark ``examiner_delay_s`` after the
virtual patient's planned movement has ended (as an examiner watching the head come to rest).
"""

from __future__ import annotations

import numpy as np

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.clinical import presets as protocols
from cervitrack.trainer.clinical.thp import target_errors
from cervitrack.trainer.simulation.runner import SimSession, true_trial_errors


def run_sim_test(preset: protocols.Preset, cfg, overrides: dict | None = None,
                 examiner_delay_s: float = 1.2, max_duration_s: float = 3600.0,
                 observers=()) -> SimSession:
    """Run the preset's test to the end on the simulator; returns the finished session.
    ``observers`` are added to the session's step observers (recording, LSL)."""
    engine = protocols.build_engine(preset, cfg.sensor.rate_hz, overrides)
    session = SimSession(cfg, engine, max_duration_s=max_duration_s)
    session.step_observers.extend(observers)
    manual = getattr(engine.settings, "marking", "auto") == "manual"
    while not engine.done and session.t_s < max_duration_s:
        step = session.step()
        if manual and engine.phase == "return" and len(step.pose):
            if session.t_s >= session.patient.plan.end_time_s + examiner_delay_s:
                engine.mark(float(step.pose.t_s[-1]))
    if not engine.done:
        raise RuntimeError(f"the test did not finish within {max_duration_s:.0f} s of simulated time")
    return session


def _mean_true(device, window: dict) -> np.ndarray:
    return quat.mean(device.truth.between(window["seq_first"], window["seq_last"]).q_world_head)


def truth_for(kind: str, device):
    """A function trial → ground-truth dict (or None) for a test kind, or None."""
    if kind == "jpe":
        return lambda tr: true_trial_errors(device, tr)
    if kind == "thp":
        def thp(tr):
            if "ret_window" not in tr:
                return None
            return target_errors(tr["direction"], tr["target_deg"], _mean_true(device, tr["ref_window"]),
                                 _mean_true(device, tr["ret_window"]))
        return thp
    if kind == "rom":
        from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT

        def rom(tr):
            if "hold_window" not in tr:
                return None
            name, sign = DIRECTION_COMPONENT[tr["direction"]]
            q = quat.relative(_mean_true(device, tr["ref_window"]), _mean_true(device, tr["hold_window"]))
            return {"held_deg": float(sign * kinematics.head_angles_deg(q)[name])}
        return rom
    return None
