"""What the pipeline thread hands to the views: ring buffers, events and state snapshots.

The :class:`LiveFeed` is the only object shared between the pipeline thread (producer) and
the GUI thread (consumer):

- ``ring``: a :class:`~cervitrack.trainer.gui.ring.RingBuffer` of per-sample channels
  (:data:`CHANNELS`);
- ``events``: prompts and engine events in order (a deque: append and popleft are atomic);
- ``state``: the latest test snapshot (replaced whole, never mutated, so reads are atomic);
- ``status``: the latest device/link snapshot (replaced whole).

Channels (units in the names):

- ``t_s``: sample time (host monotonic, or simulated time for the simulator), s;
- ``t_host_s``: arrival time of the chunk that completed the frame, s;
- ``published_wall_s``: ``time.perf_counter()`` when the pipeline thread published the
  sample (for latency measurements; NaN when not given);
- ``axial_deg``, ``flexion_deg``, ``lateral_deg``, ``global_deg``: head angles relative to
  neutral (:mod:`cervitrack.signal.kinematics`), NaN before calibration;
- ``wall_u``, ``wall_v``: the head laser's point on a wall at unit distance, as tangents
  (dimensionless): ``x_cm = D·wall_u`` (positive to the patient's left), ``y_cm = D·wall_v``
  (positive up) for a wall at D cm; NaN before calibration or when pointing away. The wall
  faces the current item's reference head (the one the engine scores against), or the
  calibrated neutral between items. Smoothed for display with the One Euro filter
  (:mod:`cervitrack.signal.smoothing`, on the visual angles in degrees) when the worker
  gives one; ``wall_u_raw``, ``wall_v_raw`` are the same unsmoothed;
- ``gyr_x_deg_s`` … ``gyr_z_deg_s``: angular rate, sensor frame, deg/s (NaN if not sent);
- ``acc_x_m_s2`` … ``acc_z_m_s2``: specific force, sensor frame, m/s² (NaN if not sent);
- ``speed_deg_s``: angular speed; ``still``: 1.0 when still, else 0.0;
- ``q_ws_w`` … ``q_ws_z``: q_world_sensor, sensor→world orientation, scalar first (for
  checks that work before calibration, such as the calibration wizard's movement range).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.gui.ring import RingBuffer

CHANNELS = (
    "t_s", "t_host_s", "published_wall_s",
    "axial_deg", "flexion_deg", "lateral_deg", "global_deg",
    "wall_u", "wall_v", "wall_u_raw", "wall_v_raw",
    "gyr_x_deg_s", "gyr_y_deg_s", "gyr_z_deg_s",
    "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2",
    "speed_deg_s", "still",
    "q_ws_w", "q_ws_x", "q_ws_y", "q_ws_z",
)


def pose_channels(pose, calibration=None, q_world_head_ref=None) -> dict[str, np.ndarray]:
    """Per-sample channels (see module docstring) of a PoseBatch, batched with numpy.

    The laser point is relative to ``q_world_head_ref`` (a reference head orientation in the
    world frame, e.g. a trial's reference) when it and ``calibration`` are given, else to the
    calibrated neutral; the head angles are always relative to the calibrated neutral."""
    n = len(pose)
    s = pose.samples
    nan = np.full(n, np.nan)
    out = {"t_s": pose.t_s, "t_host_s": s.t_host_s, "speed_deg_s": pose.speed_deg_s,
           "still": pose.still.astype(np.float64)}
    if pose.q_neutral_head is not None:
        angles = pose.angles_deg()
        for k in ("axial", "flexion", "lateral", "global"):
            out[f"{k}_deg"] = angles[k]
        q_ref_head = pose.q_neutral_head
        if calibration is not None and q_world_head_ref is not None:
            q_ref_head = quat.relative(q_world_head_ref, calibration.world_head(pose.q_world_sensor))
        laser = kinematics.laser_point(q_ref_head, 1.0)
        out["wall_u_raw"], out["wall_v_raw"] = laser["x_cm"], laser["y_cm"]
        out["wall_u"], out["wall_v"] = laser["x_cm"], laser["y_cm"]
    else:
        for k in ("axial_deg", "flexion_deg", "lateral_deg", "global_deg", "wall_u", "wall_v",
                  "wall_u_raw", "wall_v_raw"):
            out[k] = nan
    for i, c in enumerate("wxyz"):
        out[f"q_ws_{c}"] = pose.q_world_sensor[:, i]
    for name, arr, scale in (("gyr", s.gyr_rad_s, np.degrees(1.0)), ("acc", s.acc_m_s2, 1.0)):
        unit = "deg_s" if name == "gyr" else "m_s2"
        for i, axis in enumerate("xyz"):
            out[f"{name}_{axis}_{unit}"] = nan if arr is None else arr[:, i] * scale
    return out


class LiveFeed:
    """Shared buffers between the pipeline thread and the views.

    Args:
        capacity_s: seconds of samples kept at ``rate_hz``.
        rate_hz: the device's nominal rate, Hz.
    """

    def __init__(self, capacity_s: float = 40.0, rate_hz: float = 100.0) -> None:
        self.rate_hz = float(rate_hz)
        self.ring = RingBuffer(CHANNELS, max(16, int(np.ceil(capacity_s * rate_hz))))
        self.events: deque = deque()
        self.state: dict = {"test": None, "phase": "idle", "trials": (), "scores": {},
                            "done": False, "calibrated": False}
        self.status: dict = {"state": "disconnected"}

    def samples_for(self, seconds: float) -> int:
        """How many samples span ``seconds`` at the nominal rate (clamped to the capacity)."""
        return int(min(self.ring.capacity, max(1, round(seconds * self.rate_hz))))

    def push_pose(self, pose, published_wall_s: float | None = None, calibration=None,
                  q_world_head_ref=None, cursor_filter=None) -> None:
        """Append a PoseBatch (see :func:`pose_channels` for the reference arguments);
        ``cursor_filter``: a OneEuroFilter for the wall cursor (state kept by the caller)."""
        if len(pose):
            channels = pose_channels(pose, calibration, q_world_head_ref)
            if cursor_filter is not None:
                deg = np.degrees(np.arctan(np.column_stack([channels["wall_u"], channels["wall_v"]])))
                smooth = np.tan(np.radians(cursor_filter.update(pose.t_s, deg)))
                channels["wall_u"], channels["wall_v"] = smooth[:, 0], smooth[:, 1]
            if published_wall_s is not None:
                channels["published_wall_s"] = np.full(len(pose), published_wall_s)
            self.ring.write(channels)

    def push_event(self, event: dict) -> None:
        self.events.append(event)

    def drain_events(self) -> list[dict]:
        """Events since the last drain (GUI thread)."""
        out = []
        while True:
            try:
                out.append(self.events.popleft())
            except IndexError:
                return out
