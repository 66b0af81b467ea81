"""What ``cervitrack test`` shows and writes while a test runs, and the run on a real device.

:class:`TestOutput` follows a test engine's events: each prompt is printed as one line of plain
words, lost-signal pauses and resumptions too, and with ``--events PATH`` every prompt is
written as it is issued as one JSON line (:meth:`~cervitrack.trainer.clinical.prompts.Prompt.as_event`
plus ``wall_time_s``, the ``time.time()`` when it was written), with the test's other moments
(``test_start``, ``trial_start``, ``trial_end``, ``pause``, ``resume``, ``test_end``), flushed
per line so that another program (a metronome, an EEG recorder, an emulated sensor) can follow
the test by tailing the file.

:func:`run_live` runs a test with a person wearing a real device (``serial:``, ``ble:``,
``udp:``) through the application's engine path,
:class:`~cervitrack.trainer.gui.worker.PipelineWorker` (no window: its thread loop is replaced
by steps on the wall clock, so the run is paced by the device's own samples): connect and
report the link, calibrate (or reuse the device's saved calibration), run the test.
"""

from __future__ import annotations

import sys
import time

from cervitrack.trainer.recording.events_file import EventsFile

#: Seconds of samples measured before the link quality is printed.
LINK_CHECK_S = 2.0
#: Seconds the person keeps still before a saved calibration's neutral is captured.
NEUTRAL_S = 1.5


#: Who stopped a test that Ctrl-C ended early (its trials are stored, marked aborted).
STOPPED_BY_CTRL_C = "stopped by the examiner (Ctrl-C)"

class TestOutput:
    """Print and log a running test's events (see the module docstring).

    Args:
        events_path: the ``--events`` file (created; an existing non-empty file only with
            ``force``), or None.
        show_prompts: print each prompt's words (and pauses) on stdout.
        out: where the lines are printed.
    """

    def __init__(self, events_path=None, show_prompts: bool = True, force: bool = False,
                 out=None, voice=None) -> None:
        self.show_prompts = show_prompts
        #: speaks each shown prompt (a :class:`~cervitrack.trainer.audio.voice.Voice`), or None
        self.voice = voice
        #: said once before the first prompt when the voice cannot play (no sound output)
        self.warning = voice.warning() if voice is not None else None
        self.out = out if out is not None else sys.stdout
        self.file = EventsFile(events_path, force) if events_path else None
        self._seen = 0

    def follow(self, engine) -> None:
        """Handle the engine's events issued since the last call."""
        new = engine.events[self._seen:]
        self._seen += len(new)
        for event in new:
            self.event(event)

    def event(self, event: dict) -> None:
        kind = event.get("kind")
        if kind == "prompt":
            if self.show_prompts and event.get("prompt") != "trial_recorded":
                self._warn_once()
                print(event["text"], file=self.out, flush=True)
                self._say(str(event.get("prompt", "")), event["text"])
        elif kind in ("pause", "resume"):
            if self.show_prompts:
                print(event["text"], file=self.out, flush=True)
                self._say(kind, event["text"])
        if self.file is not None:
            self.file.event(event)

    def record(self, event: dict) -> None:
        """Write ``event`` to the ``--events`` file only (nothing printed or spoken)."""
        if self.file is not None:
            self.file.write(event)

    def _say(self, kind: str, text: str) -> None:
        if self.voice is not None:
            self.voice.prompt(kind, text)

    def _warn_once(self) -> None:
        """The no-sound warning, printed once just before the first prompt."""
        if self.warning:
            print(self.warning, file=self.out, flush=True)
            self.warning = None

    def close(self) -> None:
        if self.voice is not None:
            self.voice.wait()  # the last words are heard before the command ends
        if self.file is not None:
            self.file.close()
            self.file = None


def _ask_yes_no(question: str) -> bool:
    while True:
        print(question + " [y/n] ", end="", flush=True)
        answer = sys.stdin.readline()
        if not answer:
            return False
        answer = answer.strip().lower()
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")


