"""The patient-facing training window (``cervitrack train`` with a display).

One window, one page at a time, in plain words:

1. the disclaimer and, before the first session (or after a positive one), the first-run
   safety screen (:data:`cervitrack.trainer.training.safety.FIRST_RUN_QUESTIONS`); then the
   daily 5D/3N check. Any "yes" stops training with the advice to see a clinician;
2. the ratings before the session (neck pain and dizziness 0–10 sliders, nausea, other new
   symptoms, headache diary) and the readiness rule (:func:`symptoms.readiness`);
3. the drills: the laser wall with the drill's feedback (the dot always visible at the laser
   levels; hidden while the eyes are closed and revealed only when the drill gives feedback,
   after the "where do you think you are?" question, so tries without feedback at the faded
   levels show nothing), the drill's prompts, and a big **Stop**
   button at all times. After each block the ratings are asked again and the session engine
   applies the stop rules (:func:`symptoms.stop_decision`);
4. the summary (today's tries, average error, level, advice when stopped) and the progress
   figure (:func:`cervitrack.trainer.training.plot.progress_widget`).

Every rule lives in the pure modules; this window renders questions and forwards answers. The
session engine (:class:`~cervitrack.trainer.training.session.TrainingSession`) runs in the
application's pipeline thread (:class:`TrainingWorker`); its questions (``rate_symptoms``,
``estimate``) are published in the feed state and answered with worker commands.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from cervitrack.firmware_bridge.sim.device import SimulatedHeadset
from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.sources import SimSource
from cervitrack.trainer.gui.wall_view import WallView
from cervitrack.trainer.gui.worker import PipelineWorker
from cervitrack.trainer.training import levels, program, safety, symptoms
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import TrainingPatient

#: Drill prompts during which the eyes are closed (eyes-closed levels): the dot is hidden.
#: Frame timer interval while the window is minimised, ms: nothing is drawn, the prompts are
#: still spoken (within this) and the session still ends and is stored.
MINIMISED_FRAME_MS = 100
EYES_CLOSED_DRILL_PROMPTS = ("drill_return", "drill_relocate", "estimate")
#: After an eyes-closed relocation the dot stays hidden until the drill gives feedback on it,
#: or the next movement starts, so a try without feedback (faded feedback) shows nothing.
RELOCATION_PROMPTS = ("drill_return", "drill_relocate")
KR_END_PROMPTS = ("feedback", "drill_move", "drill_back", "warmup_move")
#: Buttons for the self-estimate, in plain words.
ESTIMATE_BUTTONS = (("on_target", "On the target"), ("left", "Left"), ("right", "Right"),
                    ("up", "Too high"), ("down", "Too low"))


class TrainingSimSource(SimSource):
    """The simulated headset worn by the virtual trainee
    (:class:`~cervitrack.trainer.training.sim_patient.TrainingPatient`, which follows drill
    prompts)."""

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        root = np.random.SeedSequence([cfg.seed, 0x7E57])
        self.patient = TrainingPatient(cfg.patient, np.random.default_rng(root))
        self.device = SimulatedHeadset(cfg, self.patient, keep_truth_s=self.TRUTH_S)


class TrainingWorker(PipelineWorker):
    """The pipeline thread running a training session. Extra commands: ("session", engine),
    ("answer", kind, value), ("stop_now",). The feed state carries ``question`` (the open
    question or None) and ``question_id`` (increases with every new question)."""

    def _cmd_session(self, engine: TrainingSession) -> None:
        self._begin(engine, None)
        self.feed.state = {**self.feed.state, "test": "training", "kind": "training", "question": None,
                           "question_id": 0}

    def _deliver(self, prompts, engine) -> None:
        for prompt in prompts:
            self.source.on_prompt(prompt, self.t_s)
            self._follow_reference(prompt, engine)
        self._publish_engine(engine)

    def _cmd_answer(self, kind: str, value) -> None:
        engine = self.engine
        if engine is None or engine.question != kind:
            return  # already answered, or the session has ended (a stop)
        self._deliver(engine.answer(float(self.last_sample_t_s), kind, value), engine)

    def _cmd_stop_now(self) -> None:
        engine = self.engine
        if engine is not None and not engine.done:
            t = float(self.last_sample_t_s) if np.isfinite(self.last_sample_t_s) else float(self.t_s)
            self._deliver(engine.stop_now(t), engine)

    def _publish_engine(self, engine) -> None:
        new = engine.events[self._events_seen:]
        question = engine.question
        state = self.feed.state
        if not new and state.get("phase") == engine.phase and state.get("question") == question:
            return
        self._events_seen += len(new)
        for event in new:
            self.feed.push_event(event)
        asked = sum(1 for e in new if e.get("kind") == "prompt" and e.get("prompt") in ("estimate", "rate_symptoms"))
        self.feed.state = {**state, "phase": engine.phase, "done": engine.done, "question": question,
                           "question_id": state.get("question_id", 0) + asked,
                           "calibrated": self.calibration is not None}


class DrillWall(WallView):
    """The laser wall with a drill's feedback: the dot is hidden while the eyes are closed."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.vision = "laser"
        self.task = "neutral"
        self.awaiting_kr = False
        self.tries: dict[str, int] = {}
        self.prompt.setText("Getting ready...")

    def on_event(self, event: dict) -> None:
        if event.get("kind") == "prompt":
            if event["prompt"] == "drill_move":
                self.tries[event["direction"]] = self.tries.get(event["direction"], 0) + 1
            if event["prompt"] in RELOCATION_PROMPTS:
                self.awaiting_kr = True
            elif event["prompt"] in KR_END_PROMPTS:
                self.awaiting_kr = False
        super().on_event(event)

    def _trial_label(self, direction: str) -> str:
        return f"{direction.replace('_', ' ').capitalize()} · try {max(1, self.tries.get(direction, 0))}"

    @property
    def cursor_hidden(self) -> bool:
        """Eyes-closed levels: hidden while the eyes are closed (for the neutral task also on
        the way out) and after a relocation until its feedback; laser levels: always shown."""
        if self.vision != "closed":
            return False
        return (self.phase_prompt in EYES_CLOSED_DRILL_PROMPTS or self.awaiting_kr
                or (self.task == "neutral" and self.phase_prompt == "drill_move"))


