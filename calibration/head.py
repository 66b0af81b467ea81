"""The head calibration and the transform from sensor orientation to head pose.

``q_world_head = q_world_sensor ⊗ q_sensor_head``; the head pose relative to neutral is
``q_neutral_head = q_world_neutral⁻¹ ⊗ q_world_head`` (head axes, x anterior, y left, z up).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cervitrack.signal import quaternion as quat


@dataclass
class HeadCalibration:
    """Attributes:
        q_sensor_head: (4,) head frame in sensor coordinates (identity: uncalibrated).
        q_world_neutral: (4,) head orientation at neutral in the world frame, or None.
        gyr_bias_rad_s: (3,) gyro bias at rest, sensor frame, rad/s, or None.
        quality: alignment quality figures (deg) and score.
    """

    q_sensor_head: np.ndarray = field(default_factory=lambda: quat.IDENTITY_WXYZ.copy())
    q_world_neutral: np.ndarray | None = None
    gyr_bias_rad_s: np.ndarray | None = None
    quality: dict = field(default_factory=dict)

    def world_head(self, q_world_sensor) -> np.ndarray:
        """q_world_head (…, 4) from q_world_sensor (…, 4)."""
        return quat.multiply(q_world_sensor, self.q_sensor_head)

    def neutral_head(self, q_world_sensor) -> np.ndarray:
        """q_neutral_head (…, 4): head pose relative to the neutral (identity neutral if unset)."""
        # q_world_neutral⁻¹ ⊗ q_world_sensor ⊗ q_sensor_head as one (4, 4) matrix product; the
        # matrix is rebuilt only when the calibration's quaternions change.
        q_wn = quat.IDENTITY_WXYZ if self.q_world_neutral is None else np.asarray(self.q_world_neutral, float)
        q_sh = np.asarray(self.q_sensor_head, dtype=np.float64)
        key = q_wn.tobytes() + q_sh.tobytes()
        cached = self.__dict__.get("_sandwich")
        if cached is None or cached[0] != key:
            cached = (key, quat.sandwich_matrix(quat.conjugate(q_wn), q_sh))
            self.__dict__["_sandwich"] = cached
        return quat.apply_sandwich(q_world_sensor, cached[1])

    def to_dict(self) -> dict:
        return {
            "q_sensor_head_wxyz": np.asarray(self.q_sensor_head).tolist(),
            "q_world_neutral_wxyz": None if self.q_world_neutral is None else np.asarray(self.q_world_neutral).tolist(),
            "gyr_bias_rad_s": None if self.gyr_bias_rad_s is None else np.asarray(self.gyr_bias_rad_s).tolist(),
            "quality": dict(self.quality),
        }

    @classmethod
    def from_dict(cls, data: dict) -> HeadCalibration:
        def arr(key):
            v = data.get(key)
            return None if v is None else np.asarray(v, dtype=np.float64)

        return cls(
            q_sensor_head=arr("q_sensor_head_wxyz") if data.get("q_sensor_head_wxyz") else quat.IDENTITY_WXYZ.copy(),
            q_world_neutral=arr("q_world_neutral_wxyz"),
            gyr_bias_rad_s=arr("gyr_bias_rad_s"),
            quality=dict(data.get("quality", {})),
        )
