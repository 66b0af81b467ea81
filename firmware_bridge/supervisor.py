"""Link supervision: stall detection, reconnect backoff, gap markers and per-link statistics.

Pure logic, no I/O and no clock of its own: every method takes the current host monotonic time
``now_s`` from its caller, so the whole state machine runs under a fake clock in tests. The I/O
side (:class:`cervitrack.firmware_bridge.transports.base.LinkRunner`) reads the clock and acts
on the decisions made here.

Two objects, one per thread that touches them:

- :class:`LinkSupervisor` (the transport's reader thread): connection state. It says when to
  connect, when a silent link has stalled, when to retry after a failure (exponential backoff,
  capped), and emits exactly one :class:`Gap` per interruption: an interruption starts when a
  link that was delivering bytes goes silent or drops, and ends when bytes flow again, however
  many reconnect attempts it takes.
- :class:`StreamStats` (the consumer thread): rate in Hz over a sliding window of sample times,
  frames, rejected frames, skipped bytes, gaps, and the age of the last sample.

:func:`link_stats` merges both into one plain dict for display.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from cervitrack.signal.samples import Gap, SampleBatch


@dataclass(frozen=True)
class SupervisorParams:
    """Supervision settings.

    Attributes:
        stall_periods: a connected link is stalled after this many nominal sample periods
            without a byte...
        min_stall_s: ...but never sooner than this, s (BLE connection events and adapter
            buffering delay bytes by tens of ms; a 10 Hz device sends every 100 ms).
        backoff_initial_s: wait before the first reconnect attempt, s.
        backoff_factor: each failed attempt multiplies the wait by this.
        backoff_max_s: the wait never exceeds this, s.
        first_data_s: a new connection that has not delivered a byte yet is given at least
            this long, s (a board reset by opening its port boots first; reopening it sooner
            would reset it again).
    """

    stall_periods: float = 20.0
    min_stall_s: float = 1.0
    backoff_initial_s: float = 0.1
    backoff_factor: float = 2.0
    backoff_max_s: float = 2.0
    first_data_s: float = 5.0

    def stall_after_s(self, nominal_rate_hz: float) -> float:
        """Silence after which a connected link counts as stalled, s."""
        return max(self.min_stall_s, self.stall_periods / float(nominal_rate_hz))

    def backoff_s(self, failures: int) -> float:
        """Wait before the next attempt after ``failures`` consecutive failures (>= 1), s."""
        exponent = max(0, failures - 1)
        return min(self.backoff_max_s, self.backoff_initial_s * self.backoff_factor ** exponent)


# Actions returned by LinkSupervisor.poll.
CONNECT = "connect"
DISCONNECT = "disconnect"
WAIT = "wait"


class LinkSupervisor:
    """Connection state machine of one link.

    States: ``idle`` (never connected), ``connected`` (a connection is open), ``waiting`` (the
    connection was lost or an attempt failed; the next attempt is due at :attr:`retry_at_s`).

    Args:
        nominal_rate_hz: the device's nominal sample rate, Hz (sets the stall timeout).
        params: see :class:`SupervisorParams`.
        reconnect_on_stall: close and reopen a stalled connection (False for connectionless
            transports such as UDP, where a stall only marks a gap).
    """

    def __init__(self, nominal_rate_hz: float, params: SupervisorParams = SupervisorParams(),
                 reconnect_on_stall: bool = True) -> None:
        self.params = params
        self.stall_after_s = params.stall_after_s(nominal_rate_hz)
        self.reconnect_on_stall = reconnect_on_stall
        self.state = "idle"
        self.failures = 0
        self.retry_at_s = -math.inf
        self.last_bytes_s = math.nan
        self.connected_at_s = math.nan
        self.interrupted = False
        self.streamed_once = False
        self.connects = 0
        self.reconnects = 0
        self.gaps = 0
        self.bytes = 0
        self.last_error = ""
        #: Battery level the transport read from the device, %, or None.
        self.battery_pct: float | None = None

    def poll(self, now_s: float) -> tuple[str, list[Gap]]:
        """What to do now: (action, gaps to pass downstream).

        ``connect`` when an attempt is due, ``disconnect`` when a connection has stalled (and
        should be reopened), else ``wait``.
        """
        if self.state in ("idle", "waiting"):
            return (CONNECT if now_s >= self.retry_at_s else WAIT), []
        if math.isfinite(self.last_bytes_s):
            since, limit = now_s - self.last_bytes_s, self.stall_after_s
        else:
            since = now_s - self.connected_at_s
            limit = max(self.stall_after_s, self.params.first_data_s)
        if since < limit:
            return WAIT, []
        gaps = self._interrupt(now_s, "stall")
        if self.reconnect_on_stall:
            self.state = "waiting"
            self.failures = 1
            self.retry_at_s = now_s
            return DISCONNECT, gaps
        # Connectionless: restart the silence clock so a long silence is one gap, not many.
        self.last_bytes_s = now_s
        return WAIT, gaps

    def on_connected(self, now_s: float) -> None:
        """A connection attempt succeeded."""
        if self.connects:
            self.reconnects += 1
        self.connects += 1
        self.state = "connected"
        self.connected_at_s = now_s
        self.last_bytes_s = math.nan

    def on_connect_failed(self, now_s: float, error: str = "") -> None:
        """A connection attempt failed: retry after the backoff."""
        self.failures += 1
        self.state = "waiting"
        self.retry_at_s = now_s + self.params.backoff_s(self.failures)
        self.last_error = error

    def on_bytes(self, now_s: float, n_bytes: int) -> None:
        """Bytes arrived (any amount > 0): the link is streaming, any interruption is over."""
        if n_bytes <= 0:
            return
        self.bytes += n_bytes
        self.last_bytes_s = now_s
        self.failures = 0
        self.interrupted = False
        self.streamed_once = True

    def on_lost(self, now_s: float, error: str = "") -> list[Gap]:
        """The connection dropped (read error, port gone, BLE disconnect)."""
        gaps = self._interrupt(now_s, "disconnect")
        self.state = "waiting"
        self.failures = max(1, self.failures + 1)
        self.retry_at_s = now_s + self.params.backoff_s(self.failures)
        self.last_error = error
        return gaps

    def on_closed(self) -> None:
        """The host closed the link on purpose (Disconnect, the end of a command): no retry."""
        self.state = "disconnected"

    def _interrupt(self, now_s: float, reason: str) -> list[Gap]:
        """One gap per interruption: only when the link had streamed since the last one."""
        if self.interrupted or not self.streamed_once:
            return []
        self.interrupted = True
        self.gaps += 1
        return [Gap(t_host_s=now_s, reason=reason)]

    def snapshot(self) -> dict:
        """Connection counters as plain data."""
        return {"state": self.state, "connects": self.connects, "reconnects": self.reconnects,
                "link_gaps": self.gaps, "bytes": self.bytes, "last_error": self.last_error,
                "battery_pct": self.battery_pct}


class StreamStats:
    """Consumer-side statistics of one link, from decoded and timed samples.

    Args:
        window_s: the rate is measured over the samples of the last ``window_s`` seconds of
            sample time (``t_s``).
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = float(window_s)
        self._times: deque[np.ndarray] = deque()
        self.frames = 0
        self.gaps = 0
        self.lost_frames = 0
        self.last_t_s = math.nan
        #: Battery level reported in-band by a decoder, %, or None (the transport's reading,
        #: e.g. BLE Battery Level, takes precedence in :func:`link_stats`).
        self.battery_pct: float | None = None

    def on_samples(self, batch: SampleBatch) -> None:
        """Count timed samples (``t_s`` set by the timebase)."""
        if len(batch) == 0:
            return
        self.frames += len(batch)
        t = batch.t_s[np.isfinite(batch.t_s)]
        if t.size == 0:
            return
        self._times.append(t)
        self.last_t_s = float(t[-1])
        horizon = self.last_t_s - self.window_s
        while len(self._times) > 1 and self._times[0][-1] < horizon:
            self._times.popleft()

    def on_gap(self, gap: Gap) -> None:
        self.gaps += 1
        if gap.lost_frames > 0:
            self.lost_frames += gap.lost_frames

    #: An interval longer than this many typical (median) intervals is an outage, not streaming.
    OUTAGE_FACTOR = 5.0

    def rate_hz(self) -> float:
        """Samples per second while streaming, over the window (NaN with fewer than two
        samples): the time of outages (intervals over OUTAGE_FACTOR times the median) is left
        out, so a dropout is counted as gaps, never as a slow sensor."""
        if not self._times:
            return math.nan
        t = np.concatenate(self._times)
        t = t[t >= self.last_t_s - self.window_s]
        if t.size < 2 or t[-1] <= t[0]:
            return math.nan
        dt = np.diff(t)
        typical = float(np.median(dt))
        if typical <= 0:  # bunched times: no interval to compare with
            return (t.size - 1) / float(t[-1] - t[0])
        streaming = dt[dt <= self.OUTAGE_FACTOR * typical]
        span = float(streaming.sum())
        return streaming.size / span if span > 0 else math.nan

    def age_s(self, now_s: float) -> float:
        """Host time since the last sample was taken, s (NaN before the first)."""
        return now_s - self.last_t_s if math.isfinite(self.last_t_s) else math.nan


