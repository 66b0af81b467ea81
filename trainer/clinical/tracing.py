"""Laser pattern tracing test (figure-eight, zigzag): trace a pattern with the head-driven dot,
staying inside a band around the path.

Emulates the laser tracing test (Werner et al.
2018, BMC Musculoskelet Disord 19:358; Ernst et al. 2019, Musculoskelet Sci Pract 43:64) on the
virtual wall (a Cervitrack design proposal: virtual dot, band around the path, exits counted,
deviation integrated). Per pattern: from the re-centred neutral, the person puts the dot on the
pattern's start (within the band, still for ``hold_s``), then traces it; the run ends when the
dot has progressed to the end of the path (within ``band_deg`` of it) or after ``max_time_s``.

Outcomes (:func:`trace_scores`), with d_i the distance of the dot from the path (deg) and the
band half-width b:

- ``time_s``: from the "trace" prompt to the end of the path;
- ``error_count``: departures from the band: runs of samples with d_i > b lasting at least
  ``min_departure_s`` (shorter excursions are not counted);
- ``error_magnitude_deg_s``: ∫ max(d − b, 0) dt over the run (deg·s);
- ``mean_excess_deg``: mean of d − b over the samples outside the band (deg);
- ``max_deviation_deg``: the largest d (deg); ``completed``: whether the end was reached.

Published cut-offs for the physical laser test (Ernst et al. 2019): 9 errors for the
figure-eight (LR+ 3.67, LR− 0.17) and 10 for the zigzag (LR+ 3.00, LR− 0.38). This emulation's
pattern sizes, band and speed are its own; it has not been validated against those cut-offs, so
they are shown for orientation only and never used as flags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cervitrack.trainer.clinical.recentered import Item, RecenteredSettings, RecenteredTest
from cervitrack.trainer.clinical.trajectories import PATTERNS, make_pattern

PUBLISHED_CUTOFFS = {
    "figure8": {"errors": 9, "source": "Ernst et al. 2019, Musculoskelet Sci Pract 43:64 "
                                       "(LR+ 3.67, LR- 0.17; physical laser test)"},
    "zigzag": {"errors": 10, "source": "Ernst et al. 2019, Musculoskelet Sci Pract 43:64 "
                                       "(LR+ 3.00, LR- 0.38; physical laser test)"},
}
TRACE_RATE_HZ = 20.0


def departures(outside, t_s, min_departure_s: float) -> list[tuple[int, int]]:
    """Runs [start, stop) of consecutive outside samples lasting ≥ min_departure_s (s)."""
    out = np.asarray(outside, dtype=bool)
    t = np.asarray(t_s, dtype=np.float64)
    if out.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], out.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    return [(int(a), int(b)) for a, b in zip(starts, stops)
            if t[b - 1] - t[a] + dt >= min_departure_s - 1e-9]


def trace_scores(t_s, distance_deg, band_deg: float, min_departure_s: float = 0.1) -> dict:
    """Error count and magnitude of a tracing run.

    Args:
        t_s: (N,) sample times, s (uniformly spaced).
        distance_deg: (N,) distance of the dot from the path, deg.
        band_deg: band half-width b, deg.
        min_departure_s: shortest departure counted, s.

    Returns:
        ``error_count``, ``error_magnitude_deg_s`` (∫ max(d − b, 0) dt, each sample weighted
        by the median sample interval), ``mean_excess_deg`` (0 without departures),
        ``max_deviation_deg`` and ``outside_pct`` (share of samples outside the band, %).
    """
    t = np.asarray(t_s, dtype=np.float64)
    d = np.asarray(distance_deg, dtype=np.float64)
    if len(t) == 0:
        return {"error_count": 0, "error_magnitude_deg_s": 0.0, "mean_excess_deg": 0.0,
                "max_deviation_deg": np.nan, "outside_pct": np.nan}
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    excess = np.maximum(d - band_deg, 0.0)
    outside = d > band_deg
    return {
        "error_count": len(departures(outside, t, min_departure_s)),
        "error_magnitude_deg_s": float(excess.sum() * dt),
        "mean_excess_deg": float(excess[outside].mean()) if outside.any() else 0.0,
        "max_deviation_deg": float(d.max()),
        "outside_pct": 100.0 * float(outside.mean()),
    }


@dataclass(frozen=True)
class TraceSettings(RecenteredSettings):
    """Tracing settings (deg and s): patterns run in order, ``repetitions`` each; pattern size
    ``width_deg`` × ``height_deg`` (zigzag: ``teeth``); band half-width ``band_deg``; progress
    along the path is searched at most ``search_back_deg`` behind and ``search_ahead_deg``
    ahead of the furthest point reached (so a crossing is not taken as a short cut), and counts
    while the dot is within ``progress_capture_deg`` of the path."""

    directions: tuple = ()
    patterns: tuple = ("figure8",)
    repetitions: int = 1
    width_deg: float = 30.0
    height_deg: float = 12.0
    teeth: int = 3
    band_deg: float = 1.5
    min_departure_s: float = 0.1
    max_time_s: float = 60.0
    search_back_deg: float = 2.0
    search_ahead_deg: float = 6.0
    progress_capture_deg: float = 5.0
    distance_cm: float = 90.0


class TraceTest(RecenteredTest):
    """Pattern tracing test engine (see the module docstring)."""

    settings: TraceSettings
    name = "trace"

    def __init__(self, settings: TraceSettings = TraceSettings(), rate_hz: float = 100.0,
                 calibration=None) -> None:
        for p in settings.patterns:
            if p not in PATTERNS:
                raise ValueError(f"unknown tracing pattern {p!r} (patterns: {', '.join(PATTERNS)})")
        items = [f"{p}/{r}" for p in settings.patterns for r in range(settings.repetitions)]
        super().__init__(settings, items, rate_hz, calibration)

    def _spec(self, name: str) -> dict:
        s = self.settings
        spec = {"kind": "trace", "pattern": name, "width_deg": s.width_deg, "height_deg": s.height_deg}
        if name == "zigzag":
            spec["teeth"] = s.teeth
        return spec

    def _begin(self, item: Item, t_s: float):
        name = item.key.split("/")[0]
        spec = self._spec(name)
        pattern = make_pattern(spec)
        item.data.update(spec=spec, pattern=pattern, t=[], dist=[], cursor=[], progress_deg=0.0)
        return self._say("to_start", t_s, "trace_start",
                         target={**spec, "start_deg": pattern.start_deg.tolist()})

    def _phase_to_start(self, pose, i0):
        item, s = self._current, self.settings
        cursor = self._cursor_deg(pose, i0, item.q_ref_head, s.distance_cm)
        near = np.linalg.norm(cursor - item.data["pattern"].start_deg, axis=1) <= s.band_deg
        j = self._settled_index(pose, i0, s.hold_s, self._phase_t_s + 0.5)
        while j is not None and not near[j - i0]:
            j = self._settled_index(pose, j + 1, s.hold_s, self._phase_t_s + 0.5)
        if j is None:
            if float(pose.t_s[-1]) - self._phase_t_s > s.move_timeout_s:
                return len(pose) - 1, self._record(pose.t_s[-1], {"pattern": item.key.split("/")[0]},
                                                   "the dot was not put on the start")
            return None, None
        item.t_start_s = float(pose.t_s[j])
        return j, self._say("trace", item.t_start_s, "trace",
                            target={**item.data["spec"], "t_start_s": item.t_start_s})

    def _phase_trace(self, pose, i0):
        item, s = self._current, self.settings
        pattern = item.data["pattern"]
        t = pose.t_s[i0:]
        cursor = self._cursor_deg(pose, i0, item.q_ref_head, s.distance_cm)
        progress = item.data["progress_deg"]
        dist, arc = pattern.nearest(cursor, progress - s.search_back_deg,
                                    progress + s.search_ahead_deg + s.band_deg)
        # Progress is the furthest arc reached within progress_capture_deg of the path (a dot
        # outside the band still advances along it; the departure is counted as an error).
        inside_arc = np.where(dist <= s.progress_capture_deg, arc, -np.inf)
        reach = np.maximum.accumulate(np.maximum(inside_arc, progress))
        done = np.flatnonzero(reach >= pattern.length_deg - s.band_deg)
        timeout = np.flatnonzero(t - item.t_start_s > s.max_time_s)
        stop = min([int(done[0]) if done.size else len(t), int(timeout[0]) if timeout.size else len(t)])
        # Follow progress batch by batch: a batch may run far ahead of the search window.
        end = min(stop + 1, len(t))
        item.data["t"].append(t[:end])
        item.data["dist"].append(dist[:end])
        item.data["cursor"].append(cursor[:end])
        item.data["progress_deg"] = float(reach[end - 1])
        if stop == len(t):
            return None, None
        return i0 + stop, self._finish_run(float(t[stop]), completed=bool(done.size and done[0] == stop))

    def _lost_record(self, item: Item) -> dict:
        name, rep = item.key.split("/")
        return {"pattern": name, "repetition": int(rep), "completed": False}

    def _finish_run(self, t_s: float, completed: bool):
        item, s = self._current, self.settings
        t = np.concatenate(item.data["t"])
        dist = np.concatenate(item.data["dist"])
        cursor = np.concatenate(item.data["cursor"])
        scores = trace_scores(t, dist, s.band_deg, s.min_departure_s)
        name = item.key.split("/")[0]
        step = max(1, int(round(self.rate_hz / TRACE_RATE_HZ)))
        record = {"pattern": name, "repetition": int(item.key.split("/")[1]),
                  "completed": completed, "time_s": float(t_s - item.t_start_s),
                  "progress_pct": 100.0 * item.data["progress_deg"] / item.data["pattern"].length_deg,
                  **scores, "band_deg": s.band_deg,
                  "published_cutoff": PUBLISHED_CUTOFFS[name],
                  "trace": {"t_s": np.round(t[::step] - item.t_start_s, 3).tolist(),
                            "cursor_deg": np.round(cursor[::step], 3).tolist()},
                  "pattern_spec": item.data["spec"]}
        invalid = "a data gap occurred during the run" if self._gap_between(item.t_start_s, t_s) else None
        return self._record(t_s, record, invalid)

    def scores(self) -> dict:
        return trace_summary(self.trials, self.settings.patterns)


def trace_summary(trials: list[dict], patterns) -> dict:
    """Per pattern: the valid runs' outcomes (time, errors, magnitude) and their means."""
    keys = ("time_s", "error_count", "error_magnitude_deg_s", "mean_excess_deg")
    out = {}
    for p in patterns:
        runs = [tr for tr in trials if tr.get("pattern") == p and tr["valid"]]
        out[p] = {"n": len(runs),
                  **{k: (float(np.mean([tr[k] for tr in runs])) if runs else None) for k in keys},
                  "completed": all(tr["completed"] for tr in runs) if runs else False,
                  "published_cutoff": PUBLISHED_CUTOFFS[p]}
    return out
