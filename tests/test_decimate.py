"""Peak decimation keeps every column's extremes, so what is drawn spans what was measured."""

import numpy as np
import pytest

from cervitrack.trainer.gui.decimate import peak_decimate


def test_each_column_keeps_its_minimum_and_maximum():
    t = np.arange(4000) / 400.0 - 10.0  # 10 s at 400 Hz, "seconds before now"
    rng = np.random.default_rng(3)
    y = np.sin(t) + 0.1 * rng.standard_normal(t.size)
    y[1234] = 25.0  # a one-sample spike must survive
    x, yd = peak_decimate(t, y, -10.0, 0.0, 1000)
    assert len(x) == 2 * 1000
    assert yd.max() == 25.0 and yd.min() == y.min()
    cols = np.minimum(((t + 10.0) * 100).astype(int), 999)
    for c in (0, 500, 999):
        assert (yd[2 * c], yd[2 * c + 1]) == (y[cols == c].min(), y[cols == c].max())
        assert x[2 * c] == t[cols == c][0]


def test_short_series_and_out_of_range_samples():
    t = np.linspace(0.0, 1.0, 50)
    x, y = peak_decimate(t, t * 2, 0.0, 1.0, 100)
    np.testing.assert_array_equal(x, t)
    np.testing.assert_array_equal(y, t * 2)
    x, _ = peak_decimate(t, t, 0.5, 1.0, 100)
    assert x.min() >= 0.5


def test_nan_is_ignored_within_a_column_and_a_nan_column_breaks_the_line():
    t = np.arange(1000) / 100.0
    y = np.ones(1000)
    y[::2] = np.nan  # half the samples missing: columns still have values
    y[500:600] = np.nan  # a whole second missing: a break
    x, yd = peak_decimate(t, y, 0.0, 10.0, 100)
    assert np.isnan(yd).sum() == 2 * 10
    assert np.nanmax(yd) == pytest.approx(1.0)