def link_stats(stream: StreamStats, now_s: float, decoder_stats=None,
               supervisor: LinkSupervisor | None = None) -> dict:
    """One dict with everything known about a link at host time ``now_s``.

    Keys: ``rate_hz``, ``frames``, ``rejected_frames``, ``skipped_bytes``, ``gaps``,
    ``reconnects``, ``last_sample_age_s``, ``battery_pct`` (None when the device does not
    report it), plus the supervisor's connection counters when given.
    """
    out = {
        "rate_hz": stream.rate_hz(),
        "frames": stream.frames,
        "rejected_frames": 0 if decoder_stats is None else decoder_stats.rejected_frames,
        "skipped_bytes": 0 if decoder_stats is None else decoder_stats.skipped_bytes,
        "gaps": stream.gaps,
        "reconnects": 0,
        "last_sample_age_s": stream.age_s(now_s),
        "battery_pct": stream.battery_pct,
    }
    if supervisor is not None:
        link = supervisor.snapshot()
        if link["battery_pct"] is None:
            link["battery_pct"] = stream.battery_pct
        out.update(link)
    return out


#: The lowest sample rate at which Cervitrack runs a clinical test, Hz. Voluntary head rotations
#: have their main frequency below 2.6 Hz but harmonics up to 15-20 Hz and peak velocities of
#: 780 deg/s (Grossman, Leigh, Abel, Lanska & Thurston 1988, "Frequency and velocity of
#: rotational head perturbations during locomotion", Exp Brain Res 70:470-476); sampling must
#: exceed twice the highest frequency present (Shannon 1949, "Communication in the presence of
#: noise", Proc IRE 37:10-21): 2 x 20 Hz = 40 Hz. At 10 Hz a 780 deg/s turn moves 78 deg between
#: two samples, and the stillness windows that mark a relocation hold 5 samples: a JPE test at
#: 10 Hz is not a JPE test. 50, 60 and 100 Hz devices pass.
MIN_TEST_RATE_HZ = 40.0