def _big_button(text: str, colour: str | None = None) -> QtWidgets.QPushButton:
    b = QtWidgets.QPushButton(text)
    b.setMinimumHeight(56)
    b.setStyleSheet(f"font-size: 22px; padding: 6px 18px;{f' background: {colour}; color: white;' if colour else ''}")
    return b


def _label(text: str, size: int = 20, bold: bool = False) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"font-size: {size}px;{' font-weight: bold;' if bold else ''}")
    return label


class ScreenPage(QtWidgets.QWidget):
    """Yes/no questions; ``answers()`` → {key: bool} or None while any is unanswered."""

    def __init__(self, title: str, questions, intro: str = "") -> None:
        super().__init__()
        self.questions = questions
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(_label(title, 26, True))
        if intro:
            layout.addWidget(_label(intro, 17))
        grid = QtWidgets.QGridLayout()
        self.groups: dict[str, QtWidgets.QButtonGroup] = {}
        for row, q in enumerate(questions):
            grid.addWidget(_label(q.text, 17), row, 0)
            group = QtWidgets.QButtonGroup(self)
            for col, (text, value) in enumerate((("Yes", 1), ("No", 0)), start=1):
                b = QtWidgets.QRadioButton(text)
                b.setStyleSheet("font-size: 17px;")
                group.addButton(b, value)
                grid.addWidget(b, row, col)
            self.groups[q.key] = group
        grid.setColumnStretch(0, 1)
        inner = QtWidgets.QWidget()
        inner.setLayout(grid)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)
        self.note = _label("", 17)
        layout.addWidget(self.note)
        self.next = _big_button("Continue")
        layout.addWidget(self.next)

    def set_answers(self, answers: dict[str, bool]) -> None:
        for key, value in answers.items():
            self.groups[key].button(1 if value else 0).setChecked(True)

    def answers(self) -> dict[str, bool] | None:
        ids = {key: g.checkedId() for key, g in self.groups.items()}
        if any(v < 0 for v in ids.values()):
            return None
        return {key: v == 1 for key, v in ids.items()}


