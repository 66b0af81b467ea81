"""``cervitrack train --terminal`` with a real device (``serial:``, ``ble:``, ``udp:``): the
clinic flow of ``cervitrack test`` (:mod:`cervitrack.trainer.commands._test_run`) for a training
session.

1. Connect and say how the link is ("Connecting to udp:4242…", then the link line with the
   rate, lost frames and interruptions), before any question, so a missing device is said
   first;
2. the day's questions (the caller: safety screen, ratings) while the device keeps streaming
   (the worker runs in its thread);
3. the device's saved calibration is offered (``--use-saved-calibration``; otherwise a y/n
   question when stdin is a terminal; otherwise calibrate afresh), and a new good calibration
   is saved for the device;
4. the session runs in :class:`~cervitrack.trainer.gui.training_worker.TrainingWorker`, the
   training window's worker: each prompt is printed and spoken, questions are asked on the
   terminal, a lost signal pauses with the clinical engines' words ("Signal lost — trial 2
   paused. Waiting for the sensor…") and the trial is redone; ``--events PATH`` writes every
   prompt as a JSON line (the format of ``cervitrack test --events``) for a program that follows
   the session (``cervitrack emulate --events``).
"""

from __future__ import annotations

import queue
import sys
import threading
import time

from cervitrack.trainer.commands._test_run import NEUTRAL_S, LiveRun, TestOutput, _ask_yes_no
from cervitrack.trainer.training import cli_flow

#: Prompts the terminal does not print (questions are asked instead; the end is said by the
#: caller in full): as for the simulated trainee (cervitrack.trainer.training.interactive).
QUIET = {"trial_recorded", "estimate", "rate_symptoms", "stop", "done"}
#: Seconds of samples measured before the link quality is printed (as ``cervitrack test``).
LINK_CHECK_S = 2.0
#: Wall seconds between looks at the feed while the session runs.
POLL_S = 0.02


class TrainLive(LiveRun):
    """A training session on a real device (see the module docstring)."""

    def __init__(self, args, output: TestOutput) -> None:
        from cervitrack.trainer.gui.sources import LiveDeviceSource
        from cervitrack.trainer.gui.training_worker import TrainingWorker

        self.args = args
        self.output = output
        source = LiveDeviceSource(args.device, args.protocol, baud=args.baud)
        self.worker = TrainingWorker(source, save_calibrations=True)
        self.threaded = False

    def connect(self, timeout_s: float = 30.0) -> None:
        """Connect, print the link line, then keep reading the device in the worker's thread."""
        print(f"Connecting to {self.args.device}…", file=self.output.out, flush=True)
        self.wait_for_samples(LINK_CHECK_S, timeout_s)
        print(self.link_line(), file=self.output.out, flush=True)
        self.worker.start()
        self.threaded = True

    def print_feed(self) -> None:
        """Print what the worker published: prompts (spoken too), pauses, messages."""
        status = str(self.worker.feed.status.get("state", ""))
        if status.startswith("failed: "):
            raise OSError(f"{self.args.device}: {status[len('failed: '):]}")
        for event in self.worker.feed.drain_events():
            kind = event.get("kind")
            if kind == "prompt" and event.get("prompt") in QUIET:
                self.output.record(event)
            elif kind == "message":
                if "about" not in event:  # pauses are printed from their own event
                    print(event["text"], file=self.output.out, flush=True)
            else:
                self.output.event(event)

    def choose_calibration(self):
        """The saved calibration (neutral captured now) or None to calibrate afresh."""
        out = self.output.out
        use_saved = False
        if self.worker.saved_calibration:
            if self.args.use_saved_calibration:
                use_saved = True
            elif sys.stdin.isatty():
                use_saved = _ask_yes_no("This device has a saved calibration. Use it?")
            else:
                print("This device has a saved calibration; calibrating afresh "
                      "(--use-saved-calibration reuses it).", file=out, flush=True)
        elif self.args.use_saved_calibration:
            print("No saved calibration for this device: calibrating.", file=out, flush=True)
        if not use_saved:
            return None
        print("Using this device's saved calibration. Sit upright, look straight ahead and keep still.",
              file=out, flush=True)
        time.sleep(NEUTRAL_S)  # the person keeps still: the neutral is the last samples' mean
        self.worker.submit("use_saved")
        deadline = time.monotonic() + 5.0
        while self.worker.calibration is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
            self.print_feed()
        if self.worker.calibration is None:
            print("The saved calibration could not be used: calibrating.", file=out, flush=True)
        return self.worker.calibration

    def run_session(self, engine, ask) -> None:
        """Run the session to its end; questions asked with ``ask``; Ctrl-C stops it (the
        session ends with advice, stored as stopped by the person)."""
        worker = self.worker
        worker.submit("session", engine)
        answered = 0
        asked: queue.Queue = queue.Queue()
        stopping = False
        while True:
            try:
                self.print_feed()
                state = worker.feed.state
                if state.get("test") == "training" and state.get("done"):
                    break
                question, qid = state.get("question"), state.get("question_id", 0)
                if question and qid > answered and not stopping:
                    answered = qid
                    value = _ask_in_thread(ask, question, asked, self.print_feed)
                    worker.submit("answer", question, value)
                time.sleep(POLL_S)
            except KeyboardInterrupt:
                if not stopping:
                    stopping = True
                    worker.submit("stop_now")
        self.print_feed()

    def close(self) -> None:
        self.worker.stop()


def _ask_in_thread(ask, question: str, answers: queue.Queue, meanwhile):
    """Ask ``question`` (blocking on the terminal) in a helper thread, while the main thread
    keeps printing what the session says (a lost signal during a question is said at once)."""

    def asking():
        try:
            value = cli_flow.ask_rating(ask) if question == "rate_symptoms" else cli_flow.ask_estimate(ask)
            answers.put((True, value))
        except BaseException as exc:  # noqa: BLE001 (handed to the main thread)
            answers.put((False, exc))

    threading.Thread(target=asking, name="cervitrack-question", daemon=True).start()
    while True:
        try:
            ok, value = answers.get(timeout=POLL_S)
        except queue.Empty:
            meanwhile()
            continue
        if ok:
            return value
        raise value


#: Device kinds run through the worker (connection, saved calibration, lost-signal pause).
LIVE_KINDS = ("serial", "ble", "udp")


def connect(args):
    """A connected :class:`TrainLive` (link line printed) with its output; OSError when the
    device cannot be used."""
    from cervitrack.trainer.audio.voice import for_command_line

    output = TestOutput(args.events, show_prompts=True, force=False, out=sys.stdout,
                        voice=None if args.no_sound else for_command_line())
    try:
        live = TrainLive(args, output)
    except BaseException:
        output.close()
        raise
    try:
        live.connect()
    except BaseException:
        live.close()
        output.close()
        raise
    return live


def run_session(args, live: TrainLive, store, plan, mode, before, today: str, ask, say) -> int:
    """Calibration (saved or afresh), the session on the device, then stored as a finished or
    stopped session (training store and clinical store, as the simulated trainee's)."""
    from cervitrack.trainer.training.interactive import _session_plan, finish_session
    from cervitrack.trainer.training.session import TrainingSession

    session_plan = _session_plan(plan, say)
    calibration = live.choose_calibration()
    engine = TrainingSession(session_plan, mode, before, rate_hz=live.worker.source.rate_hz,
                             calibration=calibration)
    say("Press Ctrl-C at any moment to stop.")
    live.run_session(engine, ask)
    live.close()
    live.output.close()
    return finish_session(store, plan, engine, today, say, args.device)
