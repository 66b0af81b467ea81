"""Timebase: unwrap device counters and clocks, and map device time to host monotonic time.

Why: BLE delivers samples in bunches per connection event and serial adapters buffer, so host
arrival times (``t_host_s``) carry tens of milliseconds of jitter. A device clock (or the frame
counter times the nominal period) is regular; what is unknown is its offset and its drift
relative to the host clock. This module estimates both and stamps every sample with
``t_s = offset_s + (1 + drift) · t_device_s`` on the host monotonic clock.

Estimator (lower envelope): every chunk's last sample cannot have arrived before it was
sampled, so ``t_host - t_device`` is the true offset plus a non-negative latency. The smallest
values over time trace the offset with minimal latency. Offsets are collected per chunk; the
minimum per ``bin_s`` bin over the last ``window_s`` is taken, and a line through those minima
(least squares on the lower envelope) gives drift and offset. Until ``min_span_s`` of data has
been seen, the drift is taken as 0 and the offset as the running minimum.

Unwrapping: a counter with modulus M advances by ``(seq - last) mod M`` frames. After a gap
(disconnect), the number of whole wraps missed is estimated from the host time elapsed, so a
reconnect after longer than one wrap period still continues the count. Clocks are unwrapped
the same way in seconds.

The mapped times are kept strictly increasing: a later estimate that would move a sample
before its predecessor is slewed to lie just after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cervitrack.firmware_bridge.samples import SampleBatch


class Unwrapper:
    """Streaming unwrap of a wrapping counter or clock.

    Args:
        modulus: the value at which the raw signal wraps (e.g. 65536 frames, 4294.967296 s);
            None for a signal that does not wrap.
    """

    def __init__(self, modulus: float | None) -> None:
        self.modulus = modulus
        self._offset = 0.0
        self._last_raw: float | None = None
        self._last_unwrapped: float | None = None

    def feed(self, raw, expected_advance: float | None = None) -> np.ndarray:
        """Unwrap raw values (N,) that continue the previous call's values.

        Args:
            raw: (N,) raw values in [0, modulus).
            expected_advance: after a gap, the approximate advance expected between the last
                value seen and ``raw[0]`` (e.g. elapsed host seconds × rate for a counter); used
                to count whole wraps missed. None for a continuous stream.
        """
        x = np.asarray(raw, dtype=np.float64)
        if x.size == 0:
            return x
        if self.modulus is None:
            out = x.copy()
        else:
            m = float(self.modulus)
            prev = x[0] if self._last_raw is None else self._last_raw
            steps = np.diff(x, prepend=prev)
            # A step back by more than half the modulus is a wrap forward.
            steps = np.where(steps < -m / 2, steps + m, steps)
            steps = np.where(steps > m / 2, steps - m, steps)
            if self._last_raw is None:
                base = x[0]
            else:
                base = self._last_unwrapped
                if expected_advance is not None and expected_advance > m / 2:
                    first_step = (x[0] - self._last_raw) % m
                    wraps = round((expected_advance - first_step) / m)
                    steps[0] = first_step + max(0, wraps) * m
            out = base + np.cumsum(steps)
            if self._last_raw is None:
                out -= steps[0]
        self._last_raw = float(x[-1])
        self._last_unwrapped = float(out[-1])
        return out


@dataclass(frozen=True)
class TimebaseParams:
    """Estimator settings (see module docstring)."""

    window_s: float = 120.0
    bin_s: float = 2.0
    min_span_s: float = 20.0


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
        self._seq = Unwrapper(seq_modulus)
        self._clock = Unwrapper(clock_wrap_s)
        self._bins: dict[int, float] = {}
        self._offset_s = math.nan
        self._drift = 0.0
        self._t_dev_anchor = math.nan
        self._last_t_s = -math.inf
        self._last_host_s = math.nan
        self._after_gap = False

    @classmethod
    def for_decoder(cls, decoder, **kwargs) -> "Timebase":
        return cls(decoder.seq_modulus, decoder.has_clock, decoder.clock_wrap_s,
                   decoder.nominal_rate_hz, **kwargs)

    @property
    def offset_s(self) -> float:
        """Current estimate of host time at device time 0, s."""
        return self._offset_s

    @property
    def drift_ppm(self) -> float:
        """Current estimate of device clock drift relative to the host, parts per million."""
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
            t_s = self._offset_s + t_dev + self._drift * (t_dev - self._t_dev_anchor)
        # Keep strictly increasing: slew any backward step forward by a tenth of a period.
        min_step = 0.1 / self.nominal_rate_hz
        floor = np.maximum.accumulate(np.concatenate([[self._last_t_s], t_s]))[:-1] + min_step
        t_s = np.maximum(t_s, floor)
        t_s = np.maximum.accumulate(t_s)
        self._last_t_s = float(t_s[-1])
        return batch.with_(seq=seq.astype(np.int64), t_device_s=t_dev, t_s=t_s)

    def _update_fit(self, t_dev: np.ndarray, host: np.ndarray) -> None:
        # The last sample of each chunk (same host time) bounds the offset from above.
        finite = np.isfinite(host)
        t_dev, host = t_dev[finite], host[finite]
        last_of_chunk = np.concatenate([host[1:] != host[:-1], [True]])
        cand = host[last_of_chunk] - t_dev[last_of_chunk]
        keys = np.floor(t_dev[last_of_chunk] / self.params.bin_s).astype(np.int64)
        new_bin = False
        for key, c in zip(keys.tolist(), cand.tolist()):
            old = self._bins.get(key)
            if old is None:
                new_bin = True
                self._bins[key] = c
            elif c < old:
                self._bins[key] = c
                # Between refits, a lower point below the line shifts the line down to it.
                if not math.isnan(self._offset_s):
                    line = self._offset_s + self._drift * ((key + 0.5) * self.params.bin_s
                                                           - self._t_dev_anchor)
                    if c < line:
                        self._offset_s -= line - c
        if new_bin or math.isnan(self._offset_s):
            self._refit()

    def _refit(self) -> None:
        p = self.params
        newest = max(self._bins)
        for key in [k for k in self._bins if k < newest - p.window_s / p.bin_s]:
            del self._bins[key]
        keys = np.array(sorted(self._bins))
        vals = np.array([self._bins[k] for k in keys])
        centres = (keys + 0.5) * p.bin_s
        if len(keys) >= 3 and centres[-1] - centres[0] >= p.min_span_s:
            x = centres - self._t_dev_anchor
            slope, intercept = np.polyfit(x, vals, 1)
            # Lower envelope of a line: shift down to touch the lowest residual.
            resid = vals - (intercept + slope * x)
            self._drift = float(slope)
            self._offset_s = float(intercept + resid.min())
        else:
            self._offset_s = float(vals.min())
            self._drift = 0.0