class RatingPage(QtWidgets.QWidget):
    """Neck pain and dizziness 0–10, nausea, other new symptoms (and the headache diary)."""

    def __init__(self) -> None:
        super().__init__()
        layout = QtWidgets.QVBoxLayout(self)
        self.title = _label("How do you feel right now?", 26, True)
        layout.addWidget(self.title)
        self.sliders: dict[str, QtWidgets.QSlider] = {}
        self.rows: dict[str, QtWidgets.QWidget] = {}
        for key, text in (("pain", "Neck pain: 0 = none, 10 = worst imaginable"),
                          ("dizziness", "Dizziness: 0 = not at all, 10 = worst imaginable"),
                          ("headache", "Headache diary: your worst headache since yesterday, 0 = none")):
            row = QtWidgets.QWidget()
            rl = QtWidgets.QVBoxLayout(row)
            rl.addWidget(_label(text, 19))
            line = QtWidgets.QHBoxLayout()
            slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            slider.setRange(0, 10)
            slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
            slider.setTickInterval(1)
            slider.setMinimumHeight(40)
            value = _label("0", 26, True)
            value.setMinimumWidth(40)
            slider.valueChanged.connect(lambda v, lab=value: lab.setText(str(v)))
            line.addWidget(slider, 1)
            line.addWidget(value)
            rl.addLayout(line)
            layout.addWidget(row)
            self.sliders[key] = slider
            self.rows[key] = row
        self.nausea = QtWidgets.QCheckBox("I feel sick (nausea)")
        self.other = QtWidgets.QCheckBox("Double vision, trouble speaking or swallowing, numbness in my face, "
                                         "or feeling unsteady")
        for box in (self.nausea, self.other):
            box.setStyleSheet("font-size: 19px;")
            layout.addWidget(box)
        layout.addStretch(1)
        buttons = QtWidgets.QHBoxLayout()
        self.next = _big_button("Continue")
        buttons.addWidget(self.next, 1)
        self.stop = _big_button("Stop", "#c62828")
        self.stop.setMinimumWidth(200)
        buttons.addWidget(self.stop)
        layout.addLayout(buttons)

    def ask(self, title: str, headache: bool) -> None:
        """Show the questions; ``headache`` (the diary) before the session, whose rating page
        has no Stop button (nothing has started yet)."""
        self.title.setText(title)
        self.rows["headache"].setVisible(headache)
        self.stop.setVisible(not headache)
        self.nausea.setChecked(False)
        self.other.setChecked(False)

    def set_rating(self, rating: symptoms.SymptomRating) -> None:
        self.sliders["pain"].setValue(rating.pain_nrs)
        self.sliders["dizziness"].setValue(rating.dizziness_nrs)
        self.nausea.setChecked(bool(rating.nausea))
        self.other.setChecked(bool(rating.red_flags))

    def rating(self) -> symptoms.SymptomRating:
        return symptoms.SymptomRating(self.sliders["pain"].value(), self.sliders["dizziness"].value(),
                                      self.nausea.isChecked(), ("other_5d3n",) if self.other.isChecked() else ())


