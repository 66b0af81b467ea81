"""Sensor orientation: VQF fusion of raw data, or the device's own quaternion passed through.

Output quaternions are ``q_world_sensor`` (sensor→world), scalar first. With VQF the world
frame is z up with arbitrary heading (6-axis) or ENU (9-axis); see
:mod:`cervitrack.signal.samples`.

VQF assumes a fixed sample period (its accelerometer low-pass is designed for it). Real
streams jitter, so each gyro sample is scaled by ``actual_dt / nominal_dt`` before it is fed:
the integrated rotation over each real interval is then exact (dlaidig/vqf#9, as cited in
Laidig & Seel 2023, Information Fusion 91:187–204 (VQF)). The streaming form (:class:`VqfOrientation`,
``VQF.updateBatch`` per chunk) and the offline form (:func:`fuse_offline`, ``offlineVQF``,
non-causal, or one causal ``updateBatch`` over the whole recording) scale the same way
(:func:`gyro_period_scale`).

Forms and profiles:

- 6-axis (gyro + acc) is the default; 9-axis (``use_mag``) is opt-in.
- :data:`HEAD_VQF_PARAMS` (the head profile) with a gyro bias seeded from averaged rest
  windows; ``params={}`` gives VQF's own defaults (used for the BROAD comparison).
"""

from __future__ import annotations

import math

import numpy as np
from vqf import VQF

from cervitrack.signal import quaternion as quat
from cervitrack.signal.samples import SampleBatch

#: VQF parameters for a head-worn sensor once a rest-averaged gyro bias is known (all others
#: are VQF's defaults). Measured on simulated JPE sessions (postural sway 0.05 deg, ten random
#: mounts; tests/test_calibration_accuracy.py):
#:
#: - VQF's rest-bias update treats every sample of a "rest" as a bias measurement, but a living
#:   head is never at rest: its slow sway pulled the vertical bias estimate 0.1 deg/s off within
#:   two seconds of each hold, i.e. about 1 deg of heading error per trial. Cervitrack turns it
#:   off and seeds the bias from averaged rest windows instead
#:   (:class:`cervitrack.calibration.rest.GyroBiasAverager`, whose horizontal part is measured
#:   against the accelerometer's tilt).
#: - Motion bias estimation is off too (it observes only the horizontal axes, and with a head's
#:   slow, small movements it wandered more than the averaged rest bias it would refine).
#: - With a good bias the gyro alone holds the orientation over a trial's 5-15 s to a few
#:   hundredths of a degree, while the accelerometer correction lets lever-arm accelerations
#:   of head rotations into the inclination: tauAcc 20 s instead of 6 s lowered the relative
#:   orientation error between a trial's reference and relocation windows from 0.13 to
#:   0.08 deg on average (largest 0.27 -> 0.22 deg; three mounts × six directions).
HEAD_VQF_PARAMS = {"tauAcc": 20.0, "restBiasEstEnabled": False, "motionBiasEstEnabled": False}

#: Until the first rest-averaged bias arrives (:meth:`VqfOrientation.set_bias`), the head profile
#: runs VQF's own bias estimation and accelerometer time constant (its defaults): with an
#: unknown bias of a few tenths of a deg/s the tilt would otherwise drift during the first
#: rest window, which the calibration's neutral is taken from.
STARTUP_VQF_PARAMS = {"tauAcc": 3.0, "restBiasEstEnabled": True, "motionBiasEstEnabled": True}


def gyro_period_scale(t_s, nominal_dt_s: float, t_prev_s: float = math.nan) -> np.ndarray:
    """Per-sample factor actual_dt / nominal_dt for feeding VQF a jittered stream (N,).

    The interval of sample i is t_i − t_{i−1} (``t_prev_s`` before the first sample; without
    it the first interval is nominal). Non-finite or non-positive intervals count as nominal;
    factors are clipped to [0, 10] so that a stall (a gap) cannot inject a huge rotation.
    """
    t = np.asarray(t_s, dtype=np.float64)
    n = len(t)
    if n == 0:
        return np.zeros(0)
    dt = np.empty(n)
    dt[0] = nominal_dt_s if math.isnan(t_prev_s) else t[0] - t_prev_s
    np.subtract(t[1:], t[:-1], out=dt[1:])
    scale = dt * (1.0 / nominal_dt_s)
    scale[~(scale > 0) | ~np.isfinite(scale)] = 1.0
    return np.minimum(scale, 10.0, out=scale)


