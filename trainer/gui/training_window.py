"""The patient-facing training window (``cervitrack train`` with a display).

One window, one card at a time, in plain words, every target at least :data:`TOUCH_PX` high
and every page usable by mouse, touch and keyboard, with a visible way back or to stop:

1. **Welcome**: the disclaimer and today's level (Start / Not today).
2. **Safety questions**, one per card, large Yes/No buttons under the words (keys Y and N,
   Esc goes back): the first-run screen (:data:`safety.FIRST_RUN_QUESTIONS`) before the first
   session (or after a positive one), otherwise the daily 5D/3N check. The first run already
   contains the daily questions, so it is never followed by them. The answers are shown on a
   review card, where any can be changed, before they count.
3. **How do you feel**: the headache diary and neck pain as 0–10 NRS (eleven buttons, nothing
   chosen until the person chooses, the choice read back in words); a value that stops
   training asks for confirmation first. Dizziness, nausea and the other 5D/3N symptoms come
   from the safety questions just answered (no question twice). A review card, then the
   readiness rule (:func:`symptoms.readiness`).
4. **The drills**: the laser wall with the drill's feedback (the dot hidden while the eyes are
   closed), and a big Stop (Esc). "Where do you think you are?" is answered with the arrow
   keys (Space or Enter: on the centre), keys a person finds with the eyes closed, or with a
   large on-screen pad once the eyes are open. After each block: pain, dizziness, nausea and
   other symptoms now (cards as above), then the stop rules (:func:`symptoms.stop_decision`).
5. **The end**: a stop (a positive safety check, no training today, a stopped session) shows
   what to do next and the clinician's contact (:mod:`cervitrack.trainer.training.outcome`)
   with a Close button, and is stored with its reason: a relaunch the same day shows it again
   instead of offering training. A finished session shows today's result in one sentence,
   the last ten sessions against the goal, what changed, Done, and "Details" (the research
   progress figure, :func:`cervitrack.trainer.training.plot.progress_widget`).

Every rule lives in the pure modules; this window renders questions and forwards answers. The
session engine (:class:`~cervitrack.trainer.training.session.TrainingSession`) runs in the
application's pipeline thread (:class:`TrainingWorker`); its questions (``rate_symptoms``,
``estimate``) are published in the feed state and answered with worker commands.

Spoken guidance: every text put in front of the person passes through
:meth:`TrainingWindow.say`, the one place that calls the audio
(:meth:`cervitrack.trainer.gui.audio.AudioCues.on_prompt`: at eyes-closed levels every drill
prompt is cued and spoken; a no-sound warning shows above the pages when nothing can play).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.gui import style
from cervitrack.trainer.gui.training_worker import TrainingWorker
from cervitrack.trainer.gui.wall_view import WallView
from cervitrack.trainer.training import levels, outcome, program, safety, symptoms
from cervitrack.trainer.training.session import TrainingSession

#: Smallest height (and width) of anything to press, px. At least the 44×44 CSS px of WCAG 2.1
#: success criterion 2.5.5 (Target Size) and Material Design's 48 dp touch target; 64 px gives
#: room for unsteady hands.
TOUCH_PX = 64

#: Frame timer interval while the window is minimised, ms: nothing is drawn, the prompts are
#: still spoken (within this) and the session still ends and is stored.
MINIMISED_FRAME_MS = 100
#: Drill prompts during which the eyes are closed (eyes-closed levels): the dot is hidden.
EYES_CLOSED_DRILL_PROMPTS = ("drill_return", "drill_relocate", "estimate")
#: After an eyes-closed relocation the dot stays hidden until the drill gives feedback on it,
#: or the next movement starts, so a try without feedback (faded feedback) shows nothing.
RELOCATION_PROMPTS = ("drill_return", "drill_relocate")
KR_END_PROMPTS = ("feedback", "drill_move", "drill_back", "warmup_move")


#: The saved calibration offered on a real device (the neutral is captured when Yes is pressed).
SAVED_TEXT = ("This device has a saved calibration. Use it? If yes: sit upright, look straight ahead and keep "
              "still as you press Yes.")


#: The estimate pad and keys: answer → (arrow, word).
ESTIMATE_PAD = {"up": ("↑", "Too high"), "left": ("←", "Left"), "on_target": ("●", "Centre"),
                "right": ("→", "Right"), "down": ("↓", "Too low")}
_K = QtCore.Qt.Key
ESTIMATE_KEYS = {int(_K.Key_Left): "left", int(_K.Key_Right): "right", int(_K.Key_Up): "up", int(_K.Key_Down): "down",
                 int(_K.Key_Space): "on_target", int(_K.Key_Return): "on_target", int(_K.Key_Enter): "on_target"}
ESTIMATE_TEXT = ("Keep your eyes closed. Where do you think you are? Press an arrow key, or Space for the "
                 "centre.")


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
            if event["prompt"] == "estimate":  # the window's words: keys, not buttons to read
                event = {**event, "text": ESTIMATE_TEXT}
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


# ---------------------------------------------------------------------- building blocks
def _button(text: str, name: str, kind: str = "plain", focus: bool = True) -> QtWidgets.QPushButton:
    """A large button; ``kind`` "primary", "stop" or "plain"."""
    b = QtWidgets.QPushButton(text)
    b.setObjectName(name)
    b.setMinimumHeight(TOUCH_PX)
    b.setMinimumWidth(max(TOUCH_PX, 140))
    colours = {"primary": "background: #1f5fa8; color: white;", "stop": "background: #c62828; color: white;",
               "plain": ""}[kind]
    b.setStyleSheet(f"QPushButton {{ font-size: 22px; padding: 6px 22px; {colours} }}"
                    "QPushButton:disabled { background: #ddd; color: #888; }"
                    "QPushButton:focus { border: 3px solid #f0a000; }")
    if not focus:
        b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
    return b


def _label(text: str = "", size: int = 20, bold: bool = False, name: str = "") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
    label.setStyleSheet(f"font-size: {size}px;{' font-weight: bold;' if bold else ''}")
    if name:
        label.setObjectName(name)
    return label


class NrsControl(QtWidgets.QWidget):
    """A 0–10 numeric rating scale as eleven segmented buttons (one exclusive QButtonGroup of
    checkable buttons ``nrs-0`` … ``nrs-10``). Nothing is chosen until the person chooses; a
    click lands only on the button under it (the gaps between buttons choose nothing), so a slip
    can never jump to an end of the scale."""

    changed = QtCore.Signal(int)

    def __init__(self, low_text: str = "0 = none", high_text: str = "10 = worst imaginable") -> None:
        super().__init__()
        self.setObjectName("nrs")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(10)
        self.group = QtWidgets.QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QtWidgets.QPushButton] = []
        for n in range(11):
            b = QtWidgets.QPushButton(str(n))
            b.setObjectName(f"nrs-{n}")
            b.setCheckable(True)
            b.setMinimumSize(TOUCH_PX, TOUCH_PX + 8)
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            b.setStyleSheet("QPushButton { font-size: 26px; font-weight: bold; background: #f2f2f2;"
                            " border: 2px solid #888; border-radius: 8px; }"
                            "QPushButton:checked { background: #1f5fa8; color: white; border-color: #0b2f5a; }"
                            "QPushButton:focus { border: 3px solid #f0a000; }")
            self.group.addButton(b, n)
            row.addWidget(b)
            self.buttons.append(b)
        self.group.idClicked.connect(self.changed.emit)
        layout.addLayout(row)
        ends = QtWidgets.QHBoxLayout()
        self.low = _label(low_text, 18)
        self.high = _label(high_text, 18)
        self.high.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        ends.addWidget(self.low)
        ends.addWidget(self.high)
        layout.addLayout(ends)

    def value(self) -> int | None:
        v = self.group.checkedId()
        return None if v < 0 else v

    def set_value(self, value: int | None) -> None:
        """Show a value (a previous answer) or nothing."""
        self.group.setExclusive(False)
        for b in self.buttons:
            b.setChecked(False)
        self.group.setExclusive(True)
        if value is not None:
            self.buttons[value].setChecked(True)

    def set_ends(self, low_text: str, high_text: str) -> None:
        self.low.setText(low_text)
        self.high.setText(high_text)


class Card(QtWidgets.QWidget):
    """A page with a title, a body and a bottom bar (Back, a way to leave, and an action)."""

    def __init__(self, name: str, expand: bool = False) -> None:
        """``expand``: the body takes the free height (a scrolling list or figure)."""
        super().__init__()
        self.setObjectName(name)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(36, 24, 36, 24)
        outer.setSpacing(14)
        self.step = _label("", 17, name="step")
        self.step.setStyleSheet("font-size: 17px; color: #555;")
        self.title = _label("", 30, True, name="title")
        outer.addWidget(self.step)
        outer.addWidget(self.title)
        self.body = QtWidgets.QVBoxLayout()
        self.body.setSpacing(14)
        outer.addLayout(self.body, 1 if expand else 0)
        if not expand:
            outer.addStretch(1)
        bar = QtWidgets.QHBoxLayout()
        self.back = _button("← Back", "back")
        self.leave = _button("Not today", "leave")
        bar.addWidget(self.back)
        bar.addWidget(self.leave)
        bar.addStretch(1)
        self.bar = bar
        outer.addLayout(bar)
        #: Key (int) → the button it presses.
        self.key_actions: dict[int, QtWidgets.QAbstractButton] = {}

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        if not self.handle_key(event.key()):
            super().keyPressEvent(event)

    def handle_key(self, key: int) -> bool:
        action = self.key_actions.get(int(key))
        if action is None:
            return False
        if action.isVisible() and action.isEnabled():
            action.click()
        return True


@dataclass(frozen=True)
class Step:
    """One card of a question flow: ``kind`` "yesno", "nrs" or "review"; the answer's ``key``;
    the question ``text``; for a 0–10 rating the words of its ends and its name in a read-back."""

    kind: str
    key: str = ""
    text: str = ""
    low: str = "0 = none"
    high: str = "10 = worst imaginable"
    word: str = ""


#: The ratings before a session (dizziness, nausea and the other symptoms come from the
#: safety questions just answered) and after a block.
BEFORE_STEPS = (
    Step("nrs", "headache", "Headache diary: how bad was your worst headache since yesterday?",
         "0 = no headache", "10 = worst imaginable", "headache"),
    Step("nrs", "pain", "How is your neck pain right now?", word="neck pain"),
)
AFTER_STEPS = (
    Step("nrs", "pain", "How is your neck pain now?", word="neck pain"),
    Step("nrs", "dizziness", "Do you feel dizzy now?", "0 = not at all", "10 = worst imaginable", "dizziness"),
    Step("yesno", "nausea", "Do you feel sick (nausea) now?"),
    Step("yesno", "other", "Do you have double vision, trouble speaking or swallowing, numbness in your face, "
                           "or do you feel unsteady now?"),
)
RATING_WORDS = {"headache": "Worst headache since yesterday", "pain": "Neck pain now", "dizziness": "Dizziness now",
                "nausea": "Feeling sick now", "other": "Double vision, speech, swallowing, numbness or unsteady now"}


class YesNoCard(Card):
    """One yes/no question: big Yes and No buttons right under the words (keys Y, N)."""

    def __init__(self) -> None:
        super().__init__("question")
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(24)
        self.yes = _button("Yes", "yes")
        self.no = _button("No", "no")
        for b in (self.yes, self.no):
            b.setCheckable(True)
            b.setMinimumSize(220, 96)
            b.setStyleSheet("QPushButton { font-size: 30px; font-weight: bold; background: #f2f2f2;"
                            " border: 2px solid #888; border-radius: 10px; }"
                            "QPushButton:checked { background: #1f5fa8; color: white; }"
                            "QPushButton:focus { border: 3px solid #f0a000; }")
            row.addWidget(b)
        row.addStretch(1)
        self.body.addLayout(row)
        self.hint = _label("Keys: Y for yes, N for no, Esc to go back.", 16)
        self.hint.setStyleSheet("font-size: 16px; color: #555;")
        self.body.addWidget(self.hint)
        self.key_actions = {int(_K.Key_Y): self.yes, int(_K.Key_N): self.no,
                            int(_K.Key_Escape): self.back}

    def show_answer(self, value: bool | None) -> None:
        self.yes.setChecked(value is True)
        self.no.setChecked(value is False)


class RatingCard(Card):
    """One 0–10 rating: the eleven buttons, the choice read back in words, and Next (a value
    that stops training asks "is that right?" on the Next button)."""

    def __init__(self) -> None:
        super().__init__("rating")
        self.nrs = NrsControl()
        self.body.addWidget(self.nrs)
        self.readback = _label("Nothing chosen yet: tap a number.", 24, True, name="readback")
        self.body.addWidget(self.readback)
        self.warning = _label("", 22, name="warning")
        self.warning.setStyleSheet("font-size: 22px; color: #b00020; font-weight: bold;")
        self.body.addWidget(self.warning)
        self.next = _button("Next →", "next", "primary")
        self.next.setEnabled(False)
        self.bar.addWidget(self.next)
        self.key_actions = {int(_K.Key_Escape): self.back, int(_K.Key_Return): self.next,
                            int(_K.Key_Enter): self.next}
        for n in range(10):
            self.key_actions[int(_K.Key_0) + n] = self.nrs.buttons[n]


class ReviewCard(Card):
    """The answers, each with a Change button, and Confirm: nothing counts before Confirm."""

    def __init__(self) -> None:
        super().__init__("review", expand=True)
        self.rows_box = QtWidgets.QWidget()
        self.rows = QtWidgets.QGridLayout(self.rows_box)
        self.rows.setColumnStretch(0, 1)
        self.rows.setVerticalSpacing(8)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.rows_box)
        self.body.addWidget(scroll, 1)
        self.warning = _label("", 22, name="warning")
        self.warning.setStyleSheet("font-size: 22px; color: #b00020; font-weight: bold;")
        self.body.addWidget(self.warning)
        self.confirm = _button("That's right: continue", "confirm", "primary")
        self.bar.addWidget(self.confirm)
        self.key_actions = {int(_K.Key_Escape): self.back, int(_K.Key_Return): self.confirm,
                            int(_K.Key_Enter): self.confirm}
        self.change_buttons: dict[str, QtWidgets.QPushButton] = {}

    def set_rows(self, rows: list[tuple[str, str, str | None]]) -> None:
        """(label, answer, key to change or None)."""
        while self.rows.count():
            item = self.rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.change_buttons = {}
        for i, (text, answer, key) in enumerate(rows):
            self.rows.addWidget(_label(text, 20), i, 0)
            self.rows.addWidget(_label(answer, 22, True), i, 1)
            if key is not None:
                b = _button("Change", f"change-{key}")
                b.setMinimumWidth(140)
                self.rows.addWidget(b, i, 2)
                self.change_buttons[key] = b
        for row in range(self.rows.rowCount()):
            self.rows.setRowStretch(row, 0)
        self.rows.setRowStretch(len(rows), 1)  # the rows stay together at the top


class WelcomeCard(Card):
    def __init__(self) -> None:
        super().__init__("welcome")
        self.title.setText("Home training")
        self.text = _label(safety.DISCLAIMER, 21)
        self.level = _label("", 21, True)
        self.body.addWidget(self.text)
        self.body.addWidget(self.level)
        self.back.setVisible(False)
        self.start = _button("Start", "start", "primary")
        self.bar.addWidget(self.start)
        self.key_actions = {int(_K.Key_Return): self.start, int(_K.Key_Enter): self.start,
                            int(_K.Key_Escape): self.leave}


class StopCard(Card):
    """A stop: what happened, what to do next, who to call, and Close."""

    def __init__(self) -> None:
        super().__init__("stopped")
        self.why = _label("", 21, name="why")
        self.steps = _label("", 21, name="steps")
        self.steps.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.contact = _label("", 21, True, name="contact")
        self.change = _label("", 20, name="change")
        for w in (self.why, self.steps, self.contact, self.change):
            self.body.addWidget(w)
        self.back.setVisible(False)
        self.leave.setVisible(False)
        self.close_button = _button("Close", "close", "primary")
        self.bar.addWidget(self.close_button)
        self.key_actions = {int(_K.Key_Return): self.close_button, int(_K.Key_Enter): self.close_button,
                            int(_K.Key_Escape): self.close_button}

    def show_steps(self, steps: outcome.NextSteps, earlier: str = "", change: str = "") -> None:
        from html import escape

        self.step.setText(earlier)
        self.title.setText(steps.title)
        self.why.setText(steps.why)
        self.steps.setText("<b>What to do now</b><ol>" + "".join(f"<li>{escape(s)}</li>" for s in steps.steps)
                           + "</ol>")
        self.contact.setText(steps.contact)
        self.change.setText(change)
        self.change.setVisible(bool(change))


class DrillPage(QtWidgets.QWidget):
    """The wall, the level, the estimate pad and the Stop button (Esc)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("drill")
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        layout = QtWidgets.QVBoxLayout(self)
        self.level = _label("", 18, name="level")
        layout.addWidget(self.level)
        middle = QtWidgets.QHBoxLayout()
        self.wall = DrillWall(large=True)
        middle.addWidget(self.wall, 1)
        self.pad = QtWidgets.QWidget()
        self.pad.setObjectName("pad")
        grid = QtWidgets.QGridLayout(self.pad)
        grid.setSpacing(10)
        self.pad_buttons: dict[str, QtWidgets.QPushButton] = {}
        for key, (row, col) in {"up": (0, 1), "left": (1, 0), "on_target": (1, 1), "right": (1, 2),
                                "down": (2, 1)}.items():
            arrow, word = ESTIMATE_PAD[key]
            b = _button(f"{arrow}\n{word}", f"pad-{key}", focus=False)
            b.setFixedSize(120, 110)
            b.setStyleSheet("QPushButton { font-size: 22px; font-weight: bold; background: #e8eef8;"
                            " border: 2px solid #1f5fa8; border-radius: 12px; }")
            grid.addWidget(b, row, col)
            self.pad_buttons[key] = b
        self.pad.setVisible(False)
        middle.addWidget(self.pad, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(middle, 1)
        bottom = QtWidgets.QHBoxLayout()
        safety_line = _label(style.SAFETY_TEXT, 17)
        safety_line.setStyleSheet("font-size: 17px; color: #a00;")
        bottom.addWidget(safety_line, 1)
        self.stop = _button("Stop (Esc)", "stop", "stop", focus=False)
        self.stop.setMinimumSize(220, 80)
        bottom.addWidget(self.stop)
        layout.addLayout(bottom)
        self.on_estimate = None

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        if not self.handle_key(event.key()):
            super().keyPressEvent(event)

    def handle_key(self, key: int) -> bool:
        if int(key) == int(_K.Key_Escape):
            if self.stop.isEnabled():
                self.stop.click()
            return True
        answer = ESTIMATE_KEYS.get(int(key))
        if answer is not None and self.pad.isVisible():
            self.pad_buttons[answer].click()
            return True
        return answer is not None  # arrows and Space never fall through to another button


class SummaryCard(Card):
    """Today in one sentence, the last ten sessions against the goal, what changed, Done and
    Details."""

    def __init__(self) -> None:
        super().__init__("summary")
        self.sentence = _label("", 24, True, name="sentence")
        self.change = _label("", 21, name="change")
        self.body.addWidget(self.sentence)
        self.picture_box = QtWidgets.QVBoxLayout()
        self.body.addLayout(self.picture_box)
        self.body.addWidget(self.change)
        self.picture: QtWidgets.QWidget | None = None
        self.back.setVisible(False)
        self.leave.setVisible(False)
        self.details = _button("Details", "details")
        self.done = _button("Done", "done", "primary")
        self.bar.addWidget(self.details)
        self.bar.addWidget(self.done)
        self.key_actions = {int(_K.Key_Return): self.done, int(_K.Key_Enter): self.done,
                            int(_K.Key_Escape): self.done}

    def show_picture(self, sessions: list[dict], goal_deg: float) -> None:
        """The last ten sessions' average relocation error as a line, the goal as a dashed line."""
        import pyqtgraph as pg

        if self.picture is not None:
            self.picture_box.removeWidget(self.picture)
            self.picture.deleteLater()
        shown = [s for s in sessions if s.get("ae_deg") is not None][-10:]
        w = pg.PlotWidget(background="w")
        w.setObjectName("picture")
        w.setMinimumHeight(240)
        w.setMaximumHeight(420)
        w.setMenuEnabled(False)
        w.setMouseEnabled(x=False, y=False)
        w.hideButtons()
        item = w.getPlotItem()
        font = {"font-size": "15pt", "color": "#222"}
        item.setLabel("left", "average error (°)", **font)
        item.setLabel("bottom", "your last sessions (right: today)", **font)
        item.addLegend(offset=(10, 10), labelTextSize="14pt", labelTextColor="#222")
        x = np.arange(1, len(shown) + 1, dtype=float)
        y = np.array([s["ae_deg"] for s in shown], dtype=float)
        item.plot(x, y, pen=pg.mkPen((31, 95, 168), width=4), symbol="o", symbolSize=14,
                  symbolBrush=(31, 95, 168), name="your average error")
        item.plot([0.5, max(1.5, len(shown) + 0.5)], [goal_deg, goal_deg],
                  pen=pg.mkPen((20, 150, 60), width=3, style=QtCore.Qt.PenStyle.DashLine), name="your goal")
        item.setXRange(0.5, max(1.5, len(shown) + 0.5), padding=0)
        top = float(max(goal_deg * 1.6, y.max() * 1.15 if y.size else 1.0))
        item.setYRange(0, top, padding=0)
        item.getAxis("bottom").setTicks([[(float(i), "today" if i == len(shown) else str(int(i))) for i in x]])
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTickFont(_font(17))
            item.getAxis(axis).setTextPen("#222")
        self.picture = w
        self.picture_box.addWidget(w)


def _font(px: int):
    from PySide6 import QtGui

    f = QtGui.QFont()
    f.setPixelSize(px)
    return f


class DetailsCard(Card):
    """The research progress figure, with Back."""

    def __init__(self) -> None:
        super().__init__("details-page", expand=True)
        self.title.setText("Details: your progress")
        self.step.setVisible(False)
        self.leave.setVisible(False)
        self.figure: QtWidgets.QWidget | None = None
        self.key_actions = {int(_K.Key_Escape): self.back}

    def show_figure(self, widget) -> None:
        """The four-panel figure at a legible height; on a small screen it scrolls while Back
        stays in view."""
        if self.figure is not None:
            self.body.removeWidget(self.figure)
            self.figure.deleteLater()
        widget.setMinimumHeight(900)
        scroll = QtWidgets.QScrollArea()
        scroll.setObjectName("figure")
        scroll.setWidgetResizable(True)
        scroll.setWidget(widget)
        self.figure = scroll
        self.body.addWidget(scroll, 1)


# ---------------------------------------------------------------------- the window
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
        self.last_rating: symptoms.SymptomRating | None = None
        self.record: dict | None = None
        self.answered_id = 0
        self.question_shown = 0
        self.stage = "welcome"
        self.progress = None
        first = store.first_run_screening(patient)
        self.needs_first_screen = first is None or first["positive"]
        # The question flow on screen: its name, steps, position and answers.
        self.flow = ""
        self.steps: tuple[Step, ...] = ()
        self.step_i = 0
        self.answers: dict[str, int | bool] = {}
        self.back_to_review = False

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # At eyes-closed levels every prompt is spoken: when nothing can play, say so from the
        # first page on, before the first eyes-closed task.
        self.sound_warning = _label("", 18, True, name="sound-warning")
        self.sound_warning.setStyleSheet("font-size: 18px; font-weight: bold; background: #fff3cd; "
                                         "color: #6b4d00; padding: 8px;")
        warning = audio.warning() if audio is not None else None
        eyes_closed_level = levels.level(self.session_plan.level).vision == "closed"
        self.sound_warning.setText(warning or "")
        self.sound_warning.setVisible(bool(warning and eyes_closed_level))
        layout.addWidget(self.sound_warning)
        # The device's state in words, above every card: "Connecting to udp:4242…", a lost
        # signal in the clinical engines' words (never hidden), "Signal back. …".
        self.status_line = _label("", 18, True, name="status")
        self.status_line.setStyleSheet("font-size: 18px; font-weight: bold; background: #fde2e1; "
                                       "color: #7a1712; padding: 8px;")
        self.status_line.setVisible(False)
        self.signal_text = ""
        self.pending_mode: str | None = None
        layout.addWidget(self.status_line)
        self.pages = QtWidgets.QStackedWidget()
        layout.addWidget(self.pages, 1)
        self.welcome = WelcomeCard()
        self.question_card = YesNoCard()
        self.rating_card = RatingCard()
        self.review_card = ReviewCard()
        self.drill_page = DrillPage()
        self.stop_card = StopCard()
        self.summary_card = SummaryCard()
        self.details_card = DetailsCard()
        for page in (self.welcome, self.question_card, self.rating_card, self.review_card, self.drill_page,
                     self.stop_card, self.summary_card, self.details_card):
            self.pages.addWidget(page)
        lv = levels.level(self.session_plan.level)
        self.welcome.level.setText(f"Today: {lv.describe()}.")
        self.welcome.start.clicked.connect(self._begin_questions)
        for card in (self.welcome, self.question_card, self.rating_card, self.review_card):
            card.leave.clicked.connect(self._leave)
        for card in (self.question_card, self.rating_card, self.review_card):
            card.back.clicked.connect(self._back)
        self.question_card.yes.clicked.connect(lambda: self._answer(True))
        self.question_card.no.clicked.connect(lambda: self._answer(False))
        self.rating_card.nrs.changed.connect(self._rating_chosen)
        self.rating_card.next.clicked.connect(lambda: self._answer(self.rating_card.nrs.value()))
        self.review_card.confirm.clicked.connect(self._confirm)
        self.drill_page.stop.clicked.connect(self.stop)
        for key, button in self.drill_page.pad_buttons.items():
            button.clicked.connect(lambda _=False, k=key: self._estimate(k))
        self.stop_card.close_button.clicked.connect(self.close)
        self.summary_card.done.clicked.connect(self.close)
        self.summary_card.details.clicked.connect(lambda: self._show(self.details_card))
        self.details_card.back.clicked.connect(lambda: self._show(self.summary_card))
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.tick)
        self._frame_ms = 0  # the display interval, kept while minimised
        self.resize(1280, 720)
        earlier = store.stops(patient, today)
        if earlier:
            self._show_stop(earlier[-1], earlier=True)
        else:
            self.say(safety.DISCLAIMER)
            self._show(self.welcome)

    # ------------------------------------------------------------------ speaking and showing
    def say(self, text: str, prompt_kind: str | None = None, eyes_closed: bool = False) -> None:
        """Every text put in front of the person passes here: the one seam for spoken
        guidance. A drill prompt at an eyes-closed level is cued and spoken
        (:meth:`AudioCues.on_prompt`); texts read with the eyes open are shown only."""
        if self.audio is not None and prompt_kind is not None:
            self.audio.on_prompt(prompt_kind, eyes_closed, text)

    def _show(self, page) -> None:
        self.pages.setCurrentWidget(page)
        page.setFocus()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        page = self.pages.currentWidget()
        handle = getattr(page, "handle_key", None)
        if handle is None or not handle(event.key()):
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ question flows
    def _begin_questions(self) -> None:
        if self.needs_first_screen:
            self._start_flow("first_run", tuple(Step("yesno", q.key, q.text) for q in safety.FIRST_RUN_QUESTIONS))
        else:
            self._start_flow("daily", tuple(Step("yesno", q.key, "Since your last session: " + q.text[0].lower()
                                                 + q.text[1:]) for q in safety.DAILY_QUESTIONS))

    def _start_flow(self, flow: str, steps: tuple[Step, ...]) -> None:
        self.flow, self.steps, self.step_i, self.answers = flow, steps + (Step("review"),), 0, {}
        self.back_to_review = False
        self._show_step()

    def _flow_title(self) -> str:
        return {"first_run": "Safety question", "daily": "Today's check", "before": "Before we start",
                "after": "How do you feel now?", "calibration": "Calibration"}[self.flow]

    def _leave_text(self) -> str:
        return "Stop training" if self.flow == "after" else "Not today"

    def _show_step(self) -> None:
        step = self.steps[self.step_i]
        n = len(self.steps) - 1
        first_of_flow = self.step_i == 0 and self.flow in ("before", "after")
        if step.kind == "review":
            self._show_review()
            return
        card = self.question_card if step.kind == "yesno" else self.rating_card
        card.step.setText(f"{self._flow_title()} · {self.step_i + 1} of {n}")
        card.title.setText(step.text)
        card.back.setVisible(not first_of_flow)
        card.leave.setText(self._leave_text())
        card.leave.setObjectName("leave")
        self.say(step.text)
        if step.kind == "yesno":
            self.question_card.show_answer(self.answers.get(step.key))  # type: ignore[arg-type]
        else:
            self.rating_card.nrs.set_ends(step.low, step.high)
            value = self.answers.get(step.key)
            self.rating_card.nrs.set_value(value if isinstance(value, int) else None)
            self._rating_chosen(value if isinstance(value, int) else None)
        self._show(card)

    def _stops_training(self, key: str, value) -> bool:
        """Whether this answer alone would stop training (the rules of symptoms.py)."""
        if self.flow == "before" and key == "pain":
            mode, _ = symptoms.readiness(symptoms.SymptomRating(value), self.plan.gentle_pain_nrs,
                                         self.plan.no_training_pain_nrs)
            return mode == "none"
        if self.flow != "after" or self.before is None:
            return False
        block_before = self.last_rating or self.before
        if key == "pain":
            now = symptoms.SymptomRating(value)
        elif key == "dizziness":
            now = symptoms.SymptomRating(block_before.pain_nrs, value)
        elif key in ("nausea", "other"):
            return bool(value)
        else:
            return False
        return symptoms.stop_decision(self.before, block_before, now, self.plan.pain_rise_stop_nrs).stop

    def _rating_chosen(self, value: int | None) -> None:
        card = self.rating_card
        step = self.steps[self.step_i]
        if value is None:
            card.readback.setText("Nothing chosen yet: tap a number (or type 0-9).")
            card.warning.setText("")
            card.next.setText("Next →")
            card.next.setEnabled(False)
            return
        words = f"{step.word.capitalize()} {value} of 10"
        card.readback.setText(f"You chose: {words}.")
        card.next.setEnabled(True)
        if self._stops_training(step.key, value):
            stop = ("there will be no training today" if self.flow == "before"
                    else "training will stop for today")
            card.warning.setText(f"With {step.word} {value} of 10, {stop}. Is {value} right? "
                                 "If not, tap the right number.")
            card.next.setText(f"Yes, {value} is right")
        else:
            card.warning.setText("")
            card.next.setText("Next →")
        self.say(card.readback.text())

    def _answer(self, value) -> None:
        if value is None or not self.steps:
            return
        step = self.steps[self.step_i]
        self.answers[step.key] = value
        if self.flow == "calibration":  # one question, no review: it decides nothing lasting
            self.flow, self.steps = "", ()
            self._calibration_chosen(bool(value))
            return
        if self.back_to_review:
            self.step_i = len(self.steps) - 1
        else:
            self.step_i += 1
        self._show_step()

    def _back(self) -> None:
        self.back_to_review = False
        if self.step_i == 0:
            if self.flow in ("first_run", "daily"):
                self._show(self.welcome)
            return
        self.step_i -= 1
        self._show_step()

    def _change(self, key: str) -> None:
        self.step_i = next(i for i, s in enumerate(self.steps) if s.key == key)
        self.back_to_review = True
        self._show_step()

    def _show_review(self) -> None:
        card = self.review_card
        card.step.setText(f"{self._flow_title()} · check your answers")
        card.back.setVisible(True)
        card.leave.setText(self._leave_text())
        questions = [s for s in self.steps if s.kind != "review"]
        stop = False
        if self.flow in ("first_run", "daily"):
            yes = [s for s in questions if self.answers.get(s.key) is True]
            card.title.setText("Please check your answers")
            rows: list[tuple[str, str, str | None]] = []
            if not yes:
                rows.append((f"You answered No to all {len(questions)} questions.", "", None))
            for s in yes:
                rows.append((s.text, "Yes", s.key))
            if yes:
                stop = True
                card.warning.setText("Because you answered yes, training stops and you will be advised to see a "
                                     "clinician. If you tapped Yes by mistake, press Change.")
            else:
                card.warning.setText("")
            if not yes:
                rows.append(("To look at any answer again, press Back.", "", None))
        else:
            card.title.setText("Please check your answers")
            rows = []
            for s in questions:
                v = self.answers.get(s.key)
                answer = f"{v} of 10" if s.kind == "nrs" else ("Yes" if v else "No")
                rows.append((RATING_WORDS[s.key], answer, s.key))
                stop = stop or self._stops_training(s.key, v)
            if self.flow == "before":
                rows.append(("Dizziness, feeling sick, other symptoms", "No",
                             None))  # answered in the safety questions just before
                card.warning.setText("With this pain there is no training today." if stop else "")
            else:
                card.warning.setText("With these answers training stops for today." if stop else "")
        card.set_rows(rows)
        for key, b in card.change_buttons.items():
            b.clicked.connect(lambda _=False, k=key: self._change(k))
        card.confirm.setText("That's right: stop" if stop else "That's right: continue")
        self.say(card.title.text())
        self._show(card)

    def _confirm(self) -> None:
        flow, answers = self.flow, dict(self.answers)
        self.flow, self.steps = "", ()
        if flow in ("first_run", "daily"):
            questions = safety.FIRST_RUN_QUESTIONS if flow == "first_run" else safety.DAILY_QUESTIONS
            result = safety.evaluate_screen({q.key: bool(answers[q.key]) for q in questions}, questions)
            self.store.save_screening(self.patient, self.today, flow, result.positive, result.flags)
            if result.positive:
                self._record_stop(flow, "screen", result.flags)
                return
            self._start_flow("before", BEFORE_STEPS)
        elif flow == "before":
            # Dizziness, nausea and the other 5D/3N symptoms: "no" in the screen just answered.
            self.store.save_diary(self.patient, self.today, int(answers["headache"]))
            rating = symptoms.SymptomRating(int(answers["pain"]))
            self.before = rating
            mode, stop = symptoms.readiness(rating, self.plan.gentle_pain_nrs, self.plan.no_training_pain_nrs)
            if mode == "none":
                self._record_stop("readiness", stop.reason, (), {"pain_nrs": rating.pain_nrs})
                return
            self._start_session(mode)
        elif flow == "after":
            rating = symptoms.SymptomRating(int(answers["pain"]), int(answers["dizziness"]), bool(answers["nausea"]),
                                            ("other_5d3n",) if answers["other"] else ())
            self.last_rating = rating
            self.answered_id = self.question_shown
            self.worker.submit("answer", "rate_symptoms", rating)
            self._show(self.drill_page)

    def _leave(self) -> None:
        """"Not today" before a session (nothing unconfirmed is stored); "Stop training" during one."""
        if self.stage == "session":
            self.stop()
        else:
            self.close()

    # ------------------------------------------------------------------ drills
    def _estimate(self, value: str) -> None:
        if self.stage == "session" and self.drill_page.pad.isVisible():
            self.answered_id = self.question_shown
            self.drill_page.pad.setVisible(False)
            self.worker.submit("answer", "estimate", value)

    def stop(self) -> None:
        """The person stops now (the big Stop button, Esc, or "Stop training" on a card)."""
        if self.stage == "session":
            self.flow, self.steps = "", ()
            self.worker.submit("stop_now")
            self.drill_page.wall.prompt.setText("Stopping...")
            self._show(self.drill_page)
            self.drill_page.stop.setEnabled(False)

    def _start_session(self, mode: str) -> None:
        """A real device with a saved calibration: offer it first (as ``cervitrack test`` and
        ``train --terminal`` do); otherwise the session starts with the calibration."""
        if self.worker.saved_calibration and not self.worker.source.simulated:
            self.pending_mode = mode
            self.flow, self.steps, self.step_i, self.answers = "calibration", (Step("yesno", "saved", SAVED_TEXT),), 0, {}
            self.back_to_review = False
            self._show_step()
            return
        self._run_session(mode, None)

    def _calibration_chosen(self, use_saved: bool) -> None:
        if not use_saved:
            self._run_session(self.pending_mode or "normal", None)
            return
        self.stage = "calibrating"
        self.worker.submit("use_saved")  # the neutral: the last half second, looking straight ahead
        self.drill_page.wall.prompt.setText("Using this device's saved calibration. Sit upright, look straight "
                                            "ahead and keep still.")
        self._show(self.drill_page)

    def _run_session(self, mode: str, calibration) -> None:
        lv = levels.level(self.session_plan.level)
        assert self.before is not None  # the rating before the session was confirmed
        self.engine = TrainingSession(self.session_plan, mode, self.before, rate_hz=self.worker.source.rate_hz,
                                      calibration=calibration)
        self.drill_page.wall.vision = lv.vision
        self.drill_page.wall.task = lv.task
        self.drill_page.level.setText(lv.describe() + (". Gentle day: small movements only." if mode == "gentle"
                                                       else "."))
        self.stage = "session"
        self.worker.submit("session", self.engine)
        self._show(self.drill_page)

    def tick(self) -> None:
        """One display frame: the engine's prompts, its open question, the wall."""
        feed = self.worker.feed
        count = feed.ring.count
        wall = self.drill_page.wall
        for event in feed.drain_events():
            wall.on_event(event)
            kind = event.get("kind")
            if kind in ("pause", "resume"):
                self.signal_text = event["text"]  # the engine's words, as the terminal prints them
                self.say(event["text"], kind, wall.vision == "closed")
            elif kind == "message" and "about" not in event:
                self.signal_text = event["text"] if self.stage == "calibrating" else self.signal_text
            elif (kind == "prompt" and not self.signal_text.startswith("Signal lost")
                  and event.get("prompt") not in ("redo", "recenter", "sit_still", "trial_recorded")):
                self.signal_text = ""  # "Signal back. …" stays until the redone try moves on
            if kind == "prompt":
                # Eyes-closed levels: every prompt is spoken (the words on the wall), after its cue.
                text = wall.prompt.text() if event["prompt"] != "trial_recorded" else event.get("text", "")
                self.say(text, event["prompt"], wall.vision == "closed")
        self._show_status(feed.status)
        if self.stage == "calibrating":
            if self.worker.calibration is not None:
                self._run_session(self.pending_mode or "normal", self.worker.calibration)
            elif self.signal_text and not self.signal_text.startswith("Signal"):
                # The saved calibration cannot be used (said on the status line): calibrate.
                self._run_session(self.pending_mode or "normal", None)
            return
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
                self._start_flow("after", AFTER_STEPS)
            else:
                self.drill_page.pad.setVisible(True)
                self.drill_page.setFocus()
        if self.pages.currentWidget() is self.drill_page and not self.isMinimized():
            wall.refresh(feed, count)

    def _show_status(self, status: dict) -> None:
        """The status line: the connection while no sample came, else a lost signal."""
        text = self.signal_text
        state = str(status.get("state", ""))
        if not self.worker.source.simulated:
            if state.startswith("failed: "):
                text = f"The device {status.get('spec')} cannot be used: {state[len('failed: '):]}"
            elif not status.get("frames"):
                text = f"Connecting to {status.get('spec')}…"
        if text != self.status_line.text():
            self.status_line.setText(text)
        self.status_line.setVisible(bool(text))

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

    # ------------------------------------------------------------------ the end
    def _record_stop(self, kind: str, reason: str, flags=(), detail: dict | None = None) -> None:
        self.store.save_stop(self.patient, self.today, kind, reason, flags, detail)
        self._show_stop({"kind": kind, "reason": reason, "flags": list(flags), "detail": detail or {}})

    def _show_stop(self, stop: dict, earlier: bool = False) -> None:
        self.stage = "ended"
        steps = outcome.next_steps(stop["kind"], stop["reason"], stop["flags"], self.plan.clinician_contact,
                                   stop["detail"].get("pain_nrs"))
        self.stop_card.show_steps(steps, "Earlier today you stopped training. Training is paused for the rest of "
                                  "today." if earlier else "", stop["detail"].get("change", ""))
        self.say(steps.title)
        self._show(self.stop_card)

    def _finish(self) -> None:
        """Store the session; a stopped one shows what to do next, a finished one the summary."""
        from cervitrack.trainer.training.plot import progress_widget

        self.stage = "summary"
        engine = self.engine
        assert engine is not None
        day = len({s["date"] for s in self.store.sessions(self.patient)} | {self.today})
        record, trials, ratings = program.session_record(day, self.today, engine)
        diary = {e["date"]: e["headache_nrs"] for e in self.store.diary(self.patient)}
        new_plan = program.finish_day(self.store, self.plan, record, trials, ratings, diary.get(self.today))
        self.record = record
        change = outcome.level_change_text(record)
        if self.on_finished is not None:
            self.on_finished(record)
        sessions = self.store.sessions(self.patient)
        if record["stopped"]:
            self._record_stop("session", record["reason"] or "person", (), {"change": change})
            self.plan = new_plan
            return
        card = self.summary_card
        card.step.setText(f"Day {record['day']} · level {record['level']}")
        card.title.setText("Today's session is done")
        card.sentence.setText(outcome.today_sentence(record))
        card.show_picture(sessions, levels.level(record["level"]).target_ae_deg)
        streak = record["adherence"]["current_streak_days"]
        card.change.setText(f"{change} You have trained {streak} day{'s' if streak != 1 else ''} in a row.")
        start = sessions[0]["date"] if sessions else self.today
        self.progress = progress_widget(sessions, self.store.trials(self.patient), self.store.diary(self.patient),
                                        start, title="Your progress")
        self.details_card.show_figure(self.progress)
        self.plan = new_plan
        self.say(card.sentence.text())
        self._show(card)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        if self.stage == "session":
            self.worker.submit("stop_now")
        self.timer.stop()
        self.worker.stop()
        super().closeEvent(event)
