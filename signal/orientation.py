"""Sensor orientation: VQF fusion of raw data, or the device's own quaternion passed through.

Output quaternions are ``q_world_sensor`` (sensor→world), scalar first. With VQF the world
frame is z up with arbitrary heading (6-axis) or ENU (9-axis); see
:mod:`cervitrack.firmware_bridge.samples`.

VQF assumes a fixed sample period (its accelerometer low-pass is designed for it). Real
streams jitter, so each gyro sample is scaled by ``actual_dt / nominal_dt`` before it is fed:
the integrated rotation over each real interval is then exact (dlaidig/vqf#9, as cited in
../shared/reference/fusion-and-angles.md §2.4).
"""

from __future__ import annotations

import math

import numpy as np
from vqf import VQF

from cervitrack.firmware_bridge.samples import SampleBatch
from cervitrack.signal import quaternion as quat


#: VQF parameters for a head-worn sensor (all others are VQF's defaults). Measured on simulated
#: JPE sessions (postural sway 0.05 deg, mount [20, -30, 45] deg; tests/test_accuracy*.py):
#: VQF's rest-bias update treats every sample of a "rest" as a bias measurement, but a living
#: head is never at rest: its slow sway pulled the vertical bias estimate 0.1 deg/s off within
#: two seconds of each hold, i.e. about 1 deg of heading error per trial. Cervitrack therefore
#: turns VQF's rest-bias update off and seeds the bias from the averaged rest calibration
#: (:mod:`cervitrack.calibration.rest`) instead; motion bias estimation stays on. A slower
#: accelerometer correction (tauAcc 6 s instead of 3 s) lets less of the lever-arm
#: acceleration of head rotations into the inclination.
HEAD_VQF_PARAMS = {"tauAcc": 6.0, "restBiasEstEnabled": False, "motionBiasEstEnabled": False}


class VqfOrientation:
    """Streaming VQF 6-axis (default) or 9-axis fusion over SampleBatches.

    Args:
        rate_hz: nominal sample rate, Hz.
        params: VQF parameters; default :data:`HEAD_VQF_PARAMS` (pass {} for VQF's defaults).
        use_mag: 9-axis fusion (needs ``mag_uT``); off by default because magnetometer
            corrections perturb short-window relative orientation (fusion-and-angles.md §1.5).
    """

    def __init__(self, rate_hz: float, use_mag: bool = False, params: dict | None = None) -> None:
        self.rate_hz = float(rate_hz)
        self.dt_s = 1.0 / self.rate_hz
        self.use_mag = use_mag
        self.params = dict(HEAD_VQF_PARAMS if params is None else params)
        self._vqf = VQF(self.dt_s, **self.params)
        self._last_t_s = math.nan

    def process(self, batch: SampleBatch) -> np.ndarray:
        """(N, 4) q_world_sensor for the batch's samples (needs gyr_rad_s and acc_m_s2)."""
        if len(batch) == 0:
            return np.zeros((0, 4))
        if batch.gyr_rad_s is None or batch.acc_m_s2 is None:
            raise ValueError("VQF fusion needs gyr_rad_s and acc_m_s2 in the samples")
        # Sampling intervals come from the (unwrapped) device clock where there is one: the
        # host mapping t_s may be re-estimated between samples, the device clock is not.
        t = batch.t_device_s if np.all(np.isfinite(batch.t_device_s)) else batch.t_s
        prev = t[0] - self.dt_s if math.isnan(self._last_t_s) else self._last_t_s
        dt = np.diff(t, prepend=prev)
        scale = np.clip(np.where(np.isfinite(dt) & (dt > 0), dt / self.dt_s, 1.0), 0.0, 10.0)
        gyr = np.ascontiguousarray(batch.gyr_rad_s * scale[:, None])
        acc = np.ascontiguousarray(batch.acc_m_s2, dtype=np.float64)
        if self.use_mag:
            if batch.mag_uT is None:
                raise ValueError("9-axis fusion needs mag_uT in the samples")
            out = self._vqf.updateBatch(gyr, acc, np.ascontiguousarray(batch.mag_uT, float))
            q = out["quat9D"]
        else:
            q = self._vqf.updateBatch(gyr, acc)["quat6D"]
        self._last_t_s = float(t[-1])
        return q

    def set_bias(self, gyr_bias_rad_s, sigma_deg_s: float = 0.1) -> None:
        """Seed VQF's gyro bias estimate (3,), rad/s, e.g. from a rest calibration.

        VQF keeps refining it during rest; ``sigma_deg_s`` is the uncertainty of the seed.
        """
        self._vqf.setBiasEstimate(np.asarray(gyr_bias_rad_s, dtype=np.float64), sigma_deg_s)

    @property
    def rest_detected(self) -> bool:
        return bool(self._vqf.getRestDetected())

    @property
    def bias_estimate_rad_s(self) -> np.ndarray:
        """VQF's current residual gyro bias estimate (3,), rad/s."""
        bias, _sigma = self._vqf.getBiasEstimate()
        return np.asarray(bias)


class DeviceOrientation:
    """Pass the device's own fused quaternion through (normalised, sign-continuous)."""

    def __init__(self) -> None:
        self._last = None

    def process(self, batch: SampleBatch) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros((0, 4))
        if batch.quat_wxyz is None:
            raise ValueError("the device sends no orientation; use raw gyro/acc fusion")
        q = quat.normalize(batch.quat_wxyz)
        return q


def make_orientation(batch: SampleBatch, rate_hz: float, prefer: str = "auto", **kwargs):
    """Choose the orientation source for a stream from its first batch.

    ``prefer``: "device" (use the device quaternion), "fusion" (VQF on raw data) or "auto"
    (fusion when raw gyro and acc are present, else the device quaternion).
    """
    has_raw = batch.gyr_rad_s is not None and batch.acc_m_s2 is not None
    if prefer == "fusion" or (prefer == "auto" and has_raw):
        return VqfOrientation(rate_hz, **kwargs)
    return DeviceOrientation()
