"""Stillness detection: still below the speed threshold, settled after settle_s."""

import numpy as np

from cervitrack.signal.stillness import StillnessDetector, StillnessParams


def test_settles_one_second_after_movement_stops_across_chunks():
    rate = 100.0
    t = np.arange(0, 6, 1 / rate)
    speed = np.where((t > 2) & (t < 3.5), 60.0, 0.5)  # a 1.5 s movement
    det = StillnessDetector(StillnessParams(speed_threshold_deg_s=5, smoothing_s=0.1, settle_s=1.0))
    parts = [det.update(t[i:i + 7], speed[i:i + 7]) for i in range(0, len(t), 7)]
    still = np.concatenate([p["still"] for p in parts])
    settled = np.concatenate([p["settled"] for p in parts])
    assert not still[(t > 2.5) & (t < 3.5)].any()
    first_still_after = t[(t > 3.5) & still][0]
    assert 3.5 < first_still_after < 3.9  # the low-pass lets the speed decay first
    first_settled = t[(t > 3.5) & settled][0]
    assert first_settled == np.round(first_still_after + 1.0, 2)
    assert not settled[t < 0.99].any()  # a still start settles after settle_s too
    assert settled[(t >= 1.0) & (t < 2.0)].all()


def test_nan_speed_counts_as_moving():
    det = StillnessDetector()
    out = det.update(np.arange(5) * 0.01, np.array([0, 0, np.nan, 0, 0.0]))
    assert out["still"][2] == False  # noqa: E712
