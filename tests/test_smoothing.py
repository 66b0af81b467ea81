"""Smoothing: the One Euro filter (live) and zero-phase Butterworth filtering (offline)."""

import numpy as np
import pytest

from cervitrack.signal.smoothing import (
    OneEuroFilter,
    OneEuroParams,
    one_euro_reference,
    zero_phase_lowpass,
)


def noisy_steps(rate_hz=400.0, seconds=6.0, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate_hz * seconds)) / rate_hz + rng.uniform(0, 2e-4, int(rate_hz * seconds))
    clean = np.where(t < 2.0, 0.0, np.where(t < 4.0, 30.0, -10.0))[:, None] * np.array([1.0, -0.5, 0.2])
    return t, clean, clean + rng.normal(0, 0.3, clean.shape)


@pytest.mark.parametrize("chunk", [1, 4, 7, 33, 10_000])
def test_chunked_filter_equals_the_sample_by_sample_reference(chunk):
    t, _, x = noisy_steps()
    expected = one_euro_reference(t, x)
    f = OneEuroFilter()
    got = np.concatenate([f.update(t[i:i + chunk], x[i:i + chunk]) for i in range(0, len(t), chunk)])
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_jitter_at_rest_is_removed():
    t, clean, x = noisy_steps()
    out = OneEuroFilter().update(t, x)
    rest = (t > 1.0) & (t < 2.0)
    assert np.std(out[rest, 0]) < 0.2 * np.std(x[rest, 0])


def test_lag_after_a_fast_movement_is_short():
    """After a 30 deg step the output is within 1 deg of the new value in under 0.25 s; a
    fixed 1 Hz low-pass (the filter's cutoff at rest, beta = 0) takes much longer."""
    t, clean, x = noisy_steps()
    adaptive = OneEuroFilter().update(t, x)[:, 0]
    fixed = OneEuroFilter(OneEuroParams(beta=0.0)).update(t, x)[:, 0]

    def settle_s(y):
        after = (t >= 2.0) & (t < 4.0)
        close = np.abs(y[after] - 30.0) < 1.0
        first = np.flatnonzero(close & np.concatenate([close[1:], [True]]))[0]
        return t[after][first] - 2.0

    assert settle_s(adaptive) < 0.25
    assert settle_s(fixed) > 2 * settle_s(adaptive)


def test_one_dimensional_input_and_nan_samples():
    t = np.arange(10) / 100.0
    x = np.linspace(0, 1, 10)
    x[4] = np.nan
    out = OneEuroFilter().update(t, x)
    assert out.shape == (10,)
    assert np.isnan(out[4]) and np.all(np.isfinite(np.delete(out, 4)))


def test_zero_phase_lowpass_has_no_lag_and_removes_noise():
    rate = 200.0
    t = np.arange(2000) / rate
    clean = 10 * np.sin(2 * np.pi * 0.5 * t)
    noisy = clean + np.random.default_rng(1).normal(0, 1.0, t.shape)
    out = zero_phase_lowpass(noisy, rate, cutoff_hz=3.0)
    inner = slice(200, -200)
    assert np.sqrt(np.mean((out[inner] - clean[inner]) ** 2)) < 0.3
    # No phase lag: the peak of the cross-correlation with the clean signal is at zero shift.
    lags = np.arange(-20, 21)
    xc = [np.dot(np.roll(out, k)[inner], clean[inner]) for k in lags]
    assert lags[int(np.argmax(xc))] == 0


def test_zero_phase_lowpass_filters_along_axis_and_checks_cutoff():
    x = np.random.default_rng(2).normal(size=(500, 3))
    out = zero_phase_lowpass(x, 100.0, 5.0)
    assert out.shape == x.shape
    np.testing.assert_allclose(out[:, 1], zero_phase_lowpass(x[:, 1], 100.0, 5.0))
    with pytest.raises(ValueError, match="cutoff_hz"):
        zero_phase_lowpass(x, 100.0, 60.0)
