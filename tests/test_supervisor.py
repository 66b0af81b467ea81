"""The link supervisor's decisions under a fake clock, and the per-link statistics."""

import math

import numpy as np
import pytest

from cervitrack.firmware_bridge.supervisor import (
    CONNECT,
    DISCONNECT,
    WAIT,
    LinkSupervisor,
    StreamStats,
    SupervisorParams,
    link_stats,
)
from cervitrack.signal.samples import Gap, LinkStats, SampleBatch

PARAMS = SupervisorParams(stall_periods=20, min_stall_s=1.0, backoff_initial_s=0.1,
                          backoff_factor=2.0, backoff_max_s=2.0, first_data_s=5.0)


def connected(t=0.0, rate_hz=100.0, **kwargs) -> LinkSupervisor:
    sup = LinkSupervisor(rate_hz, PARAMS, **kwargs)
    assert sup.poll(t) == (CONNECT, [])
    sup.on_connected(t)
    sup.on_bytes(t + 0.01, 22)
    return sup


def test_stall_timeout_is_n_periods_but_never_below_the_floor():
    assert PARAMS.stall_after_s(100.0) == 1.0  # 20 periods = 0.2 s, floor 1 s
    assert PARAMS.stall_after_s(10.0) == 2.0  # WitMotion's factory 10 Hz: 20 periods


def test_backoff_doubles_and_is_capped():
    waits = [PARAMS.backoff_s(n) for n in range(1, 8)]
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


def test_silence_longer_than_the_timeout_is_a_stall_one_gap_and_a_reconnect():
    sup = connected()
    assert sup.poll(0.9) == (WAIT, [])
    action, gaps = sup.poll(1.02)
    assert action == DISCONNECT
    assert gaps == [Gap(1.02, "stall")]
    assert sup.poll(1.02)[0] == CONNECT  # retried at once after a stall


def test_one_interruption_gives_one_gap_however_many_attempts_fail():
    sup = connected()
    gaps = sup.on_lost(5.0, "port gone")
    assert gaps == [Gap(5.0, "disconnect")]
    t = 5.0
    attempts = []
    for _ in range(6):  # the port stays away: attempts back off, no new gap
        while sup.poll(t)[0] != CONNECT:
            t = round(t + 0.01, 6)
        attempts.append(t)
        sup.on_connect_failed(t, "no such file")
    assert np.diff(attempts) == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0], abs=0.011)
    while sup.poll(t)[0] != CONNECT:
        t = round(t + 0.01, 6)
    sup.on_connected(t)
    # Connected but silent (still booting): a stall here is the same interruption.
    action, gaps = sup.poll(t + 5.1)
    assert action == DISCONNECT and gaps == []
    sup.on_connected(t + 5.2)
    sup.on_bytes(t + 5.3, 10)
    assert sup.gaps == 1 and sup.reconnects == 2
    # A new drop after data flowed again is a new interruption.
    assert len(sup.on_lost(t + 9, "again")) == 1


def test_a_new_connection_gets_time_to_boot_before_it_counts_as_stalled():
    sup = LinkSupervisor(100.0, PARAMS)
    sup.on_connected(0.0)
    assert sup.poll(4.9) == (WAIT, [])
    assert sup.poll(5.0)[0] == DISCONNECT


def test_connectionless_links_mark_a_stall_once_and_keep_listening():
    sup = connected(reconnect_on_stall=False)
    action, gaps = sup.poll(1.5)
    assert action == WAIT and len(gaps) == 1
    assert sup.poll(3.0) == (WAIT, [])  # still silent: the same gap
    sup.on_bytes(3.5, 48)
    assert sup.poll(4.6)[1] == [Gap(4.6, "stall")]


def test_nothing_is_marked_before_the_link_ever_streamed():
    sup = LinkSupervisor(100.0, PARAMS)
    sup.on_connected(0.0)
    assert sup.on_lost(0.5) == []


def _batch(t_s):
    t_s = np.asarray(t_s, dtype=float)
    return SampleBatch.build(np.arange(len(t_s)), t_s=t_s)