class LiveRun:
    """A test on a real device through :class:`PipelineWorker` (see :func:`run_live`)."""

    def __init__(self, args, spec, output: TestOutput) -> None:
        from cervitrack.trainer.gui.sources import LiveDeviceSource
        from cervitrack.trainer.gui.worker import PipelineWorker

        self.args = args
        self.output = output
        source = LiveDeviceSource(args.device, args.protocol)
        self.worker = PipelineWorker(source, catalog={spec.name: spec}, save_calibrations=True)
        self.spec = spec
        self.measured_rate_hz = float("nan")

    # ------------------------------------------------------------------ steps
    def step(self) -> None:
        self.worker.step_to(time.monotonic())
        state = str(self.worker.feed.status.get("state", ""))
        if state.startswith("failed: "):
            raise OSError(f"{self.args.device}: {state[len('failed: '):]}")
        for event in self.worker.feed.drain_events():
            # Messages about a pause or resumption repeat the engine's event, printed by
            # TestOutput; the others (calibration saved, no saved calibration...) are new.
            if event.get("kind") == "message" and "about" not in event and self.output.show_prompts:
                print(event["text"], file=self.output.out, flush=True)

    def wait_for_samples(self, seconds: float, timeout_s: float) -> None:
        """Step until ``seconds`` of samples arrived after the first (the link works)."""
        start = time.monotonic()
        deadline = start + timeout_s
        first = None
        first_frames = 0
        told = False
        while True:
            self.step()
            if first is None and not told and time.monotonic() - start > 3.0:
                told = True
                error = self.worker.feed.status.get("last_error")
                print(f"Still waiting for {self.args.device}" + (f": {error}" if error else "")
                      + f" (giving up after {timeout_s:g} s; Ctrl-C stops).", file=self.output.out, flush=True)
            frames = self.worker.feed.status.get("frames", 0)
            samples = self.worker.feed.status.get("samples", 0)
            if frames and first is None:
                first = time.monotonic()
                first_frames = samples
            if first is not None and time.monotonic() - first >= seconds:
                # The rate the device really delivers: samples over host time (the timebase's
                # t_s of a device without a clock follows its nominal rate at first).
                self.measured_rate_hz = (samples - first_frames) / (time.monotonic() - first)
                return
            if time.monotonic() > deadline:
                status = self.worker.feed.status
                why = f" ({status['last_error']})" if status.get("last_error") else ""
                raise OSError(f"{self.args.device}: no data from the device within {timeout_s:g} s{why}")

    def link_line(self) -> str:
        st = self.worker.feed.status
        rate = st.get("rate_hz")
        rate_text = f"{rate:.1f} samples/s" if rate == rate and rate is not None else "rate unknown"
        return (f"Connected to {self.args.device} ({self.worker.source.protocol}): {rate_text} "
                f"(nominal {st.get('nominal_rate_hz', 0):g}), {st.get('lost_frames', 0)} frames lost, "
                f"{st.get('gaps', 0)} interruptions, {st.get('rejected_frames', 0)} frames rejected.")

    def use_saved_calibration(self) -> bool:
        print("Using this device's saved calibration. Sit upright, look straight ahead and keep still.",
              file=self.output.out, flush=True)
        end = time.monotonic() + NEUTRAL_S
        while time.monotonic() < end:
            self.step()
        self.worker.submit("use_saved")
        self.step()
        return self.worker.calibration is not None

    def run_test(self):
        """Run the test to its end; returns (engine, stopped): ``stopped`` is None, or says
        that Ctrl-C stopped the test after some trials (none done: the interrupt goes on)."""
        self.worker.submit("test", self.spec.name)
        self.step()
        engine = self.worker.engine
        try:
            while not engine.done:
                self.step()
                self.output.follow(engine)
        except KeyboardInterrupt:
            if not engine.trials:
                raise
            return engine, STOPPED_BY_CTRL_C
        self.output.follow(engine)
        return engine, None

    def close(self) -> None:
        self.worker.stop()


def stopped_note(stopped: str, engine) -> str:
    """What a stopped test's result says in ``aborted``: who stopped it, after how many trials."""
    n = len(engine.trials)
    return f"{stopped} after {n} trial{'s' if n != 1 else ''}"


def run_live(args, spec, output: TestOutput, connect_timeout_s: float = 30.0):
    """Connect, calibrate (or reuse the saved calibration), run the test; returns
    (engine, device_info, stopped) with the engine done, or stopped by Ctrl-C after some
    trials (``stopped``, see :meth:`LiveRun.run_test`). Raises OSError when the device cannot
    be used."""
    from cervitrack.firmware_bridge.supervisor import rate_warning

    run = LiveRun(args, spec, output)
    try:
        print(f"Connecting to {args.device}…", file=output.out, flush=True)
        run.wait_for_samples(LINK_CHECK_S, connect_timeout_s)
        print(run.link_line(), file=output.out, flush=True)
        slow = rate_warning(run.measured_rate_hz, test_name=args.kind.upper())
        if slow:
            print(f"cervitrack: warning: {slow}", file=sys.stderr, flush=True)
        saved = run.worker.saved_calibration
        use_saved = False
        if saved:
            if args.use_saved_calibration:
                use_saved = True
            elif sys.stdin.isatty():
                use_saved = _ask_yes_no("This device has a saved calibration. Use it?")
            else:
                print("This device has a saved calibration; calibrating afresh "
                      "(--use-saved-calibration reuses it).", file=output.out, flush=True)
        elif args.use_saved_calibration:
            print("No saved calibration for this device: calibrating.", file=output.out, flush=True)
        if use_saved and not run.use_saved_calibration():
            print("The saved calibration could not be used: calibrating.", file=output.out, flush=True)
        engine, stopped = run.run_test()
        info = {"spec": args.device, "protocol": run.worker.source.protocol,
                "device_id": run.worker.device_id, "link": dict(run.worker.feed.status)}
        return engine, info, stopped
    finally:
        run.close()
