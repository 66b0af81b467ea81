"""The GUI's ring buffer: newest samples as contiguous views, wrap-around, one producer thread."""

import threading

import numpy as np
import pytest

from cervitrack.trainer.gui.ring import RingBuffer


def test_latest_returns_the_newest_samples_in_order_across_the_wrap():
    ring = RingBuffer(("a", "b"), capacity=8)
    for start in range(0, 30, 3):
        k = np.arange(start, start + 3, dtype=float)
        ring.write({"a": k, "b": -k})
    assert ring.count == 30
    np.testing.assert_array_equal(ring.channel("a", 5), [25, 26, 27, 28, 29])
    np.testing.assert_array_equal(ring.channel("b", 8), -np.arange(22, 30))


def test_a_channel_is_a_contiguous_view_not_a_copy():
    ring = RingBuffer(("a",), capacity=6)
    ring.write({"a": np.arange(10.0)})
    view = ring.channel("a", 4)
    assert view.flags["C_CONTIGUOUS"] and view.base is not None
    np.testing.assert_array_equal(view, [6, 7, 8, 9])


def test_fewer_samples_than_asked_and_missing_channels_are_nan():
    ring = RingBuffer(("a", "b"), capacity=10)
    ring.write({"a": np.array([1.0, 2.0])})
    assert ring.latest(5).shape == (2, 2)
    assert np.isnan(ring.channel("b", 5)).all()


def test_a_block_longer_than_the_capacity_keeps_its_tail():
    ring = RingBuffer(("a",), capacity=4)
    ring.write({"a": np.arange(11.0)})
    np.testing.assert_array_equal(ring.channel("a", 4), [7, 8, 9, 10])
    assert ring.count == 11


def test_a_read_pinned_to_a_count_ignores_later_writes():
    ring = RingBuffer(("a",), capacity=100)
    ring.write({"a": np.arange(10.0)})
    count = ring.count
    ring.write({"a": np.arange(10.0, 20.0)})
    np.testing.assert_array_equal(ring.channel("a", 3, count), [7, 8, 9])
    np.testing.assert_array_equal(ring.since(5, count)[0], [5, 6, 7, 8, 9])


def test_unequal_lengths_are_rejected():
    ring = RingBuffer(("a", "b"), capacity=4)
    with pytest.raises(ValueError):
        ring.write({"a": np.zeros(2), "b": np.zeros(3)})


def test_a_reader_thread_never_sees_a_torn_or_unwritten_block():
    """The producer writes consecutive integers, 7 every 0.5 ms (35 times a 400 Hz device);
    every read of the newest 50 must be consecutive and end at a value already published.
    (A view stays valid until capacity - 50 more samples are written: 0.28 s here.)"""
    ring = RingBuffer(("k",), capacity=4000)
    stop = threading.Event()

    def produce():
        k = 0
        while not stop.is_set() and k < 21_000:
            ring.write({"k": np.arange(k, k + 7, dtype=float)})
            k += 7
            stop.wait(0.0005)

    producer = threading.Thread(target=produce)
    producer.start()
    bad = 0
    reads = 0
    while producer.is_alive() and reads < 5000:
        count = ring.count
        block = ring.channel("k", 50, count).copy()
        if len(block):
            reads += 1
            bad += int(not (np.all(np.diff(block) == 1) and block[-1] == count - 1))
    stop.set()
    producer.join()
    assert reads > 100, reads
    assert bad == 0