class DrillPage(QtWidgets.QWidget):
    """The wall, the level, the self-estimate buttons and the Stop button."""

    def __init__(self) -> None:
        super().__init__()
        layout = QtWidgets.QVBoxLayout(self)
        self.level = _label("", 18)
        layout.addWidget(self.level)
        self.wall = DrillWall(large=True)
        layout.addWidget(self.wall, 1)
        self.estimate_box = QtWidgets.QWidget()
        el = QtWidgets.QHBoxLayout(self.estimate_box)
        el.addWidget(_label("Where do you think you are?", 20, True))
        self.estimate_buttons = {}
        for key, text in ESTIMATE_BUTTONS:
            b = _big_button(text)
            el.addWidget(b)
            self.estimate_buttons[key] = b
        self.estimate_box.setVisible(False)
        layout.addWidget(self.estimate_box)
        bottom = QtWidgets.QHBoxLayout()
        safety_line = _label(style.SAFETY_TEXT, 16)
        safety_line.setStyleSheet("font-size: 16px; color: #a00;")
        bottom.addWidget(safety_line, 1)
        self.stop = _big_button("Stop", "#c62828")
        self.stop.setMinimumWidth(200)
        self.stop.setMinimumHeight(72)
        bottom.addWidget(self.stop)
        layout.addLayout(bottom)


