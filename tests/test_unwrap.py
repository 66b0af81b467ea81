"""signal.unwrap: counters and clocks, whole-array and streaming."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cervitrack.signal.unwrap import ClockUnwrapper, Unwrapper, unwrap_clock, unwrap_counter


def test_counter_wraps_forward():
    raw = np.array([65534, 65535, 0, 1, 2])
    assert unwrap_counter(raw, 65536).tolist() == [65534, 65535, 65536, 65537, 65538]


def test_counter_small_backward_step_stays_backward():
    assert unwrap_counter([10, 11, 10, 12], 256).tolist() == [10, 11, 10, 12]


def test_counter_without_modulus_is_unchanged():
    assert unwrap_counter([5, 3, 9], None).tolist() == [5, 3, 9]


def test_counter_continues_from_last():
    assert unwrap_counter([0, 1], 256, last=255 + 256).tolist() == [512, 513]


def test_clock_wraps():
    wrap = 2**32 / 1e6
    raw = np.array([wrap - 0.02, wrap - 0.01, 0.0, 0.01])
    np.testing.assert_allclose(unwrap_clock(raw, wrap), [wrap - 0.02, wrap - 0.01, wrap,
                                                         wrap + 0.01])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 200), min_size=1, max_size=300), st.integers(1, 50))
def test_streaming_equals_whole(steps, split):
    modulus = 1000
    true = np.cumsum(np.array(steps) % 400)
    raw = true % modulus
    whole = unwrap_counter(raw, modulus)
    u = Unwrapper(modulus)
    parts = [u.feed(raw[i:i + split]) for i in range(0, raw.size, split)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_array_equal(whole - whole[0], true - true[0])
    c = ClockUnwrapper(modulus / 1000.0)
    t = np.concatenate([c.feed(raw[i:i + split] / 1000.0) for i in range(0, raw.size, split)])
    np.testing.assert_allclose(t, whole / 1000.0, atol=1e-9)
