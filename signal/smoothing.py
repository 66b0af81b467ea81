"""Smoothing: a low-lag adaptive filter for live feedback, zero-phase filtering for analysis.

Live feedback (causal): the One Euro filter (Casiez, Roussel & Vogel 2012, "1€ Filter: A
Simple Speed-based Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012,
doi:10.1145/2207676.2208639). A first-order low-pass whose cutoff rises with the speed of the
signal: at rest the cutoff is ``min_cutoff_hz`` (jitter is removed), while moving it is
``min_cutoff_hz + beta · |ẋ|`` (lag is removed). The speed ẋ is the raw sample difference
low-passed at ``d_cutoff_hz``, as in the authors' reference C++ implementation (its
``lastRawValue``); this makes the cutoff of every sample known before filtering, so a whole
chunk is filtered with array operations (the time-varying first-order recursion is solved in
closed form per block of samples).

Defaults (:class:`OneEuroParams`) are Cervitrack design values for head angles in degrees
at 100-400 Hz, tuned with the 1€ authors' procedure (set beta = 0, lower ``min_cutoff_hz``
until jitter at rest is acceptable; then raise beta until lag in quick movements is acceptable):

- ``min_cutoff_hz`` = 1.0 Hz: removes sensor noise and 8-12 Hz tremor from a held head;
- ``beta`` = 0.05 per (deg/s): at 40 deg/s (an ordinary head movement) the cutoff is 3 Hz, at
  100 deg/s 6 Hz, so the displayed position lags a moving head by tens of milliseconds;
- ``d_cutoff_hz`` = 1.0 Hz, the authors' recommendation.

Offline analysis (non-causal, no lag): :func:`zero_phase_lowpass`, a Butterworth low-pass run
forward and backward (``scipy.signal.sosfiltfilt``). The effective order doubles and the
-3 dB point of the single pass becomes the -6 dB point of the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

_TWO_PI = 2.0 * math.pi
#: Samples solved in one closed-form block (the block's (B, B) matrix stays small).
_BLOCK = 32
#: Chunks with at most this many values (samples × channels) take the plain-float path.
_SCALAR_MAX = 48


@dataclass(frozen=True)
class OneEuroParams:
    """One Euro filter settings (see the module docstring).

    Attributes:
        min_cutoff_hz: cutoff at rest, Hz.
        beta: cutoff increase per unit of speed, Hz per (signal unit / s).
        d_cutoff_hz: cutoff of the speed estimate, Hz.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 0.05
    d_cutoff_hz: float = 1.0


def _alpha(cutoff_hz, dt_s):
    """Smoothing factor of a first-order low-pass: 1 / (1 + τ/dt), τ = 1 / (2π fc)."""
    return 1.0 / (1.0 + 1.0 / (_TWO_PI * cutoff_hz * dt_s))


def _ltv_first_order(alpha, x, y_prev):
    """Solve y_i = a_i x_i + (1 − a_i) y_{i−1} for a block, per channel.

    alpha (B, C), x (B, C), y_prev (C,) → y (B, C). With c_i = Σ_{k≤i} log(1 − a_k),
    y_i = exp(c_i) y_prev + Σ_{k≤i} a_k x_k exp(c_i − c_k), all exponents ≤ 0.
    """
    log_keep = np.cumsum(np.log(np.maximum(1.0 - alpha, 1e-300)), axis=0)
    diff = log_keep[:, None, :] - log_keep[None, :, :]
    lower = np.tri(len(alpha), dtype=bool)[:, :, None]
    weights = np.exp(np.where(lower, diff, -np.inf))
    return np.einsum("ikc,kc->ic", weights, alpha * x) + np.exp(log_keep) * y_prev