class TrainingWindow(QtWidgets.QWidget):
    """Args:
        worker: a :class:`TrainingWorker` (threaded or stepped by the caller).
        store: the training history (:class:`~cervitrack.trainer.training.store.TrainingStore`).
        patient: patient id.
        today: the date (YYYY-MM-DD) the session is stored under.
        plan_for_session: optional callable(plan) → the plan the session runs (the command
            passes the measured-ROM limits; tests a short plan).
        audio: :class:`~cervitrack.trainer.gui.audio.AudioCues` or None.
        on_finished: optional callable(record) after the session is stored.
    """

    def __init__(self, worker: TrainingWorker, store, patient: str, today: str, plan_for_session=None,
                 audio=None, on_finished=None, parent=None) -> None:
        super().__init__(parent)
        from cervitrack.trainer.training.plan import Plan

        self.setWindowTitle("Cervitrack: training")
        self.worker, self.store, self.patient, self.today = worker, store, patient, today
        self.audio = audio
        self.on_finished = on_finished
        self.plan = store.plan(patient)
        if self.plan is None:
            self.plan = Plan(patient=patient)
            store.save_plan(self.plan, today, "default plan")
        self.session_plan = plan_for_session(self.plan) if plan_for_session else self.plan
        self.engine: TrainingSession | None = None
        self.before: symptoms.SymptomRating | None = None
        self.record: dict | None = None
        self.answered_id = 0
        self.question_shown = 0  # id of the question on screen; ids shown start at 1
        self.stage = "screen"
        first = store.first_run_screening(patient)
        self.needs_first_screen = first is None or first["positive"]

        layout = QtWidgets.QVBoxLayout(self)
        # At eyes-closed levels every prompt is spoken: when nothing can play, say so from the
        # first page on, before the first eyes-closed task.
        self.sound_warning = _label("", 18, True)
        self.sound_warning.setStyleSheet("font-size: 18px; font-weight: bold; background: #fff3cd; "
                                         "color: #6b4d00; padding: 8px;")
        warning = audio.warning() if audio is not None else None
        eyes_closed_level = levels.level(self.session_plan.level).vision == "closed"
        self.sound_warning.setText(warning or "")
        self.sound_warning.setVisible(bool(warning and eyes_closed_level))
        layout.addWidget(self.sound_warning)
        self.pages = QtWidgets.QStackedWidget()
        layout.addWidget(self.pages, 1)
        intro = safety.DISCLAIMER
        self.first_screen = ScreenPage("Before you start: some safety questions", safety.FIRST_RUN_QUESTIONS,
                                       intro + "\nPlease answer every question.")
        self.daily_screen = ScreenPage("Today's check: since your last session...", safety.DAILY_QUESTIONS,
                                       "" if self.needs_first_screen else intro)
        self.rating_page = RatingPage()
        self.drill_page = DrillPage()
        self.message_page = QtWidgets.QWidget()
        ml = QtWidgets.QVBoxLayout(self.message_page)
        self.message_title = _label("", 28, True)
        self.message = _label("", 22)
        ml.addWidget(self.message_title)
        ml.addWidget(self.message)
        ml.addStretch(1)
        self.summary_page = QtWidgets.QWidget()
        self.summary_layout = QtWidgets.QVBoxLayout(self.summary_page)
        self.summary_text = _label("", 20)
        self.summary_layout.addWidget(self.summary_text)
        for page in (self.first_screen, self.daily_screen, self.rating_page, self.drill_page, self.message_page,
                     self.summary_page):
            self.pages.addWidget(page)
        self.first_screen.next.clicked.connect(lambda: self.submit_screen("first_run"))
        self.daily_screen.next.clicked.connect(lambda: self.submit_screen("daily"))
        self.rating_page.next.clicked.connect(lambda: self.submit_rating())  # not clicked(bool) as rating
        self.drill_page.stop.clicked.connect(self.stop)
        self.rating_page.stop.clicked.connect(self.stop)
        for key, button in self.drill_page.estimate_buttons.items():
            button.clicked.connect(lambda _=False, k=key: self.answer_estimate(k))
        self.pages.setCurrentWidget(self.first_screen if self.needs_first_screen else self.daily_screen)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.tick)
        self._frame_ms = 0  # the display interval, kept while minimised
        self.resize(1100, 950)

    # ------------------------------------------------------------------ answers (buttons or tests)
    def submit_screen(self, which: str, answers: dict[str, bool] | None = None) -> None:
        page = self.first_screen if which == "first_run" else self.daily_screen
        if answers is not None:
            page.set_answers(answers)
        got = page.answers()
        if got is None:
            page.note.setText("Please answer every question with Yes or No.")
            return
        questions = safety.FIRST_RUN_QUESTIONS if which == "first_run" else safety.DAILY_QUESTIONS
        result = safety.evaluate_screen(got, questions)
        self.store.save_screening(self.patient, self.today, which, result.positive, result.flags)
        if result.positive:
            self._end_message("Training is stopped", result.advice)
            return
        if which == "first_run":
            self.pages.setCurrentWidget(self.daily_screen)
            return
        self.stage = "before"
        self.rating_page.ask("Before we start: how do you feel right now?", headache=True)
        self.pages.setCurrentWidget(self.rating_page)

    def submit_rating(self, rating: symptoms.SymptomRating | None = None, headache_nrs: int | None = None) -> None:
        if rating is not None:
            self.rating_page.set_rating(rating)
        if headache_nrs is not None:
            self.rating_page.sliders["headache"].setValue(headache_nrs)
        rating = self.rating_page.rating()
        if self.stage == "before":
            self.store.save_diary(self.patient, self.today, self.rating_page.sliders["headache"].value())
            self.before = rating
            mode, stop = symptoms.readiness(rating, self.plan.gentle_pain_nrs, self.plan.no_training_pain_nrs)
            if mode == "none":
                self._end_message("No training today", stop.advice)
                return
            self._start_session(mode)
        elif self.stage == "session":
            self.answered_id = self.question_shown
            self.worker.submit("answer", "rate_symptoms", rating)
            self.pages.setCurrentWidget(self.drill_page)

    def answer_estimate(self, value: str) -> None:
        if self.stage == "session" and self.drill_page.estimate_box.isVisible():
            self.answered_id = self.question_shown
            self.drill_page.estimate_box.setVisible(False)
            self.worker.submit("answer", "estimate", value)

    def stop(self) -> None:
        """The person stops now (the big Stop button)."""
        if self.stage == "session":
            self.worker.submit("stop_now")
            self.pages.setCurrentWidget(self.drill_page)
            self.drill_page.stop.setEnabled(False)

    # ------------------------------------------------------------------ flow
    def _start_session(self, mode: str) -> None:
        lv = levels.level(self.session_plan.level)
        assert self.before is not None, "the rating before the session comes first"
        self.engine = TrainingSession(self.session_plan, mode, self.before, rate_hz=self.worker.source.rate_hz)
        self.drill_page.wall.vision = lv.vision
        self.drill_page.wall.task = lv.task
        self.drill_page.level.setText(lv.describe() + (". Gentle day: small movements only." if mode == "gentle"
                                                       else "."))
        self.stage = "session"
        self.worker.submit("session", self.engine)
        self.pages.setCurrentWidget(self.drill_page)

    def _end_message(self, title: str, text: str) -> None:
        self.stage = "ended"
        self.message_title.setText(title)
        self.message.setText(text)
        self.pages.setCurrentWidget(self.message_page)

    def tick(self) -> None:
        """One display frame: the engine's prompts, its open question, the wall."""
        feed = self.worker.feed
        count = feed.ring.count
        wall = self.drill_page.wall
        for event in feed.drain_events():
            wall.on_event(event)
            if event.get("kind") == "prompt" and self.audio is not None:
                # Eyes-closed levels: every prompt is spoken, after its tone cue.
                self.audio.on_prompt(event["prompt"], wall.vision == "closed", event.get("text", ""))
        if self.stage != "session":
            return
        state = feed.state
        if state.get("done"):
            self._finish()
            return
        question, qid = state.get("question"), state.get("question_id", 0)
        if question and qid > self.answered_id and self.question_shown != qid:
            self.question_shown = qid
            if question == "rate_symptoms":
                self.rating_page.ask("Well done. How do you feel now?", headache=False)
                self.pages.setCurrentWidget(self.rating_page)
            else:
                self.drill_page.estimate_box.setVisible(True)
        if self.pages.currentWidget() is self.drill_page and not self.isMinimized():
            wall.refresh(feed, count)

    def changeEvent(self, event) -> None:
        """Minimised: frames slow to MINIMISED_FRAME_MS and draw nothing; restored: the
        display rate again."""
        super().changeEvent(event)
        if event.type() != QtCore.QEvent.Type.WindowStateChange or not self.timer.isActive():
            return
        if self.isMinimized() and not self._frame_ms:
            self._frame_ms = self.timer.interval()
            self.timer.setInterval(MINIMISED_FRAME_MS)
        elif not self.isMinimized() and self._frame_ms:
            self.timer.setInterval(self._frame_ms)
            self._frame_ms = 0

    def _finish(self) -> None:
        """Store the session, then show the summary and the progress figure."""
        from cervitrack.trainer.training.plot import progress_widget

        self.stage = "summary"
        engine = self.engine
        assert engine is not None, "a session ran"
        day = len({s["date"] for s in self.store.sessions(self.patient)} | {self.today})
        record, trials, ratings = program.session_record(day, self.today, engine)
        diary = {e["date"]: e["headache_nrs"] for e in self.store.diary(self.patient)}
        new_plan = program.finish_day(self.store, self.plan, record, trials, ratings, diary.get(self.today))
        self.record = record
        lines = []
        if record["stopped"]:
            lines.append(f"<b>The session was stopped.</b> {engine.stop.advice}")
        else:
            lines.append("<b>Session finished. Well done!</b>")
        if record["ae_deg"] is not None:
            lines.append(f"Today: {record['n_trials']} tries, average error {record['ae_deg']:.1f}°.")
        agreement = record.get("estimate_agreement")
        if agreement is not None:
            lines.append(f"Your guess matched where you were in {agreement * 100:.0f} % of tries.")
        if new_plan.level != self.plan.level:
            lines.append(f"Next time: level {new_plan.level} ({record['level_reason']}).")
        streak = record["adherence"]["current_streak_days"]
        lines.append(f"Streak: {streak} day{'s' if streak != 1 else ''} in a row.")
        self.summary_text.setText("<br>".join(lines))
        sessions = self.store.sessions(self.patient)
        start = sessions[0]["date"] if sessions else self.today
        self.progress = progress_widget(sessions, self.store.trials(self.patient), self.store.diary(self.patient),
                                        start, title="Your progress")
        self.summary_layout.addWidget(self.progress, 1)
        self.pages.setCurrentWidget(self.summary_page)
        if self.on_finished is not None:
            self.on_finished(record)

    def closeEvent(self, event) -> None:
        if self.stage == "session":
            self.worker.submit("stop_now")
        self.timer.stop()
        self.worker.stop()
        super().closeEvent(event)