def fuse_offline(t_s, gyr_rad_s, acc_m_s2, mag_uT=None, *, rate_hz: float | None = None,
                 params: dict | None = None, gyr_bias_rad_s=None, causal: bool = False) -> np.ndarray:
    """Orientation of a whole recording: (N, 4) q_world_sensor, scalar first.

    Args:
        t_s: (N,) sample times, s, increasing (jitter allowed: the gyro is scaled by the true
            per-sample period, :func:`gyro_period_scale`).
        gyr_rad_s, acc_m_s2: (N, 3) sensor frame.
        mag_uT: (N, 3) or None; given → 9-axis (ENU world), None → 6-axis.
        rate_hz: nominal rate; default 1 / median interval.
        params: VQF parameters; default :data:`HEAD_VQF_PARAMS`; ``{}`` for VQF's defaults.
        gyr_bias_rad_s: (3,) bias subtracted from the gyro first (e.g. from
            :func:`cervitrack.calibration.rest.rest_bias_from_raw`), or None.
        causal: False → ``offlineVQF`` (non-causal, the most accurate offline form;
            Laidig et al. 2021, Data 6(7):72 (BROAD)); True → one causal ``VQF.updateBatch`` run, exactly
            what the live chain computes.
    """
    from vqf import offlineVQF

    t = np.asarray(t_s, dtype=np.float64)
    if rate_hz is None:
        dt = np.diff(t)
        dt = dt[np.isfinite(dt) & (dt > 0)]
        if dt.size == 0:
            raise ValueError("cannot infer the sample rate: fewer than two increasing times")
        rate_hz = 1.0 / float(np.median(dt))
    ts = 1.0 / float(rate_hz)
    gyr = np.asarray(gyr_rad_s, dtype=np.float64)
    if gyr_bias_rad_s is not None:
        gyr = gyr - np.asarray(gyr_bias_rad_s, dtype=np.float64)
    gyr = np.ascontiguousarray(gyr * gyro_period_scale(t, ts)[:, None])
    acc = np.ascontiguousarray(acc_m_s2, dtype=np.float64)
    mag = None if mag_uT is None else np.ascontiguousarray(mag_uT, dtype=np.float64)
    p = dict(HEAD_VQF_PARAMS if params is None else params)
    key = "quat6D" if mag is None else "quat9D"
    if causal:
        v = VQF(ts, **p)
        out = v.updateBatch(gyr, acc) if mag is None else v.updateBatch(gyr, acc, mag)
    else:
        out = offlineVQF(gyr, acc, mag, ts, p)
    return out[key]


class VqfOrientation:
    """Streaming VQF 6-axis (default) or 9-axis fusion over SampleBatches.

    Args:
        rate_hz: nominal sample rate, Hz.
        params: VQF parameters; default :data:`HEAD_VQF_PARAMS` (pass {} for VQF's defaults).
        use_mag: 9-axis fusion (needs ``mag_uT``); off by default because magnetometer
            corrections perturb short-window relative orientation (Laidig et al. 2021, Data 6(7):72 (BROAD)).
    """

    def __init__(self, rate_hz: float, use_mag: bool = False, params: dict | None = None) -> None:
        self.rate_hz = float(rate_hz)
        self.dt_s = 1.0 / self.rate_hz
        self.use_mag = use_mag
        self.params = dict(HEAD_VQF_PARAMS if params is None else params)
        #: The head profile starts with VQF's own bias estimation until a bias is seeded.
        self.startup = params is None
        self._vqf = VQF(self.dt_s, **(STARTUP_VQF_PARAMS if self.startup else self.params))
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
        scale = gyro_period_scale(t, self.dt_s, self._last_t_s)
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

        ``sigma_deg_s`` is the uncertainty of the seed (used where VQF's own bias estimation is
        on). The first seed ends the head profile's start-up phase: from then on
        :attr:`params` apply.
        """
        if self.startup:
            self.startup = False
            self._vqf.setTauAcc(self.params.get("tauAcc", 3.0))
            self._vqf.setRestBiasEstEnabled(self.params.get("restBiasEstEnabled", True))
            self._vqf.setMotionBiasEstEnabled(self.params.get("motionBiasEstEnabled", True))
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
    """Pass the device's own fused quaternion through, only normalised.

    Its heading may drift (on-board 6-axis fusion); the pipeline measures the drift rate with
    :class:`cervitrack.signal.drift.HeadingDriftMonitor` rather than altering the data.
    """

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
