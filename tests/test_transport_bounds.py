"""Transports never queue without bound, and UDP listens on this computer unless told otherwise.

Defect covered (issue 16): ``stream --device udp:PORT`` bound 0.0.0.0 and queued without bound
(20 s of 64 KB datagrams grew it from 108 MB to 3.45 GB; ``--duration 60`` ran ~630 s).
Figures: ``python bench/udp_flood.py``.
"""

from __future__ import annotations

import socket
import time

from cervitrack.firmware_bridge.device_spec import parse_device_spec as parse_spec
from cervitrack.firmware_bridge.transports import open_udp, parse_udp_target
from cervitrack.firmware_bridge.transports.bounded import OVERFLOW_REASON, ItemQueue
from cervitrack.signal.samples import Chunk, Gap


def test_the_queue_drops_the_oldest_and_marks_one_gap_where_they_were():
    q = ItemQueue(max_bytes=1000, max_items=100)
    for i in range(30):
        q.put(Chunk(float(i), bytes(100)))
    assert q.queued_bytes <= 1000 and q.dropped_chunks == 20 and q.dropped_bytes == 2000
    items = q.get_all(0.0)
    assert isinstance(items[0], Gap) and items[0].reason == OVERFLOW_REASON
    assert items[0].t_host_s == 19.0  # the newest dropped chunk
    assert [c.t_host_s for c in items[1:]] == [float(i) for i in range(20, 30)]
    assert sum(isinstance(x, Gap) for x in items) == 1


def test_the_queue_bounds_the_item_count_and_keeps_order_without_overflow():
    q = ItemQueue(max_bytes=10**9, max_items=10)
    for i in range(5):
        q.put(Chunk(float(i), b"x"))
    assert [c.t_host_s for c in q.get_all(0.0)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for i in range(50):
        q.put(Gap(float(i), "stall", 0))
    assert len(q) <= 10
    assert q.get_all(0.01)[0].t_host_s >= 40.0


def test_get_all_waits_for_the_first_item_then_returns_everything():
    q = ItemQueue()
    assert q.get_all(0.01) == []


def test_udp_listens_on_loopback_unless_an_address_is_given():
    assert parse_udp_target("4242") == ("127.0.0.1", 4242)
    assert parse_udp_target("") == ("127.0.0.1", 4242)
    assert parse_udp_target("0.0.0.0:9000") == ("0.0.0.0", 9000)


def test_a_udp_flood_stays_within_the_bound():

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = open_udp(parse_spec(f"udp:{port}"))
    source.runner.items = ItemQueue(max_bytes=2 * 1024 * 1024)
    assert source.metadata["host"] == "127.0.0.1"
    source.runner.start()
    try:
        deadline = time.monotonic() + 5
        while source.runner.driver.bound_port is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(2000):  # ~120 MB offered, nobody reading the queue
                s.sendto(bytes(60000), ("127.0.0.1", port))
        time.sleep(0.3)
        q = source.runner.items
        assert q.queued_bytes <= 2 * 1024 * 1024
        items = q.get_all(1.0)
        assert any(isinstance(x, Gap) and x.reason == OVERFLOW_REASON for x in items)
    finally:
        source.close()
