"""Timebase: unwrap device counters and clocks, and map device time to host monotonic time.

Why: BLE delivers samples in bunches per connection event and serial adapters buffer, so host
arrival times (``t_host_s``) carry tens of milliseconds of jitter. A device clock (or the frame
counter times the nominal period) is regular; what is unknown is its offset and its drift
relative to the host clock. This module estimates both and stamps every sample with
``t_s = offset_s + (1 + drift) · (t_device_s - anchor)`` on the host monotonic clock.

Estimator (lower envelope, Moon, Skelly & Towsley 1999, "Estimation and removal of clock skew
from network delay measurements", IEEE INFOCOM): a sample cannot arrive before it was taken, so
every point ``(t_device, t_host - t_device)`` lies on or above the line ``offset + drift ·
t_device`` by its transport latency (connection-event wait, adapter buffering, scheduling). The
minimum per ``bin_s`` bin of device time is kept for the last ``window_s``; the line is the
one that lies below every kept point and is as high as possible in the middle of their device
time range, i.e. the edge of the points' lower convex hull spanning that middle (Moon et al.'s
linear programme, which maximises the mean height). It is refitted once per new bin, so the mapping is constant in between and
sample times carry no arrival jitter at all. A new point below the line lowers the offset at
once (the line must stay below every arrival). Until ``min_span_s`` of device time has been
seen, the previous drift (0 at start) is kept and only the offset is estimated.

The mapped time is the sampling instant plus the smallest transport latency seen (about a
millisecond on BLE); that constant is common to all samples of a link.

Unwrapping (:mod:`cervitrack.signal.unwrap`): a counter with modulus M advances by
``(seq - last) mod M`` frames (a small backward step stays backward). After a gap
(disconnect), the number of whole wraps missed is estimated from the host time elapsed, so a
reconnect after longer than one wrap period still continues the count. Clocks are unwrapped
the same way in seconds. A device clock that jumps back (device restarted) or far off the line
restarts the estimate.

The mapped times are kept strictly increasing: a later estimate that would move a sample
before its predecessor is slewed to lie just after it.

See docs/timebase.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cervitrack.signal.samples import SampleBatch
from cervitrack.signal.unwrap import unwrap_clock, unwrap_counter


class _GapAwareUnwrap:
    """Streaming unwrap (:mod:`cervitrack.signal.unwrap`) that, after a gap, also counts the
    whole wraps missed, from the advance expected over the elapsed host time.

    Args:
        wrap: the value at which the raw signal wraps (65536 frames, 4294.967296 s...); None
            for a signal that does not wrap.
        counter: True for an integer counter, False for a clock in seconds.
    """

    def __init__(self, wrap, counter: bool) -> None:
        self.wrap = wrap
        self._unwrap = unwrap_counter if counter else unwrap_clock
        self.last = None

    def feed(self, raw, expected_advance: float | None = None) -> np.ndarray:
        """Unwrap raw values (N,) continuing the previous call's; ``expected_advance``: after a
        gap, the approximate advance between the last value seen and ``raw[0]``."""
        raw = np.asarray(raw)
        if raw.size == 0:
            return raw.astype(np.float64)
        if (self.last is not None and self.wrap is not None and expected_advance is not None
                and expected_advance > self.wrap / 2):
            first_step = (raw[0] - self.last) % self.wrap
            wraps = max(0, round((expected_advance - first_step) / self.wrap))
            relative = self._unwrap(raw, self.wrap)
            out = relative - relative[0] + self.last + first_step + wraps * self.wrap
        else:
            out = self._unwrap(raw, self.wrap, self.last)
        self.last = out[-1].item()
        return out.astype(np.float64)


@dataclass(frozen=True)
class TimebaseParams:
    """Estimator settings (see module docstring).

    Attributes:
        window_s: arrival minima are kept for the newest ``window_s / bin_s`` bins that
            received data (a disconnect does not empty the window: the device clock runs on,
            and points on both sides of a gap give a long baseline), s of device time.
        bin_s: one minimum is kept per bin of this much device time, s.
        min_span_s: device time needed before the drift is estimated, s.
        max_drift_ppm: estimates beyond this are implausible for a clock and are clipped.
        restart_s: a point this far from the current line means the device clock restarted
            (or was replaced); the estimate starts over, s.
    """

    window_s: float = 600.0
    bin_s: float = 1.0
    min_span_s: float = 10.0
    max_drift_ppm: float = 20000.0
    restart_s: float = 2.0


def lower_envelope_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The line ``y = a + b·x`` below all points (x, y) that is highest at the middle of their
    x range: the edge of the lower convex hull spanning that middle. (Moon et al. 1999 take
    the mean of ``x``; the middle of the range differs only when the points are uneven, e.g.
    across a disconnect, where it picks the edge bridging the gap: the longest baseline.)

    Args:
        x: (N,) strictly increasing abscissae, N >= 2.
        y: (N,) values.

    Returns:
        (a, b): intercept and slope.
    """
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            # Drop i1 when it lies on or above the segment i0 → i (not a lower-hull vertex).
            if (y[i1] - y[i0]) * (x[i] - x[i0]) >= (y[i] - y[i0]) * (x[i1] - x[i0]):
                hull.pop()
            else:
                break
        hull.append(i)
    xm = 0.5 * float(x[0] + x[-1])
    hx = x[hull]
    k = int(np.clip(np.searchsorted(hx, xm, side="right") - 1, 0, len(hull) - 2))
    i0, i1 = hull[k], hull[k + 1]
    b = float((y[i1] - y[i0]) / (x[i1] - x[i0]))
    return float(y[i0] - b * x[i0]), b