class RateCheck:
    """Measures the rate a device really delivers over its first seconds and says, once, when
    it is below what a test needs.

    Feed it the timed sample batches (:meth:`on_samples`); after ``measure_s`` seconds of
    samples it sets :attr:`rate_hz` (:func:`cervitrack.signal.timebase.measured_rate_hz`: the
    device clock when ``has_clock``, else host arrival times) and returns the warning when the
    rate is below ``needed_hz``, else None. Pure: time comes from the samples.
    """

    def __init__(self, has_clock: bool, needed_hz: float = MIN_TEST_RATE_HZ,
                 measure_s: float = 2.0, test_name: str = "JPE") -> None:
        self.has_clock = bool(has_clock)
        self.needed_hz = float(needed_hz)
        self.measure_s = float(measure_s)
        self.test_name = test_name
        self.rate_hz = math.nan
        self.done = False
        self._seq: list[np.ndarray] = []
        self._host: list[np.ndarray] = []
        self._dev: list[np.ndarray] = []

    def on_samples(self, batch: SampleBatch) -> str | None:
        from cervitrack.signal.timebase import measured_rate_hz

        if self.done or len(batch) == 0:
            return None
        self._seq.append(np.asarray(batch.seq, dtype=np.float64))
        self._host.append(np.asarray(batch.t_host_s, dtype=np.float64))
        self._dev.append(np.asarray(batch.t_device_s, dtype=np.float64))
        clock = np.concatenate(self._dev if self.has_clock else self._host)
        clock = clock[np.isfinite(clock)]
        if clock.size < 2 or clock[-1] - clock[0] < self.measure_s:
            return None
        self.done = True
        self.rate_hz = measured_rate_hz(np.concatenate(self._seq), np.concatenate(self._host),
                                        np.concatenate(self._dev) if self.has_clock else None)
        self._seq = self._host = self._dev = []
        return self.message()

    def message(self) -> str | None:
        """The warning (one line), or None when the rate is enough or not measured yet."""
        return rate_warning(self.rate_hz, self.needed_hz, self.test_name)


def rate_warning(rate_hz: float, needed_hz: float = MIN_TEST_RATE_HZ,
                 test_name: str = "JPE") -> str | None:
    """One line when ``rate_hz`` is below ``needed_hz``, else None (also when not measured)."""
    if not math.isfinite(rate_hz) or rate_hz >= needed_hz:
        return None
    return (f"this sensor streams at {rate_hz:.0f} Hz; a {test_name} test needs "
            f"at least {needed_hz:.0f} Hz (head movements have harmonics up to 20 Hz): "
            "set the sensor's rate with `cervitrack devices configure DEVICE --rate 100`")