def test_rate_is_measured_over_a_sliding_window_of_sample_times():
    stats = StreamStats(window_s=5.0)
    stats.on_samples(_batch(np.arange(0, 10, 0.01)))  # 100 Hz for 10 s
    assert stats.rate_hz() == pytest.approx(100.0)
    stats.on_samples(_batch(10 + np.arange(0, 5, 0.02)))  # then 50 Hz for 5 s
    assert stats.rate_hz() == pytest.approx(50.0, rel=0.01)
    assert stats.frames == 1000 + 250
    assert stats.age_s(15.5) == pytest.approx(15.5 - 14.98)


def test_link_stats_combines_decoder_supervisor_and_stream_counters():
    stats = StreamStats()
    assert math.isnan(stats.rate_hz()) and math.isnan(stats.age_s(1.0))
    stats.on_samples(_batch([1.0, 1.01, 1.02]))
    stats.on_gap(Gap(2.0, "disconnect", lost_frames=7))
    sup = connected()
    sup.battery_pct = 80.0
    decoder_stats = LinkStats(frames=3, rejected_frames=2, skipped_bytes=40)
    out = link_stats(stats, 1.5, decoder_stats, sup)
    assert out["frames"] == 3 and out["rejected_frames"] == 2 and out["skipped_bytes"] == 40
    assert out["gaps"] == 1 and stats.lost_frames == 7
    assert out["battery_pct"] == 80.0
    assert out["last_sample_age_s"] == pytest.approx(0.48)
    assert out["rate_hz"] == pytest.approx(100.0)


class ScriptedDriver:
    """An in-memory driver: each connection delivers its script of byte strings, then
    stays silent (a stalled link)."""

    kind = "scripted"
    reconnect_on_stall = True
    battery_pct = None

    def __init__(self, scripts):
        self.scripts = list(scripts)
        self.pending = []
        self.connects = 0
        self.disconnects = 0

    def connect(self):
        self.connects += 1
        self.pending = list(self.scripts.pop(0)) if self.scripts else []

    def read(self, timeout_s):
        import time

        from cervitrack.firmware_bridge.transports.base import stamp

        if self.pending:
            return [stamp(self.pending.pop(0))]
        time.sleep(timeout_s)
        return []

    def disconnect(self):
        self.disconnects += 1

    def metadata(self):
        return {}


def test_the_reader_thread_drops_a_stalled_link_marks_one_gap_and_reconnects():
    import time

    from cervitrack.firmware_bridge.transports.base import LiveSource

    driver = ScriptedDriver([[b"a", b"b"], [b"c"]])
    params = SupervisorParams(min_stall_s=0.2, stall_periods=1, first_data_s=0.2,
                              backoff_initial_s=0.01)
    source = LiveSource(driver, "reference", 100.0, params=params, poll_s=0.02)
    items = []
    polls = source.polls()
    deadline = time.monotonic() + 10
    try:
        while b"c" not in [getattr(i, "data", None) for i in items] and time.monotonic() < deadline:
            items += next(polls)
    finally:
        source.close()
    kinds = [("gap", i.reason) if isinstance(i, Gap) else i.data for i in items]
    assert kinds == [b"a", b"b", ("gap", "stall"), b"c"]
    assert source.supervisor.reconnects == 1 and driver.connects == 2


def test_a_dropout_shows_as_gaps_never_as_a_slow_sensor():
    """100 Hz for 4 s, nothing for 3 s, 100 Hz again: the streaming rate stays 100 Hz."""
    stats = StreamStats(window_s=10.0)
    t = np.concatenate([np.arange(0, 4, 0.01), np.arange(7, 9, 0.01)])
    stats.on_samples(_batch(t))
    assert stats.rate_hz() == pytest.approx(100.0, rel=1e-6)
    ten_hz = StreamStats(window_s=10.0)
    t = np.arange(0, 5, 0.1)
    ten_hz.on_samples(_batch(t))
    assert ten_hz.rate_hz() == pytest.approx(10.0, rel=1e-6)  # a slow sensor still reads slow


def test_a_link_closed_by_the_host_says_disconnected_whatever_it_was():
    for before in (lambda s: None, lambda s: s.on_connected(1.0), lambda s: s.on_lost(2.0, "gone")):
        sup = connected()
        before(sup)
        sup.on_closed()
        assert sup.snapshot()["state"] == "disconnected"
