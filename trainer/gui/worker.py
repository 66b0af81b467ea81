"""The pipeline thread: device source → pipeline → test engine → feed.

:class:`PipelineWorker` owns the source, the :class:`~cervitrack.trainer.live.pipeline.Pipeline`
and the current engine; nothing else touches them. The GUI talks to it only through
:meth:`PipelineWorker.submit` (a command queue, applied at the next step) and reads what it
produces from the :class:`~cervitrack.trainer.gui.feed.LiveFeed`.

Two ways to run it:

- :meth:`start` runs a thread that, every ``poll_s`` of wall time, reads what the source has
  delivered (for the simulator: advances simulated time to the wall clock, times ``speed``)
  and processes it;
- :meth:`step_to` processes up to a given (simulated) time in the caller's thread: tests,
  screenshots and benchmarks use it to run faster than real time, deterministically.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from cervitrack.calibration.head import HeadCalibration
from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.supervisor import StreamStats
from cervitrack.signal import quaternion as quat
from cervitrack.signal.smoothing import OneEuroFilter, OneEuroParams
from cervitrack.trainer.gui.catalog import calibration_engine
from cervitrack.trainer.gui.feed import LiveFeed
from cervitrack.trainer.live.pipeline import Pipeline
from cervitrack.trainer.stores.calibrations import (
    calibration_path,
    load_calibration,
    save_calibration,
)
from cervitrack.trainer.stores.sessions import plain

if TYPE_CHECKING:
    from cervitrack.trainer.recording.writer import Recorder

#: The neutral captured by "re-zero" is the mean head orientation over this window, s.
REZERO_WINDOW_S = 0.5
#: Recent sensor orientations kept for re-zeroing and display references, s.
RECENT_S = 3.0
#: Wall time between the thread's steps while nothing on screen needs the newest samples and
#: no test runs, s (5 Hz instead of a wake-up per 15 ms BLE connection event; the device
#: panel shows the link at 2 Hz). Commands (a test started) wake the thread at once.
IDLE_STEP_S = 0.2
#: Prompts that start an item (a trial, a tracking run, a tracing run) from a settled
#: reference: from then on the wall shows the head relative to that reference, the one the
#: engine scores against (the mean head over the settled window ending at the prompt).
ITEM_START_PROMPTS = ("move", "move_max", "learn_target", "track", "trace_start")
#: A link is "stale" when no sample has arrived for longer than this, s.
STALE_S = 0.5
#: Window of sample times the status's measured rate is computed over, s.
RATE_WINDOW_S = 2.0


def link_state(source_state: str, samples: int, age_s: float) -> str:
    """The honest state of a link: "disconnected", "connecting", "reconnecting", "lost" (the
    link failed), "no data" (connected, no valid sample yet), "stale" (no sample for more than
    :data:`STALE_S`) or "streaming"."""
    if source_state == "disconnected":
        return "disconnected"
    if source_state.startswith("failed"):
        return "lost"
    if source_state in ("connecting", "reconnecting"):
        return source_state
    if samples == 0:
        return "no data"
    if not np.isfinite(age_s) or age_s > STALE_S:
        return "stale"
    return "streaming"


def link_text(status: dict) -> str:
    """One line for a person: "streaming · 99 Hz · battery 80 %", "stale · 3.2 s",
    "no data from the device (6 reconnects)"."""
    link = status.get("link", status.get("state", "disconnected"))
    if link == "stale":
        text = f"stale · {status.get('age_s', float('nan')):.1f} s"
    elif link == "streaming":
        rate = status.get("rate_hz")
        text = "streaming" + (f" · {rate:.0f} Hz" if rate is not None and np.isfinite(rate) else "")
    elif link == "no data":
        text = "connected, but no data from the device"
    elif link == "lost":
        text = "lost" + (f": {status['error']}" if status.get("error") else "")
    elif link == "reconnecting" and status.get("attempt"):
        text = f"reconnecting (attempt {status['attempt']})"
    else:
        text = link
    if status.get("reconnects"):
        text += f" · {status['reconnects']} reconnects"
    if status.get("battery_pct") is not None:
        text += f" · battery {status['battery_pct']:.0f} %"
    return text


def planned_items(settings) -> int | None:
    """Valid trials (or runs) a test's settings plan: trials per direction × directions, or
    repetitions × levels (patterns); None when the settings do not say."""
    tpd = getattr(settings, "trials_per_direction", None)
    directions = getattr(settings, "directions", None)
    if tpd and directions:
        return int(tpd) * len(directions)
    reps = getattr(settings, "repetitions", None)
    groups = getattr(settings, "levels", None) or getattr(settings, "patterns", None)
    if reps and groups:
        return int(reps) * len(groups)
    return None


#: Engine settings the views draw with (tracking target radius, tracing band, wall distance).
VIEW_SETTINGS = ("radius_deg", "band_deg", "distance_cm", "threshold_deg")


class PipelineWorker:
    """Args:
        source: a device source (:mod:`cervitrack.trainer.gui.sources`).
        feed: where to publish; a new one sized for the source's rate when None.
        catalog: test name → :class:`~cervitrack.trainer.gui.catalog.TestSpec`.
        calibration: an existing head calibration to start with.
        poll_s: wall time between reads in the threaded mode, s (sources that tell when their
            next item arrives are read exactly then, at most ``max_wait_s`` apart; blocking
            sources wait for their data themselves).
        speed: simulated seconds per wall second (simulated sources, threaded mode).
        save_calibrations: save each good calibration for the device in the user data folder
            (:mod:`cervitrack.trainer.stores.calibrations`), and offer it again on the next connection.
        smooth_cursor: smooth the wall cursor with the One Euro filter (default settings of
            :mod:`cervitrack.signal.smoothing`: jitter and tremor removed at rest, little lag
            while moving).
    """

    def __init__(self, source, feed: LiveFeed | None = None, catalog: dict | None = None,
                 calibration: HeadCalibration | None = None, poll_s: float = 0.002,
                 speed: float = 1.0, smooth_cursor: bool = True,
                 save_calibrations: bool = False) -> None:
        self.source = source
        self.feed = feed if feed is not None else LiveFeed(rate_hz=source.rate_hz)
        self.catalog = catalog or {}
        self.pipeline = Pipeline(make_decoder(source.protocol))
        self.pipeline.calibration = calibration
        self.calibration = calibration
        self.poll_s = poll_s
        self.max_wait_s = 0.02
        self.speed = speed
        self.engine = None
        self.spec = None
        self.t_s = 0.0
        self.last_sample_t_s = np.nan
        #: Valid samples processed since the connection; source-clock time of the newest one's
        #: arrival (simulated time for the simulator, time.monotonic for real devices).
        self.samples_total = 0
        self.last_arrival_s = np.nan
        self._stale_since_s: float | None = None
        #: The calibration before a re-calibration started (restored when it is cancelled).
        self._calibration_before: HeadCalibration | None = None
        #: The raw-stream recorder (:class:`~cervitrack.trainer.recording.writer.Recorder`) while recording.
        self.recorder: Recorder | None = None
        self._recorded_state: tuple = (None, None)  # (calibration, gyro bias) last written
        #: "Use the saved calibration" asked before the neutral's samples came: done once they do.
        self._use_saved_pending = False
        self.recording_path: str | None = None
        self._result_sent = False
        self._started = False
        self._events_seen = 0
        self._bias_applied = None
        self._commands: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        #: Set to end the thread's wait early: a command, a new pace, stop.
        self._wake = threading.Event()
        #: Wall time between two steps of the thread at least, s (0: as the data arrives).
        #: The window raises it while nothing on screen needs the newest samples and no test
        #: runs: the thread then wakes IDLE_STEP_S apart instead of at every link event, and
        #: still reads and publishes every sample.
        self.min_step_s = 0.0
        self._recent_q = np.zeros((0, 4))
        self._recent_t = np.zeros(0)
        #: Link quality from the timed samples (rate) and their counters (lost frames).
        self.stream = StreamStats()
        self._seq_span: tuple[int, int] | None = None
        #: q_world_head the wall view is relative to (None: the calibrated neutral).
        self.display_ref: np.ndarray | None = None
        #: One Euro filter of the wall cursor (None: raw); reset when the reference changes.
        self.cursor_filter = OneEuroFilter(OneEuroParams()) if smooth_cursor else None
        self.wall_t0: float | None = None
        #: Called (in the pipeline thread) after a step that published samples or events,
        #: e.g. the window's FrameClock.notify; None: nobody is told.
        self.on_publish = None
        self.save_calibrations = save_calibrations
        self.device_id = getattr(source, "device_id", None)
        self.saved_calibration = bool(save_calibrations and self.device_id
                                      and calibration_path(self.device_id).is_file())
        self.source.open()
        self._publish_status()

    # ------------------------------------------------------------------ commands (any thread)
    def submit(self, command: str, *args) -> None:
        """Queue a command: ("test", name), ("calibrate",), ("use_saved",), ("mark",),
        ("rezero",), ("abort",), ("record", path), ("stop_recording",)."""
        self._commands.put((command, *args))
        self._wake.set()

    def set_pace(self, min_step_s: float) -> None:
        """Wall time between two steps of the thread at least, s (see ``min_step_s``)."""
        self.min_step_s = float(min_step_s)
        self._wake.set()

    def _apply_commands(self) -> None:
        while True:
            try:
                command, *args = self._commands.get_nowait()
            except queue.Empty:
                return
            getattr(self, f"_cmd_{command}")(*args)

    def _cmd_record(self, path: str) -> None:
        """Record the raw stream (transport items, gaps, test events) to a new .cvtrec file, as
        ``cervitrack record`` does (:class:`~cervitrack.trainer.recording.writer.Recorder`)."""
        from cervitrack.trainer.recording.writer import Recorder

        t = float(self.last_sample_t_s)
        if self.recorder is not None:
            return
        info = dict(getattr(self.source, "info", {}) or {})
        meta = {"protocol": self.source.protocol, "nominal_rate_hz": float(self.source.rate_hz),
                "host_clock": "simulated" if self.source.simulated else "monotonic",
                "device": {"spec": self.source.spec, **info},
                "settings": {"command": "app", "simulated": bool(self.source.simulated)}}
        try:
            self.recorder = Recorder(path, meta)
        except (OSError, ValueError) as exc:
            self.feed.push_event({"t_s": t, "kind": "message",
                                  "text": f"The recording could not be started: {exc}"})
            return
        self.recording_path = str(path)
        self._recorded_state = (None, None)
        self.feed.push_event({"t_s": t, "kind": "recording", "path": str(path), "on": True})

    def _record_pipeline_state(self) -> None:
        """Write the calibration and gyro bias the pipeline applies from this step on into the
        recording when they changed (as ``cervitrack record`` does), so that its export and
        replay compute the head angles seen live."""
        cal, bias = self.pipeline.calibration, self.pipeline.gyr_bias_rad_s
        neutral = None if cal is None or cal.q_world_neutral is None else np.asarray(cal.q_world_neutral).tobytes()
        cal_key = None if cal is None else (id(cal), neutral)
        bias_key = None if bias is None else bias.tobytes()
        update: dict = {}
        if cal is not None and cal_key != self._recorded_state[0]:
            update["calibration"] = cal.to_dict()
        if bias is not None and bias_key != self._recorded_state[1]:
            update["pipeline_gyro_bias_rad_s"] = [float(v) for v in bias]
        self._recorded_state = (cal_key, bias_key)
        if update and self.recorder is not None:
            self.recorder.metadata(update)

    def _cmd_stop_recording(self) -> None:
        if self.recorder is None:
            return
        self.recorder.close({"stopped": "by the user"})
        self.recorder = None
        self.feed.push_event({"t_s": float(self.last_sample_t_s), "kind": "recording",
                              "path": self.recording_path, "on": False})

    def _finish(self, engine, spec, aborted: str | None = None) -> None:
        """A finished test: its result document (as ``cervitrack test`` stores it) goes to the
        application in a ``result`` event (a stopped one says why in ``aborted``)."""
        from cervitrack.trainer.clinical import presets
        from cervitrack.trainer.clinical.results import result_document

        self._result_sent = True
        try:
            preset = presets.load(spec.name)
        except (ValueError, OSError, KeyError):
            preset = None
        if preset is None:
            return
        doc = result_document(spec.kind, preset, engine, self.source.spec)
        doc["simulated"] = bool(self.source.simulated)
        if aborted:
            doc["aborted"] = aborted
        self.feed.push_event({"t_s": float(self.last_sample_t_s), "kind": "result", "doc": doc,
                              "calibration": None if engine.calibration is None else engine.calibration.to_dict(),
                              "device_info": dict(getattr(self.source, "info", {}) or {})})

    def _begin(self, engine, spec) -> None:
        self.engine, self.spec = engine, spec
        self._result_sent = False
        self._started = False
        self._events_seen = 0
        settings = getattr(engine, "settings", None)
        shown = {k: getattr(settings, k) for k in VIEW_SETTINGS if hasattr(settings, k)}
        self.feed.state = {"test": spec.name if spec else "calibration", "phase": "starting",
                           "kind": spec.kind if spec else "calibration", "settings": shown,
                           "trials": (), "scores": {}, "done": False,
                           "calibrated": self.calibration is not None,
                           "title": spec.label if spec else "Calibration",
                           "total_items": planned_items(settings), "t0_s": float(self.t_s),
                           "simulated": bool(getattr(self.source, "simulated", False))}

    def _cmd_test(self, name: str) -> None:
        spec = self.catalog[name]
        self._begin(spec.factory(self.source.rate_hz, self.calibration), spec)

    def _cmd_calibrate(self) -> None:
        self._calibration_before = self.calibration
        self.calibration = None
        self.pipeline.calibration = None
        self._begin(calibration_engine(self.source.rate_hz), None)

    def _cmd_mark(self) -> None:
        if self.engine is not None and hasattr(self.engine, "mark") and np.isfinite(self.last_sample_t_s):
            self.engine.mark(float(self.last_sample_t_s))
            self.feed.push_event({"t_s": float(self.last_sample_t_s), "kind": "mark"})

    def _cmd_rezero(self) -> None:
        """Re-capture the neutral: the mean head orientation over the last REZERO_WINDOW_S."""
        if self.calibration is None or len(self._recent_q) == 0:
            self.feed.push_event({"t_s": float(self.last_sample_t_s), "kind": "message",
                                  "text": "Calibrate first: re-zeroing needs a calibration."})
            return
        recent = self._recent_t >= self._recent_t[-1] - REZERO_WINDOW_S
        q_world_head = self.calibration.world_head(self._recent_q[recent])
        self.calibration.q_world_neutral = quat.mean(q_world_head)
        self.display_ref = None
        if self.cursor_filter is not None:
            self.cursor_filter.reset()
        self.feed.push_event({"t_s": float(self.last_sample_t_s), "kind": "rezero"})

    def _cmd_use_saved(self) -> None:
        """Reuse the device's saved calibration (alignment and gyro bias); the neutral is
        captured now, from the last REZERO_WINDOW_S (the person looks straight ahead)."""
        t = float(self.last_sample_t_s)
        try:
            saved = load_calibration(self.device_id) if self.device_id else None
        except ValueError as exc:
            self.feed.push_event({"t_s": t, "kind": "message", "text": str(exc)})
            return
        if saved is None:
            self.feed.push_event({"t_s": t, "kind": "message", "text": "No saved calibration for this device."})
            return
        if len(self._recent_t) == 0 or self._recent_t[-1] - self._recent_t[0] < REZERO_WINDOW_S:
            self._use_saved_pending = True  # applied once the neutral's samples have come
            return
        self._use_saved_pending = False
        self.calibration = HeadCalibration(saved.q_sensor_head, None, saved.gyr_bias_rad_s, dict(saved.quality))
        if saved.gyr_bias_rad_s is not None:
            self.pipeline.set_gyro_bias(saved.gyr_bias_rad_s)
        self.pipeline.calibration = self.calibration
        self._cmd_rezero()
        self.feed.state = {**self.feed.state, "calibrated": True}
        self.feed.push_event({"t_s": t, "kind": "calibration_loaded", "quality": dict(saved.quality)})

    def _save_calibration(self, event: dict) -> None:
        # Called only once the calibration is set (the caller checks it).
        if not (self.save_calibrations and self.device_id and event.get("ok")
                and self.calibration is not None):
            return
        try:
            save_calibration(self.device_id, self.calibration, time.time())
        except OSError as exc:
            self.feed.push_event({"t_s": event["t_s"], "kind": "message",
                                  "text": f"The calibration could not be saved: {exc.strerror or exc}"})
            return
        self.saved_calibration = True
        self.feed.push_event({"t_s": event["t_s"], "kind": "message",
                              "text": "Calibration saved for this device: next time it can be reused."})

    def _cmd_abort(self, reason: str = "stopped by the examiner") -> None:
        """Stop the running test: the trials recorded so far go to the application as a result
        marked ``aborted`` (with ``reason``), to be stored as such; a calibration is cancelled."""
        t = float(self.last_sample_t_s)
        engine, spec = self.engine, self.spec
        if engine is not None and not engine.done:
            self.feed.push_event({"t_s": t, "kind": "aborted", "test": self.feed.state.get("test")})
            self.feed.state = {**self.feed.state, "phase": "aborted", "done": True, "aborted": True}
            if spec is None:  # a cancelled (re-)calibration: the previous one stays
                self._restore_calibration(t)
            elif getattr(engine, "trials", None) and not self._result_sent:
                n = len(engine.trials)
                self._finish(engine, spec, aborted=f"{reason} after {n} trial{'s' if n != 1 else ''}")
        self.engine, self.spec = None, None

    def _restore_calibration(self, t_s: float) -> None:
        previous, self._calibration_before = self._calibration_before, None
        self.calibration = previous
        self.pipeline.calibration = previous
        if previous is not None and previous.gyr_bias_rad_s is not None:
            self.pipeline.set_gyro_bias(previous.gyr_bias_rad_s)
            self._bias_applied = None
        self.feed.state = {**self.feed.state, "calibrated": previous is not None}
        self.feed.push_event({"t_s": t_s, "kind": "calibration_kept",
                              "quality": None if previous is None else dict(previous.quality)})

    # ------------------------------------------------------------------ processing
    def step_to(self, until_s: float) -> None:
        """Apply queued commands, then read and process everything delivered up to ``until_s``."""
        self._apply_commands()
        self.t_s = until_s
        items = self.source.read(until_s)
        if self.recorder is not None:
            self._record_pipeline_state()
            for item in items:
                self.recorder.write(item)
            self.recorder.step(until_s)
        pose = self.pipeline.process(items)
        for gap in pose.gaps:
            self.stream.on_gap(gap)
        if len(pose):
            self._count_samples(pose)
            self.last_sample_t_s = float(pose.t_s[-1])
            self.samples_total += len(pose)
            self.last_arrival_s = until_s
            if self._stale_since_s is not None:
                self._link_restored(until_s)
            # Publish first: the views need the samples now, the engine's decisions can follow.
            self.feed.push_pose(pose, time.perf_counter(), self.calibration, self.display_ref,
                                self.cursor_filter)
            self._keep_recent(pose)
            if self._use_saved_pending:
                self._cmd_use_saved()
        engine = self.engine
        prompts: list = []
        if engine is not None and len(pose) and not self._started:
            self._started = True
            prompts = engine.start(float(pose.t_s[-1]))
        elif engine is not None and self._started and not engine.done:
            prompts = engine.update(pose)
            check = getattr(engine, "check_signal", None)
            if check is not None and not len(pose):
                # No sample this step: after the engine's signal_lost_s it pauses the trial
                # (``until_s`` is on the samples' clock: host monotonic, or simulated time).
                check(until_s)
        if engine is not None:
            if getattr(engine, "calibration", None) is not None and engine.calibration is not self.calibration:
                self.calibration = engine.calibration
            bias = getattr(engine, "gyro_bias_update", None)
            if bias is not None and bias is not self._bias_applied:
                self.pipeline.set_gyro_bias(bias)
                self._bias_applied = bias
        if self.calibration is not None and self.pipeline.calibration is not self.calibration:
            self.pipeline.calibration = self.calibration
            if engine is not None:
                for event in engine.events[self._events_seen:]:
                    if event.get("kind") == "calibration":
                        self._save_calibration(event)
        for prompt in prompts:
            self.source.on_prompt(prompt, until_s)
            self._follow_reference(prompt, engine)
        if engine is not None:
            self._publish_engine(engine)
            if engine.done and self.spec is not None and not self._result_sent:
                self._finish(engine, self.spec)
        self._publish_status()
        if self.on_publish is not None and (len(pose) or self.feed.events):
            self.on_publish()

    def _count_samples(self, pose) -> None:
        self.stream.on_samples(pose.samples)
        first = self._seq_span[0] if self._seq_span is not None else int(pose.seq[0])
        self._seq_span = (first, int(pose.seq[-1]))

    def lost_frames(self) -> int:
        """Frames the counters say were sent and never arrived (for devices without a counter:
        the frames a gap's duration implies, estimated by the timebase)."""
        if self._seq_span is None:
            return 0
        return max(0, self._seq_span[1] - self._seq_span[0] + 1 - self.stream.frames)

    def _keep_recent(self, pose) -> None:
        t = np.concatenate([self._recent_t, pose.t_s])
        q = np.concatenate([self._recent_q, pose.q_world_sensor])
        keep = t >= t[-1] - RECENT_S
        self._recent_t, self._recent_q = t[keep], q[keep]

    def _follow_reference(self, prompt, engine) -> None:
        """Switch the wall's reference with the engine's (see ITEM_START_PROMPTS)."""
        if self.cursor_filter is not None and prompt.kind in ("recenter", "done", "sit_still") + ITEM_START_PROMPTS:
            self.cursor_filter.reset()  # the reference jumps: do not glide across
        if prompt.kind in ("recenter", "done", "sit_still"):
            self.display_ref = None
        elif prompt.kind in ITEM_START_PROMPTS and self.calibration is not None:
            settle_s = getattr(getattr(getattr(engine, "settings", None), "stillness", None), "settle_s", 0.5)
            window = (self._recent_t >= prompt.t_s - settle_s) & (self._recent_t <= prompt.t_s)
            if window.any():
                self.display_ref = quat.mean(self.calibration.world_head(self._recent_q[window]))

    def _publish_engine(self, engine) -> None:
        new = engine.events[self._events_seen:]
        if not new and self.feed.state.get("phase") == engine.phase:
            return
        self._events_seen += len(new)
        for event in new:
            self.feed.push_event(event)
            if self.recorder is not None:
                self.recorder.event(plain(event))
            if event.get("kind") in ("pause", "resume"):
                # A lost signal is said, never hidden: the views show messages.
                self.feed.push_event({"t_s": event["t_s"], "kind": "message", "text": event["text"],
                                      "about": event["kind"]})
        changed = any(e.get("kind") in ("trial", "test_end") for e in new)
        state = dict(self.feed.state)
        state.update(phase=engine.phase, done=engine.done, calibrated=self.calibration is not None)
        if changed or not state["trials"]:
            state["trials"] = tuple(dict(tr) for tr in engine.trials)
            state["scores"] = engine.scores() if engine.trials else {}
        self.feed.state = state

    def _link_restored(self, now_s: float) -> None:
        """Samples again after a stale link: say how long it was away and whether the
        calibration is still in use."""
        since_s, self._stale_since_s = self._stale_since_s, None
        gap_s = now_s - (now_s if since_s is None else since_s)
        if self.calibration is not None:
            # Words for any screen or terminal; the application adds its own key (R) to re-zero.
            text = (f"Signal back after {gap_s:.1f} s. The calibration is still in use (the headset "
                    "stayed on the head).")
        else:
            text = f"Signal back after {gap_s:.1f} s. No calibration is active: calibrate before a test."
        self.feed.push_event({"t_s": float(self.last_sample_t_s), "kind": "message", "text": text,
                              "link_restored": True, "calibrated": self.calibration is not None})

    def _publish_status(self) -> None:
        status = dict(self.source.status())
        stats = self.pipeline.decoder.stats
        age_s = float(self.t_s - self.last_arrival_s) if self.samples_total else float("nan")
        link = link_state(str(status.get("state", "disconnected")), self.samples_total, age_s)
        if link == "stale" and self._stale_since_s is None:
            self._stale_since_s = float(self.last_arrival_s)
        status.update(spec=self.source.spec, frames=int(stats.frames),
                      saved_calibration=self.saved_calibration,
                      rejected_frames=int(stats.rejected_frames), gaps=int(self.pipeline.gap_count),
                      no_frame_warning=self.pipeline.no_frame_warning,
                      nominal_rate_hz=self.source.rate_hz, t_s=float(self.t_s),
                      link=link, age_s=age_s, samples=int(self.samples_total),
                      # the measured rate only while streaming: a stale link has no rate
                      rate_hz=float(self.stream.rate_hz()) if link == "streaming" else float("nan"),
                      simulated=bool(getattr(self.source, "simulated", False)),
                      calibrated=self.calibration is not None)
        status.setdefault("lost_frames", self.lost_frames())  # the simulated link knows exactly
        self.feed.status = status

    # ------------------------------------------------------------------ threaded mode
    def now_s(self) -> float:
        """Simulated time that corresponds to the wall clock now (threaded mode)."""
        assert self.wall_t0 is not None, "threaded mode only: set by start()"
        return (time.perf_counter() - self.wall_t0) * self.speed

    def wall_time_of(self, t_s: float) -> float:
        """Wall time (``time.perf_counter``) at which simulated time ``t_s`` is reached."""
        assert self.wall_t0 is not None, "threaded mode only: set by start()"
        return self.wall_t0 + t_s / self.speed

    def _run(self) -> None:
        next_arrival = getattr(self.source, "next_arrival_s", None)
        prefetch = getattr(self.source, "prefetch", None)
        while not self._stop.is_set():
            self.step_to(self.now_s() if self.source.simulated else time.monotonic())
            if prefetch is not None:
                prefetch(self.now_s())
            wait_s = 0.0 if getattr(self.source, "blocking", False) else self.poll_s
            if next_arrival is not None:
                # Sleep until the next item arrives (at most max_wait_s, so that commands from
                # the GUI are applied promptly).
                wait_s = min(max(0.0, (next_arrival() - self.now_s()) / self.speed), self.max_wait_s)
            # No busy wait: at least min_step_s between steps (the source queues meanwhile).
            self._wake.wait(max(wait_s, self.min_step_s))
            self._wake.clear()

    def start(self) -> None:
        """Run in a background thread (real-time pace for simulated sources)."""
        if self._thread is not None:
            return
        self.wall_t0 = time.perf_counter() - self.t_s / self.speed
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cervitrack-pipeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (if running) and close the source."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self.recorder is not None:
            self.recorder.close({"stopped": "disconnected"})
            self.recorder = None
        self.source.close()
        self._publish_status()
