"""The virtual IMU: sensor readings from a head trajectory, with datasheet noise and bias.

Frames: the head frame is x anterior, y left, z up; the sensor sits on the head with
orientation ``mount_rpy_deg`` (intrinsic x-y-z, sensor relative to head) and at ``lever_arm_m``
(head frame) from the head's centre of rotation. The world frame is z up.

Readings at true sample times t_k:

- gyro (sensor frame, rad/s): the rotation from sample k-1 to k divided by the period, so that
  integrating the readings reproduces the trajectory exactly, plus bias and white noise;
- accelerometer (sensor frame, m/s²): specific force R_world_sensorᵀ (a + g ẑ), with the lever-arm
  acceleration a from a central second difference of the sensor position, plus bias and noise;
- on-device fused quaternion (quaternion output): the true q_world_sensor with a slowly drifting
  heading (as game-rotation-vector fusion drifts) and 0.01° of orientation noise.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.sim.config import SensorConfig
from cervitrack.signal import quaternion as quat

GRAVITY_M_S2 = 9.80665
_DIFF_STEP_S = 1e-3


def mount_quat(mount_rpy_deg) -> np.ndarray:
    """q_head_sensor (4,): sensor frame in head frame, from intrinsic x-y-z angles in deg."""
    return quat.from_rotation(Rotation.from_euler("XYZ", mount_rpy_deg, degrees=True))


class VirtualImu:
    """Turns a head trajectory into sensor readings.

    Args:
        cfg: sensor settings.
        rng: numpy Generator (the only source of randomness).
    """

    def __init__(self, cfg: SensorConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng
        self.q_head_sensor = mount_quat(cfg.mount_rpy_deg)
        self.lever_arm_m = np.asarray(cfg.lever_arm_m, dtype=np.float64)
        self.gyro_noise_rad_s, self.acc_noise_m_s2 = cfg.resolved_noise()
        self.gyro_noise_rad_s = np.radians(self.gyro_noise_rad_s)
        self.gyro_bias_rad_s = np.radians(np.asarray(cfg.gyro_bias_dps, dtype=np.float64))
        self.acc_bias_m_s2 = np.asarray(cfg.acc_bias_m_s2, dtype=np.float64)
        self.period_s = 1.0 / cfg.rate_hz
        self.heading0_deg = float(rng.uniform(-180, 180))

    def q_world_sensor(self, q_world_head) -> np.ndarray:
        return quat.multiply(q_world_head, self.q_head_sensor)

    def read(self, head, t_s) -> dict[str, np.ndarray]:
        """Readings at true times t_s (N,) for a head trajectory.

        Args:
            head: callable t_s (N,) → q_world_head (N, 4).
            t_s: (N,) true sample times, s.

        Returns:
            dict with ``q_world_head`` (truth), and ``quat_wxyz`` (quaternion output) or
            ``gyr_rad_s`` and ``acc_m_s2`` (raw output).
        """
        t = np.asarray(t_s, dtype=np.float64)
        n = len(t)
        raw = self.cfg.output != "quaternion"
        h = _DIFF_STEP_S
        # One trajectory evaluation for every time needed: t, and for raw output the previous
        # sample (gyro) and t ± h (lever-arm acceleration).
        times = np.concatenate([t, t - self.period_s, t - h, t + h]) if raw else t
        q_all = head(times)
        q_wh = q_all[:n]
        q_ws = self.q_world_sensor(q_wh)
        # The on-device fusion estimate: sent in both output modes (OHT/1 frames always carry
        # the device quaternion); with raw output the host fuses gyro + acc itself.
        drift_deg = self.heading0_deg + self.cfg.fusion_heading_drift_deg_min * t / 60.0
        q_drift = quat.from_axis_angle([0, 0, 1], np.radians(drift_deg))
        noise = quat.from_rotvec(self.rng.normal(0, np.radians(0.01), size=(n, 3)))
        out = {"q_world_head": q_wh,
               "quat_wxyz": quat.positive_w(quat.multiply(quat.multiply(q_drift, q_ws), noise))}
        if self.cfg.output == "quaternion":
            return out
        q_prev = self.q_world_sensor(q_all[n:2 * n])
        gyr = quat.to_rotvec(quat.relative(q_prev, q_ws)) / self.period_s
        gyr += self.gyro_bias_rad_s + self.rng.normal(0, self.gyro_noise_rad_s, size=(n, 3))
        pos = [quat.rotate(q, self.lever_arm_m) for q in (q_all[2 * n:3 * n], q_wh, q_all[3 * n:])]
        acc_world = (pos[0] - 2 * pos[1] + pos[2]) / h**2
        acc_world[:, 2] += GRAVITY_M_S2
        acc = quat.rotate(quat.conjugate(q_ws), acc_world)
        acc += self.acc_bias_m_s2 + self.rng.normal(0, self.acc_noise_m_s2, size=(n, 3))
        out["gyr_rad_s"] = gyr
        out["acc_m_s2"] = acc
        return out
