"""The live chain over transport items: chunks and gaps in one call, in arrival order."""

import numpy as np

from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.protocols import reference as oht
from cervitrack.signal.samples import Chunk, Gap
from cervitrack.trainer.live.pipeline import Pipeline


def frames(first, n, rate_hz=100.0):
    seq = np.arange(first, first + n)
    return oht.encode_samples(seq, (seq * 1e6 / rate_hz).astype(np.int64), np.tile([1.0, 0, 0, 0], (n, 1)))


def test_samples_on_both_sides_of_a_gap_are_kept_and_timed_in_order():
    pipe = Pipeline(make_decoder("reference"))
    items = [Chunk(0.05, frames(0, 5)), Chunk(0.10, frames(5, 5)[:30]),  # frame 5 + 8 bytes
             Gap(0.11, "disconnect"), Chunk(0.60, frames(50, 5))]
    pose = pipe.process(items)
    assert pose.seq.tolist() == [0, 1, 2, 3, 4, 5, 50, 51, 52, 53, 54]
    assert np.all(np.diff(pose.t_s) > 0)
    assert pose.t_s[6] - pose.t_s[5] > 0.4  # the lost frames' time is not squeezed out
    assert len(pose.gaps) == 1 and pipe.gap_count == 1
    assert pipe.decoder.stats.skipped_bytes == 8  # the partial frame was dropped at the gap


def test_a_decoder_holding_a_sample_releases_it_at_a_gap():
    acc = bytes.fromhex("5551000000000008C4097B")  # WitMotion serial 0x51 (acc)
    gyro = bytes.fromhex("5552000000000000C40974")  # 0x52 (gyro)
    pipe = Pipeline(make_decoder("witmotion-serial"))  # gyro + acc: VQF fusion
    direct = make_decoder("witmotion-serial")
    direct.feed(acc + gyro)  # one sample, held until the next frame shows its cycle is over
    held = direct.finish()
    assert len(held) == 1
    pose = pipe.process([Chunk(0.0, acc + gyro), Gap(0.5, "disconnect")])
    assert len(pose.samples) == 1
    assert np.allclose(pose.samples.acc_m_s2, [[0, 0, 9.80665]])


def test_mapped_times_stay_strictly_increasing_when_arrivals_bunch_backwards():
    from cervitrack.signal.samples import SampleBatch
    from cervitrack.signal.timebase import Timebase

    tb = Timebase(None, False, None, 50.0)
    first = tb.process(SampleBatch.build(np.arange(0, 50), t_host_s=np.linspace(10, 11, 50)))
    # A later batch whose mapping would put several samples at or before the last one.
    late = tb.process(SampleBatch.build(np.arange(50, 55), t_host_s=np.full(5, 10.5)))
    t = np.concatenate([first.t_s, late.t_s])
    assert np.all(np.diff(t) > 0)
