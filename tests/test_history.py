"""The rolling pose history keeps exactly the last horizon of samples, whatever the batching."""

from types import SimpleNamespace

import numpy as np

from cervitrack.trainer.clinical.history import INITIAL_CAPACITY, PoseHistory


def batch(t_s, raw: bool):
    n = len(t_s)
    rng = np.random.default_rng(int(t_s[0] * 1000) if n else 0)
    samples = SimpleNamespace(t_s=t_s, seq=np.round(t_s * 400).astype(np.int64),
                              gyr_rad_s=rng.standard_normal((n, 3)) if raw else None,
                              acc_m_s2=rng.standard_normal((n, 3)) if raw else None)
    return Batch(samples=samples, q_world_sensor=rng.standard_normal((n, 4)),
                 smoothed_speed_deg_s=rng.random(n))


class Batch(SimpleNamespace):
    """The fields of a PoseBatch that the history keeps."""

    def __len__(self):
        return len(self.samples.t_s)


def test_history_equals_concatenating_everything_and_keeping_the_horizon():
    rng = np.random.default_rng(1)
    history = PoseHistory(horizon_s=5.0)
    t_all, q_all, gyr_all, speed_all = [], [], [], []
    t = 0.0
    for i in range(3000):  # ~25 s at 400 Hz in batches of 0-12: grows, compacts, trims
        n = int(rng.integers(0, 13))
        t_s = t + np.arange(1, n + 1) / 400.0
        t = t_s[-1] if n else t
        raw = i >= 700  # gyro and acc appear after a while: earlier samples read NaN
        b = batch(t_s, raw)
        history.append(b)
        t_all.append(t_s)
        q_all.append(b.q_world_sensor)
        gyr_all.append(b.samples.gyr_rad_s if raw else np.full((n, 3), np.nan))
        speed_all.append(b.smoothed_speed_deg_s)
    t_cat = np.concatenate(t_all)
    keep = t_cat >= t_cat[-1] - 5.0
    np.testing.assert_array_equal(history.t_s, t_cat[keep])
    np.testing.assert_array_equal(history.q_world_sensor, np.concatenate(q_all)[keep])
    np.testing.assert_array_equal(history.gyr_rad_s, np.concatenate(gyr_all)[keep])
    np.testing.assert_array_equal(history.smoothed_speed_deg_s, np.concatenate(speed_all)[keep])
    np.testing.assert_array_equal(history.seq, np.round(t_cat[keep] * 400).astype(np.int64))
    assert len(history) == keep.sum() > INITIAL_CAPACITY


def test_window_selects_closed_time_intervals():
    history = PoseHistory()
    history.append(batch(np.arange(10) * 0.1 + 0.1, False))
    sl = history.window(0.3, 0.5 + 1e-9)
    np.testing.assert_allclose(history.t_s[sl], [0.3, 0.4, 0.5])
    assert history.gyr_rad_s is None and history.acc_m_s2 is None
