"""Lab Streaming Layer output: head pose as one MoCap stream, events as a marker stream.

pylsl is an optional dependency (the ``lsl`` extra) and is imported only when an outlet is
made; without it :func:`require_pylsl` raises :class:`LslUnavailable` with a one-line message.

Streams (Lab Streaming Layer and XDF documentation; XDF MoCap meta-data):

- ``Cervitrack head`` (type ``MoCap``, ``cf_float32``, nominal rate = the device's): 7
  channels ``head_quat_w, head_quat_x, head_quat_y, head_quat_z`` (types ``OrientationA..D``,
  A = the scalar, unit ``normalized``: the head pose ``q_neutral_head``, the head's rotation
  from the calibrated neutral, Hamilton, scalar first) and ``axial_deg``, ``lateral_deg``,
  ``flexion_deg`` (types ``OrientationH``, ``OrientationR``, ``OrientationP``, unit
  ``degrees``: the intrinsic Z-X-Y head angles of docs/architecture.md; axial positive to the
  left, lateral positive to the right, flexion positive chin down).
- ``Cervitrack events`` (type ``Markers``, ``IRREGULAR_RATE``, one ``cf_string`` channel): each
  test event as a JSON object.

Timestamps: a sample's ``t_s`` is on the host monotonic clock (the device clock mapped by the
timebase). It is mapped to ``pylsl.local_clock()`` by one constant offset measured when the
streamer starts (``local_clock() − time.monotonic()``), so LSL receives the device's regular
sample times, not the bunched arrival times. For a source with simulated host time, the offset
is set at the first sample so that it goes out "now".
"""

from __future__ import annotations

import json
import time

import numpy as np

from cervitrack.trainer.recording.format import to_plain

POSE_CHANNELS = (
    # label, XDF MoCap type, unit
    ("head_quat_w", "OrientationA", "normalized"),
    ("head_quat_x", "OrientationB", "normalized"),
    ("head_quat_y", "OrientationC", "normalized"),
    ("head_quat_z", "OrientationD", "normalized"),
    ("axial_deg", "OrientationH", "degrees"),
    ("lateral_deg", "OrientationR", "degrees"),
    ("flexion_deg", "OrientationP", "degrees"),
)


class LslUnavailable(ValueError):
    """pylsl (or its native liblsl) is missing."""


def require_pylsl():
    """Import and return pylsl, or raise :class:`LslUnavailable` with a one-line message."""
    try:
        import pylsl
    except ImportError:
        raise LslUnavailable("--lsl needs pylsl: install the 'lsl' extra "
                             "(pip install 'cervitrack[lsl]')") from None
    except Exception as exc:  # pylsl raises RuntimeError when liblsl cannot be loaded
        raise LslUnavailable(f"--lsl: pylsl is installed but liblsl could not be loaded "
                             f"({str(exc).splitlines()[0] if str(exc) else exc!r}); see "
                             "`cervitrack sys-info`") from None
    return pylsl


class LslStreamer:
    """Two LSL outlets: the head-pose MoCap stream and the event marker stream.

    Args:
        nominal_rate_hz: the device's nominal sample rate.
        source_id: a stable id for receivers to recover the stream (device serial/address).
        host_clock: "monotonic" (sample ``t_s`` on the host monotonic clock) or "simulated".
        metadata: device info put into ``desc/acquisition``.
        name_prefix: stream name prefix (default "Cervitrack").
    """

    def __init__(self, nominal_rate_hz: float, *, source_id: str = "cervitrack",
                 host_clock: str = "monotonic", metadata: dict | None = None,
                 name_prefix: str = "Cervitrack") -> None:
        pylsl = require_pylsl()
        self._pylsl = pylsl
        self.samples_pushed = 0
        self.events_pushed = 0
        self.host_clock = host_clock
        self.offset_s = (pylsl.local_clock() - time.monotonic()
                         if host_clock == "monotonic" else None)
        info = pylsl.StreamInfo(f"{name_prefix} head", "MoCap", len(POSE_CHANNELS),
                                float(nominal_rate_hz), pylsl.cf_float32, f"{source_id}-head")
        desc = info.desc()
        chans = desc.append_child("channels")
        for label, ctype, unit in POSE_CHANNELS:
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("marker", "head")
            ch.append_child_value("object", "head")
            ch.append_child_value("type", ctype)
            ch.append_child_value("unit", unit)
        acq = desc.append_child("acquisition")
        device = (metadata or {}).get("device") or {}
        if isinstance(device, dict):
            acq.append_child_value("manufacturer", str(device.get("manufacturer", "unknown")))
            acq.append_child_value("model", str(device.get("model", device.get("spec", "unknown"))))
        acq.append_child_value("compensated_lag", "0")
        desc.append_child_value("quaternion_convention",
                                "q_neutral_head, Hamilton, scalar first (OrientationA = w)")
        desc.append_child_value("angle_convention",
                                "intrinsic Z-X-Y on head axes (ALS): axial + left, "
                                "lateral + right, flexion + chin down")
        self.pose_outlet = pylsl.StreamOutlet(info)
        marker_info = pylsl.StreamInfo(f"{name_prefix} events", "Markers", 1,
                                       pylsl.IRREGULAR_RATE, pylsl.cf_string,
                                       f"{source_id}-events")
        marker_info.desc().append_child_value("format", "one JSON object per marker")
        self.event_outlet = pylsl.StreamOutlet(marker_info)

    def lsl_time(self, t_s: np.ndarray) -> np.ndarray:
        """Map sample times ``t_s`` (host clock, s) to ``pylsl.local_clock()`` time, s."""
        t = np.asarray(t_s, dtype=np.float64)
        if self.offset_s is None:
            self.offset_s = self._pylsl.local_clock() - float(t.reshape(-1)[0])
        return t + self.offset_s

    def push_pose(self, t_s, quat_wxyz, angles_deg) -> None:
        """Push N head-pose samples.

        Args:
            t_s: (N,) sample times, host clock, s.
            quat_wxyz: (N, 4) ``q_neutral_head``, scalar first.
            angles_deg: (N, 3) axial, lateral, flexion in degrees.
        """
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        if t.size == 0:
            return
        data = np.hstack([np.asarray(quat_wxyz, dtype=np.float64).reshape(-1, 4),
                          np.asarray(angles_deg, dtype=np.float64).reshape(-1, 3)])
        self.pose_outlet.push_chunk(data.astype(np.float32), self.lsl_time(t).tolist())
        self.samples_pushed += t.size

    def push_event(self, event: dict) -> None:
        """Push one event dict (``t_s`` host clock s, ``kind``...) as a JSON marker."""
        text = json.dumps(to_plain(event), separators=(",", ":"), ensure_ascii=False)
        t = event.get("t_s")
        if t is None or self.offset_s is None and self.host_clock != "monotonic":
            self.event_outlet.push_sample([text])
        else:
            self.event_outlet.push_sample([text], float(self.lsl_time(np.array([t]))[0]))
        self.events_pushed += 1

    def close(self) -> None:
        """Drop the outlets (receivers see the streams end)."""
        self.pose_outlet = None
        self.event_outlet = None