class Timebase:
    """Streaming device→host time mapping for one link.

    Args:
        seq_modulus: wrap of the frame counter, None if it does not wrap.
        has_clock: whether ``t_device_s`` carries a device clock; if not, the unwrapped
            counter times ``1 / nominal_rate_hz`` stands in.
        clock_wrap_s: wrap of the device clock in s, None if it does not wrap.
        nominal_rate_hz: the device's nominal sample rate.
    """

    def __init__(self, seq_modulus: int | None, has_clock: bool, clock_wrap_s: float | None,
                 nominal_rate_hz: float, params: TimebaseParams = TimebaseParams()) -> None:
        self.has_clock = has_clock
        self.nominal_rate_hz = float(nominal_rate_hz)
        self.params = params
        self._seq = _GapAwareUnwrap(seq_modulus, counter=True)
        self._clock = _GapAwareUnwrap(clock_wrap_s, counter=False)
        # Per-bin minima: bin key → (device time of the minimum, host - device at it).
        self._bins: dict[int, tuple[float, float]] = {}
        self._offset_s = math.nan  # host - device at the anchor
        self._drift = 0.0
        self._t_dev_anchor = math.nan
        self._last_t_s = -math.inf
        self._last_host_s = math.nan
        self._after_gap = False
        self.restarts = 0

    @classmethod
    def for_decoder(cls, decoder, **kwargs) -> Timebase:
        return cls(decoder.seq_modulus, decoder.has_clock, decoder.clock_wrap_s,
                   decoder.nominal_rate_hz, **kwargs)

    @property
    def offset_s(self) -> float:
        """Current estimate of host time minus device time at the anchor (the first device
        time seen), s."""
        return self._offset_s

    @property
    def drift_ppm(self) -> float:
        """Current estimate of the host clock's rate relative to the device's, minus 1, in
        parts per million (a device clock running 40 ppm fast gives about -40)."""
        return self._drift * 1e6

    def mark_gap(self) -> None:
        """Tell the timebase the stream was interrupted (wraps may have been missed)."""
        self._after_gap = True

    def process(self, batch: SampleBatch) -> SampleBatch:
        """Unwrap ``seq`` and ``t_device_s`` and set ``t_s`` (host monotonic seconds).

        All samples of a batch must come from one chunk sequence in order. Batches without
        ``t_host_s`` (offline decoding) are mapped with offset 0: ``t_s`` = device time.
        """
        if len(batch) == 0:
            return batch
        host = batch.t_host_s
        elapsed = (float(np.nanmax(host)) - self._last_host_s
                   if self._after_gap and np.isfinite(self._last_host_s) else None)
        seq = self._seq.feed(batch.seq, None if elapsed is None else elapsed * self.nominal_rate_hz)
        if self.has_clock and np.all(np.isfinite(batch.t_device_s)):
            t_dev = self._clock.feed(batch.t_device_s, elapsed)
        else:
            t_dev = seq / self.nominal_rate_hz
        self._after_gap = False
        if math.isnan(self._t_dev_anchor):
            self._t_dev_anchor = float(t_dev[0])
        if np.any(np.isfinite(host)):
            self._update_fit(t_dev, host)
            self._last_host_s = float(np.nanmax(host))
        if math.isnan(self._offset_s):
            t_s = t_dev.copy()
        else:
            x = t_dev - self._t_dev_anchor
            t_s = t_dev + self._offset_s + self._drift * x
        # Keep strictly increasing: every sample at least a tenth of a period after the one
        # before it (after adjustment). With s the step, adj[k] = max(t[k], adj[k-1] + s) is
        # max over j <= k of (t[j] - j·s), plus k·s: one cumulative maximum.
        min_step = 0.1 / self.nominal_rate_hz
        steps = np.arange(len(t_s)) * min_step
        t_s = np.maximum.accumulate(np.concatenate([[self._last_t_s + min_step], t_s - steps]))[1:] + steps
        self._last_t_s = float(t_s[-1])
        return batch.with_(seq=seq.astype(np.int64), t_device_s=t_dev, t_s=t_s)

    def _line(self, x) -> np.ndarray:
        return self._offset_s + self._drift * x

    def _update_fit(self, t_dev: np.ndarray, host: np.ndarray) -> None:
        finite = np.isfinite(host)
        x = t_dev[finite] - self._t_dev_anchor
        c = host[finite] - t_dev[finite]
        if not math.isnan(self._offset_s):
            off = c - self._line(x)
            if np.any(np.abs(off) > self.params.restart_s) or np.any(np.diff(x) < -self.params.restart_s):
                self._restart(float(t_dev[finite][0]))
                x = t_dev[finite] - self._t_dev_anchor
        keys = np.floor(x / self.params.bin_s).astype(np.int64)
        if keys[0] == keys[-1]:
            # A live chunk (a few ms) lies in one bin: its minimum is the only candidate.
            candidates = [int(np.argmin(c))]
        else:
            # Minimum per bin within this batch (keys non-decreasing in a continuous stream).
            order = np.lexsort((c, keys))
            first = np.concatenate([[True], keys[order][1:] != keys[order][:-1]])
            candidates = order[first].tolist()
        new_bin = False
        for i in candidates:
            key = int(keys[i])
            old = self._bins.get(key)
            if old is None:
                new_bin = True
            if old is None or c[i] < old[1]:
                self._bins[key] = (float(x[i]), float(c[i]))
        if new_bin or math.isnan(self._offset_s):
            self._refit()
        # The line must stay below every arrival: lower it at once when a point is below.
        below = float(np.min(c - self._line(x)))
        if below < 0:
            self._offset_s += below

    def _restart(self, t_dev_first: float) -> None:
        self.restarts += 1
        self._bins.clear()
        self._t_dev_anchor = t_dev_first
        self._offset_s = math.nan
        self._drift = 0.0

    def _refit(self) -> None:
        p = self.params
        keys = sorted(self._bins)
        excess = len(keys) - max(3, int(p.window_s / p.bin_s))
        for key in keys[:max(0, excess)]:
            del self._bins[key]
        keys = keys[max(0, excess):]
        pts = np.array([self._bins[k] for k in keys])
        x, c = pts[:, 0], pts[:, 1]
        if len(keys) >= 3 and x[-1] - x[0] >= p.min_span_s:
            offset, drift = lower_envelope_line(x, c)
            limit = p.max_drift_ppm * 1e-6
            if abs(drift) <= limit:
                self._offset_s, self._drift = offset, drift
                return
        # Not enough span (or an implausible slope): keep the drift, fit the offset only.
        self._offset_s = float(np.min(c - self._drift * x))


def measured_rate_hz(seq, t_host_s, t_device_s=None) -> float:
    """The rate a device really samples at, Hz, from its first seconds of samples.

    ``seq`` is the unwrapped frame counter (or the sample index when the device has none),
    ``t_host_s`` the arrival times (host monotonic s), ``t_device_s`` the unwrapped device clock
    (s) when the device has one, else None. With a clock: counter advance over device time
    (exact, independent of transport jitter and losses). Without: counter advance over the
    host time between the first and last arrival (arrival jitter of tens of ms over a few
    seconds is a few per cent). NaN with fewer than two samples or no elapsed time.
    """
    seq = np.asarray(seq, dtype=np.float64)
    if seq.size < 2:
        return math.nan
    t = None if t_device_s is None else np.asarray(t_device_s, dtype=np.float64)
    if t is None or not np.all(np.isfinite(t)):
        t = np.asarray(t_host_s, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(seq)
    if ok.sum() < 2:
        return math.nan
    t, seq = t[ok], seq[ok]
    span_s = float(t[-1] - t[0])
    if span_s <= 0:
        return math.nan
    return float(seq[-1] - seq[0]) / span_s