class OneEuroFilter:
    """Streaming One Euro filter over chunks of (N, C) samples.

    Args:
        params: filter settings.

    Call :meth:`update` with each chunk's sample times (N,) s and values (N, C) (or (N,));
    the state carries over between chunks, so chunking does not change the result.
    NaN samples pass through as NaN and leave the state unchanged.
    """

    def __init__(self, params: OneEuroParams = OneEuroParams()) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        self._t_prev = math.nan
        self._x_prev: np.ndarray | None = None   # last raw value (C,)
        self._y_prev: np.ndarray | None = None   # last filtered value (C,)
        self._dx_prev: np.ndarray | None = None  # last filtered speed (C,)

    def update(self, t_s, values) -> np.ndarray:
        """Filter one chunk; returns the smoothed values with the input's shape."""
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        x = np.asarray(values, dtype=np.float64)
        squeeze = x.ndim == 1
        x2 = x.reshape(len(t), -1)
        ok = np.isfinite(x2).all(axis=1) & np.isfinite(t)
        if ok.all():
            out = self._filter(t, x2) if len(t) else x2.copy()
        else:
            out = np.full_like(x2, np.nan)
            idx = np.flatnonzero(ok)
            if idx.size:
                out[idx] = self._filter(t[idx], x2[idx])
        return out.reshape(x.shape) if not squeeze else out[:, 0]

    def _filter(self, t, x):
        n, c = x.shape
        if self._y_prev is None or self._y_prev.shape[0] != c:
            # Start at the first sample, at rest.
            self._t_prev = float(t[0]) - 1e-3
            self._x_prev = x[0].copy()
            self._y_prev = x[0].copy()
            self._dx_prev = np.zeros(c)
        if n * c <= _SCALAR_MAX:
            out = self._filter_scalar(t, x)
        else:
            out = self._filter_blocks(t, x)
        self._x_prev, self._t_prev = x[-1].copy(), float(t[-1])
        return out

    def _filter_scalar(self, t, x):
        """Small chunks (a live chunk of a few samples): plain floats beat array calls."""
        p = self.params
        k_d = _TWO_PI * p.d_cutoff_hz
        out = []
        t_prev = self._t_prev
        x_prev, y_prev, dx_prev = self._x_prev.tolist(), self._y_prev.tolist(), self._dx_prev.tolist()
        for ti, xi in zip(t.tolist(), x.tolist()):
            dt = ti - t_prev if ti > t_prev else 1e-3
            a_d = 1.0 / (1.0 + 1.0 / (k_d * dt))
            row = []
            for ch, v in enumerate(xi):
                dx_prev[ch] += a_d * ((v - x_prev[ch]) / dt - dx_prev[ch])
                cutoff = p.min_cutoff_hz + p.beta * abs(dx_prev[ch])
                a = 1.0 / (1.0 + 1.0 / (_TWO_PI * cutoff * dt))
                y_prev[ch] += a * (v - y_prev[ch])
                row.append(y_prev[ch])
            out.append(row)
            x_prev, t_prev = xi, ti
        self._y_prev, self._dx_prev = np.array(y_prev), np.array(dx_prev)
        return np.array(out)

    def _filter_blocks(self, t, x):
        """Long chunks: closed-form blocks of array operations."""
        p = self.params
        n, c = x.shape
        dt = np.diff(t, prepend=self._t_prev)
        dt = np.where(dt > 0, dt, 1e-3)
        dx = np.diff(x, axis=0, prepend=self._x_prev[None, :]) / dt[:, None]
        a_d = _alpha(p.d_cutoff_hz, dt)
        out = np.empty_like(x)
        dx_prev, y_prev = self._dx_prev, self._y_prev
        for s in range(0, n, _BLOCK):
            e = min(n, s + _BLOCK)
            dx_hat = _ltv_first_order(np.broadcast_to(a_d[s:e, None], (e - s, c)), dx[s:e], dx_prev)
            a = _alpha(p.min_cutoff_hz + p.beta * np.abs(dx_hat), dt[s:e, None])
            out[s:e] = _ltv_first_order(a, x[s:e], y_prev)
            dx_prev, y_prev = dx_hat[-1], out[e - 1]
        self._dx_prev, self._y_prev = dx_prev.copy(), y_prev.copy()
        return out


def one_euro_reference(t_s, values, params: OneEuroParams = OneEuroParams()) -> np.ndarray:
    """The One Euro filter written sample by sample, as in the authors' reference code.

    Slow (a Python loop per sample); the specification :class:`OneEuroFilter` is tested
    against. values (N, C) or (N,).
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64).reshape(len(t), -1)
    out = np.empty_like(x)
    y = x[0].copy()
    dx_hat = np.zeros(x.shape[1])
    x_prev, t_prev = x[0].copy(), t[0] - 1e-3
    for i in range(len(t)):
        dt = t[i] - t_prev if t[i] > t_prev else 1e-3
        dx = (x[i] - x_prev) / dt
        dx_hat = dx_hat + _alpha(params.d_cutoff_hz, dt) * (dx - dx_hat)
        a = _alpha(params.min_cutoff_hz + params.beta * np.abs(dx_hat), dt)
        y = y + a * (x[i] - y)
        out[i] = y
        x_prev, t_prev = x[i], t[i]
    return out.reshape(np.shape(values))


def zero_phase_lowpass(values, rate_hz: float, cutoff_hz: float, order: int = 2,
                       axis: int = 0) -> np.ndarray:
    """Zero-phase Butterworth low-pass (forward-backward, ``scipy.signal.sosfiltfilt``).

    Args:
        values: samples on a uniform time grid, any shape; filtered along ``axis``.
        rate_hz: sample rate, Hz.
        cutoff_hz: -3 dB frequency of the single forward pass, Hz (below rate_hz / 2).
        order: Butterworth order of the single pass.

    Returns:
        The filtered samples, same shape, no phase lag.
    """
    if not 0 < cutoff_hz < rate_hz / 2:
        raise ValueError(f"cutoff_hz must be between 0 and rate_hz/2 = {rate_hz / 2:g}, got {cutoff_hz:g}")
    sos = sps.butter(order, cutoff_hz, btype="low", fs=rate_hz, output="sos")
    return sps.sosfiltfilt(sos, np.asarray(values, dtype=np.float64), axis=axis)
