"""Stillness detector: documented thresholds, settle time, streaming equivalence."""

import numpy as np
import pytest

from cervitrack.signal.stillness import StillnessDetector, StillnessParams


def speed_profile(rate_hz=100.0):
    """Moving at 20 deg/s for 2 s, then 1 deg/s (still) for 3 s, moving again 1 s, still 2 s."""
    t = np.arange(int(8 * rate_hz)) / rate_hz
    speed = np.where(t < 2, 20.0, np.where(t < 5, 1.0, np.where(t < 6, 20.0, 1.0)))
    return t, speed


def test_defaults_are_the_documented_thresholds():
    p = StillnessParams()
    assert (p.speed_threshold_deg_s, p.smoothing_s, p.settle_s) == (5.0, 0.15, 1.0)


def test_still_after_the_smoothed_speed_drops_below_threshold_and_settled_one_second_later():
    t, speed = speed_profile()
    out = StillnessDetector().update(t, speed)
    first_still = t[np.flatnonzero(out["still"])[0]]
    # First-order low-pass from 20 to 1 deg/s crosses 5 deg/s after 0.15·ln(19/4) ≈ 0.23 s.
    assert first_still == pytest.approx(2.0 + 0.15 * np.log(19 / 4), abs=0.02)
    first_settled = t[np.flatnonzero(out["settled"])[0]]
    assert first_settled == pytest.approx(first_still + 1.0, abs=0.011)
    assert out["still_since_t_s"][np.flatnonzero(out["settled"])[0]] == pytest.approx(first_still)
    assert not out["still"][(t > 5.3) & (t < 6.0)].any()  # moving again
    assert np.isnan(out["still_since_t_s"][(t > 5.3) & (t < 6.0)]).all()


@pytest.mark.parametrize("chunk", [1, 3, 4, 16, 17, 250])
def test_chunked_streaming_equals_one_call(chunk):
    t, speed = speed_profile()
    speed = speed + np.random.default_rng(0).normal(0, 0.5, len(t))
    whole = StillnessDetector().update(t, speed)
    det = StillnessDetector()
    parts = [det.update(t[i:i + chunk], speed[i:i + chunk]) for i in range(0, len(t), chunk)]
    for key, value in whole.items():
        got = np.concatenate([p[key] for p in parts])
        np.testing.assert_allclose(got.astype(float), value.astype(float), atol=1e-9, equal_nan=True)


def test_nan_speed_counts_as_moving_and_reset_forgets():
    t = np.arange(300) / 100.0
    speed = np.full(300, 0.5)
    speed[150] = np.nan
    det = StillnessDetector()
    out = det.update(t, speed)
    assert not out["still"][150] and out["still"][140]
    det.reset()
    assert np.isnan(det.still_since_t_s)
