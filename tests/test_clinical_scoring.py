"""Scoring: hand-computed examples and identities (Lee et al. 2006, Man Ther 11:61–68; after Kristjansson & Gíslason 2023; Werner et al. 2018, BMC Musculoskelet Disord 19:358)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cervitrack.trainer.clinical import scoring, tracking
from cervitrack.trainer.clinical.tracing import departures, trace_scores


def test_error_scores_match_a_hand_computed_example():
    # e = 2, -1, 3, 0: CE = 1; AE = 6/4; VE = sqrt((1 + 4 + 4 + 1)/4); RMSE = sqrt(14/4).
    s = scoring.error_scores([2.0, -1.0, 3.0, 0.0])
    assert s["n"] == 4
    assert s["ce_deg"] == pytest.approx(1.0)
    assert s["ae_deg"] == pytest.approx(1.5)
    assert s["ve_deg"] == pytest.approx(math.sqrt(2.5))
    assert s["rmse_deg"] == pytest.approx(math.sqrt(3.5))


def test_summary_pools_trials_and_flags_any_direction_above_the_threshold():
    signed = {"rotation_left": [5.0, 6.0], "flexion": [-1.0, 1.0]}
    glob = {"rotation_left": [5.5, 6.5], "flexion": [1.2, 1.4]}
    per = {d: scoring.direction_scores(signed[d], glob[d]) for d in signed}
    out = scoring.summary_scores(per, signed, glob, threshold_deg=4.5)
    assert out["n"] == 4
    assert out["ce_deg"] == pytest.approx((5 + 6 - 1 + 1) / 4)
    assert out["ae_deg"] == pytest.approx((5 + 6 + 1 + 1) / 4)
    assert out["global_ae_deg"] == pytest.approx((5.5 + 6.5 + 1.2 + 1.4) / 4)
    assert out["mean_direction_ae_deg"] == pytest.approx((5.5 + 1.0) / 2)
    assert out["flag"] and out["flagged_directions"] == ["rotation_left"]


def test_thresholds_and_their_sources():
    assert scoring.threshold_for("default") == 4.5
    assert scoring.threshold_for("sensitive") == 3.5
    # Full sources: authors, year, journal, volume and pages.
    assert scoring.threshold_source(4.5) == "Revel et al. 1994, Arch Phys Med Rehabil 75(8):895-899"
    assert scoring.threshold_source(3.5).startswith("Smulligan et al. 2025, Clin J Sport Med 35(1):23-28")
    assert "PMID 38953712" in scoring.threshold_source(3.5)
    assert scoring.threshold_source(5.0) == "user setting"
    with pytest.raises(ValueError, match="threshold mode"):
        scoring.threshold_for("strict")
    assert scoring.flag(4.6, 4.5) and not scoring.flag(4.5, 4.5) and not scoring.flag(float("nan"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=40))
def test_rmse_squared_is_ce_squared_plus_ve_squared(errors):
    s = scoring.error_scores(errors)
    assert s["rmse_deg"] ** 2 == pytest.approx(s["ce_deg"] ** 2 + s["ve_deg"] ** 2, abs=1e-9)
    assert s["ae_deg"] >= abs(s["ce_deg"]) - 1e-12
    assert s["rmse_deg"] >= s["ae_deg"] - 1e-12


def test_tracking_scores_match_a_hand_computed_example():
    # Target moving +x at 1 deg/s; radius 1 deg.
    target = np.zeros((5, 2))
    velocity = np.tile([1.0, 0.0], (5, 1))
    cursor = np.array([[0.5, 0.0],    # on target (0.5)
                       [-2.0, 0.0],   # behind (e·û = -2): undershoot
                       [0.0, 3.0],    # off target, level (e·û = 0): counted behind
                       [1.5, 1.5],    # ahead: overshoot
                       [0.0, -1.0]])  # on the radius: on target
    s = tracking.tracking_scores(cursor, target, velocity, radius_deg=1.0)
    assert s["n"] == 5
    assert s["aa_deg"] == pytest.approx((0.5 + 2.0 + 3.0 + math.sqrt(4.5) + 1.0) / 5)
    assert s["time_on_target_pct"] == pytest.approx(40.0)
    assert s["undershoot_pct"] == pytest.approx(40.0)
    assert s["overshoot_pct"] == pytest.approx(20.0)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.floats(0.1, 5.0), st.integers(0, 10_000))
def test_time_on_target_undershoot_and_overshoot_add_up_to_100(n, radius, seed):
    rng = np.random.default_rng(seed)
    s = tracking.tracking_scores(rng.normal(0, 3, (n, 2)), rng.normal(0, 3, (n, 2)),
                                 rng.normal(0, 1, (n, 2)), radius)
    assert s["time_on_target_pct"] + s["undershoot_pct"] + s["overshoot_pct"] == pytest.approx(100.0)


def test_normalised_jerk_of_a_minimum_jerk_movement_is_sqrt_360():
    # p = L(10s³ − 15s⁴ + 6s⁵): ∫ jerk² dt = 720 L²/T⁵, so sqrt(½·720) = 18.97.
    t = np.arange(0.0, 2.0 + 1e-9, 0.01)
    s = t / 2.0
    x = 10.0 * (10 * s**3 - 15 * s**4 + 6 * s**5)
    nj = tracking.normalised_jerk(t, np.stack([x, np.zeros_like(x)], axis=1), window_s=0.11)
    assert nj == pytest.approx(math.sqrt(360.0), rel=0.03)


def test_path_length_ratio():
    target = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    cursor = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    assert tracking.path_length_ratio(cursor, target) == pytest.approx(2 * math.sqrt(2) / 2)


def test_trace_scores_count_departures_and_integrate_the_excess():
    t = np.arange(20) * 0.05
    d = np.zeros(20)
    d[2:6] = 2.0      # 0.2 s outside a band of 1: an error, excess 1 deg
    d[10] = 3.0       # one sample (0.05 s): shorter than 0.1 s, not counted
    d[14:17] = 1.5    # 0.15 s outside: an error, excess 0.5 deg
    s = trace_scores(t, d, band_deg=1.0, min_departure_s=0.1)
    assert s["error_count"] == 2
    assert s["error_magnitude_deg_s"] == pytest.approx((4 * 1.0 + 2.0 + 3 * 0.5) * 0.05)
    assert s["mean_excess_deg"] == pytest.approx((4 * 1.0 + 2.0 + 3 * 0.5) / 8)
    assert s["max_deviation_deg"] == 3.0
    assert s["outside_pct"] == pytest.approx(40.0)
    assert departures(d > 1.0, t, 0.1) == [(2, 6), (14, 17)]
