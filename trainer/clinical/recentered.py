"""Common frame of the tests that follow the JPE protocol's outline: a functional calibration,
then items (a direction's trial, a tracking repetition, a tracing pattern), each starting from a
re-centred, settled head whose mean orientation is the item's reference.

:class:`RecenteredTest` reuses :class:`~cervitrack.trainer.clinical.jpe.JpeTest`'s calibration phases,
windows, gap bookkeeping and redo rule; a subclass lists its items, starts each item from the
reference (:meth:`RecenteredTest._begin`) and records it with :meth:`RecenteredTest._record`.
:class:`DirectionalTest` is the frame of the tests whose items are directions (ROM, target JPE).
The re-centring is accepted only when the head is within ``recenter_tolerance_deg`` of the
calibrated neutral, so a person still holding an end position is never taken as centred.
"""

from __future__ import annotations

import abc
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT, JpeSettings, JpeTest
from cervitrack.trainer.clinical.prompts import Prompt, make_prompt


@dataclass(frozen=True)
class RecenteredSettings(JpeSettings):
    """JPE settings plus: ``recenter_tolerance_deg``, the largest angle from the calibrated
    neutral accepted as centred (deg; a design default)."""

    recenter_tolerance_deg: float = 10.0


@dataclass
class Item:
    """The state of one item (trial or repetition) being run."""

    key: str
    attempt: int
    ref: dict | None = None
    q_ref_head: np.ndarray | None = None
    t_start_s: float = np.nan
    data: dict = field(default_factory=dict)


class RecenteredTest(JpeTest, metaclass=abc.ABCMeta):
    """Base engine; see the module docstring.

    Args:
        settings: a :class:`RecenteredSettings` (or subclass).
        items: the item keys in order (a key may repeat: one run per occurrence).
        rate_hz: nominal sample rate, Hz.
        calibration: an existing calibration, or None to run the functional calibration.
    """

    def __init__(self, settings, items, rate_hz: float = 100.0, calibration=None) -> None:
        super().__init__(settings, rate_hz, calibration)
        self._queue = deque(items)
        self._redos = {key: 0 for key in items}
        self._item: Item | None = None

    @property
    def _current(self) -> Item:
        """The item being run (set from the first re-centring until the test is done)."""
        assert self._item is not None, "an item is running"
        return self._item

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def _begin(self, item: Item, t_s: float) -> list[Prompt] | Prompt:
        """Start the item from its reference (set); return the prompt(s). Each test its own."""

    # ------------------------------------------------------------------ helpers
    def _say(self, phase: str, t_s: float, kind: str, direction=None, target=None,
             reason: str = "") -> Prompt:
        self.phase = phase
        self._phase_t_s = float(t_s)
        prompt = make_prompt(kind, float(t_s), direction, reason, target=target)
        self._emit_event(prompt.as_event())
        return prompt

    def _relative_head(self, pose, i0: int, q_ref_head) -> np.ndarray:
        """q_ref_head⁻¹ ⊗ q_world_head for pose samples i0… (N, 4): the head relative to the
        item's reference, in head axes."""
        return quat.relative(q_ref_head, self._head_cal.world_head(pose.q_world_sensor[i0:]))

    def _cursor_deg(self, pose, i0: int, q_ref_head, distance_cm: float = 90.0) -> np.ndarray:
        """(N, 2) laser-dot position (x left, y up) in deg of visual angle on a wall facing the
        reference head at ``distance_cm``."""
        lp = kinematics.laser_point(self._relative_head(pose, i0, q_ref_head), distance_cm)
        return np.stack([np.atleast_1d(lp["x_deg"]), np.atleast_1d(lp["y_deg"])], axis=1)

    def _lost_record(self, item: Item) -> dict:
        """The fields of an item's record when the signal was lost during it (what the test's
        scores group by); each test its own."""
        return {}

    def _abandon_item(self, t_s: float, reason: str) -> list[Prompt]:
        """Record the item under way as invalid (``reason``) and redo it, not counted against
        ``max_redos_per_direction`` (see :class:`~cervitrack.trainer.clinical.jpe.JpeTest`)."""
        return self._record(t_s, self._lost_record(self._current), reason, counted=False)

    def _gap_between(self, t0_s: float, t1_s: float) -> bool:
        return any(t0_s <= g <= t1_s for g in self._gap_times)

    def _record(self, t_s: float, record: dict, invalid: str | None,
                counted: bool = True) -> list[Prompt]:
        """Store an item's record (with ``valid``/``reason``) and move on: next item, or a redo
        of this one (up to ``max_redos_per_direction`` per key; a redo not ``counted`` is
        always given)."""
        item = self._current
        record = {"key": item.key, "attempt": item.attempt, **record,
                  "valid": invalid is None, "reason": invalid}
        if item.ref is not None:
            record["ref_window"] = {k: v for k, v in item.ref.items() if k != "slice"}
        self.trials.append(record)
        self._emit_event({"t_s": float(t_s), "kind": "trial",
                          **{k: v for k, v in record.items() if k not in ("trace",)}})
        return self._move_on(t_s, item.key, invalid is None, invalid, counted)

    # ------------------------------------------------------------------ shared phases
    def _start_item(self, key: str) -> dict:
        self._item = Item(key, self._redos[key])
        return {"key": key, "attempt": self._item.attempt}

    def _phase_recenter(self, pose, i0):
        found = self._recentred(pose, i0)
        if found is None:
            return None, None
        j, ref, q_ref_head = found
        t = float(pose.t_s[j])
        off_deg = float(quat.angle_deg(quat.relative(self.calibration.q_world_neutral, q_ref_head)))
        if off_deg > self.settings.recenter_tolerance_deg:
            # Not back at the centre yet: wait for a new settled window.
            self._phase_t_s = t
            return j, None
        item = self._current
        item.ref, item.q_ref_head = ref, q_ref_head
        self._add_bias_window(ref)
        return j, self._begin(item, t)


class DirectionalTest(RecenteredTest):
    """A :class:`RecenteredTest` whose items are the settings' directions, each
    ``trials_per_direction`` times in a row (the order of the JPE test's trials)."""

    def __init__(self, settings, rate_hz: float = 100.0, calibration=None) -> None:
        items = [d for d in settings.directions for _ in range(settings.trials_per_direction)]
        super().__init__(settings, items, rate_hz, calibration)

    def _along(self, pose, i0: int, item: Item) -> np.ndarray:
        """The head's angle (N,) from the item's reference along its direction (the
        direction's anatomical component, positive outwards) for pose samples i0…, deg."""
        name, sign = DIRECTION_COMPONENT[item.key]
        return sign * kinematics.head_angles_deg(self._relative_head(pose, i0, item.q_ref_head))[name]
