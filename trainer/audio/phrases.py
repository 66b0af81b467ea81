"""The words Cervitrack speaks: every prompt text → a sequence of pre-rendered clips.

A prompt is spoken as the text the person also sees (:class:`cervitrack.trainer.clinical.prompts.Prompt`
``text``), in plain words: ``°`` becomes "degrees", numbers become number words ("3.4" →
"three point four"), ``0-10`` becomes "0 to 10", brackets and colons become short pauses.
The text is cut into tokens (words, numbers, punctuation); runs of words are matched, longest
first, against :data:`FRAGMENTS` (each fragment is one clip, rendered at development time by
``bench/render_voice_clips.py``); numbers are composed from the number-word clips.

Every prompt kind of the eyes-closed tests (:func:`cervitrack.trainer.clinical.prompts.make_prompt`)
and of the training drills (:mod:`cervitrack.trainer.training.drills`, the session's questions,
stops and summaries) is covered: tests/test_audio_voice.py generates those texts with the real
engines and fails on any word without a clip. A text with an uncovered word is still spoken,
without that word, and :attr:`Spoken.missing` names it.

Pure standard library (no numpy, no I/O).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

#: Clips of several words, as spoken (lower case, no punctuation). Longest match wins, so a
#: sentence that is always said whole is one clip (better intonation), and the shorter pieces
#: compose the texts built from parts (directions, speeds, reasons).
FRAGMENTS: tuple[str, ...] = (
    # --- shared prompts (clinical/prompts.py make_prompt)
    "sit upright", "look straight ahead and keep still",
    "nod slowly", "chin down first", "then up", "twice",
    "turn your head slowly", "left first", "then right",
    "open your eyes", "look straight ahead at the centre and keep still",
    "keeping your eyes closed", "come back to the centre and keep still",
    "recorded", "let's repeat that one", "reason",
    "test finished", "well done",
    "hold here and remember this position",
    "follow the moving target with the dot", "smoothly",
    "put the dot on the start of the pattern and keep still",
    "trace the pattern with the dot", "staying inside the band",
    "close your eyes and", "close your eyes",
    "as far as is comfortable", "then hold",
    "eyes open", "as far as you can without pain", "do not force it",
    "until the dot is on the target", "and keep still",
    "a little less far", "a little further",
    "back to the target you learned",
    # directions (prompts.DIRECTION_TEXT)
    "turn your head to the left", "turn your head to the right",
    "bend your head forward", "chin towards your chest",
    "tilt your head back", "looking up",
    "tilt your head to the left", "tilt your head to the right", "ear towards your shoulder",
    # reasons for a redo (clinical engines, calibration/alignment.py)
    "the movement was not large enough", "no movement was detected",
    "the head had not come back at the mark", "the head was still moving at the mark",
    "no mark was given in time", "no stable relocation was found",
    "a data gap occurred during the trial", "samples were lost during the trial",
    "a data gap occurred during the run", "samples were lost during the run",
    "a data gap occurred during the movement",
    "the nod was too small", "nod further",
    "the turn was too small", "turn further",
    "the nod was not a pure nod", "keep the head level", "move only up and down",
    "the turn was not a pure turn", "keep the chin level while turning",
    "the nod axis was tilted", "sit upright and look straight ahead first",
    "the turn axis was tilted", "sit upright and turn about the vertical",
    # --- training drills (training/drills.py, levels.SPEEDS, feedback.py)
    "keep your eyes open and watch the dot",
    "slowly", "steadily", "at a natural speed", "about",
    "now bring the dot back to the centre and keep still",
    "good", "come back to the centre",
    "then hold and remember where it is",
    "find the target again", "then keep still",
    "keep your eyes closed",
    "where do you think you are", "on target", "to the left", "to the right", "too high",
    # the training window's answer keys (gui/training_window.py ESTIMATE_TEXT)
    "press an arrow key", "or space for the centre",
    "too low", "too high or too low",
    "you were on target", "you were", "off", "you judged it right",
    "you thought you were", "good try", "keep noticing",
    "your last", "tries", "average", "from the goal", "of",
    "next time move a little more slowly",
    "that block is finished", "warm-up done",
    "gently", "as far as the marker and only as far as is comfortable", "then come back",
    "and slowly back to the centre",
    "no need to go past the marker", "comfortable is enough",
    "session finished", "see you next time",
    # session questions, stops and reminders (training/session.py, symptoms.ADVICE, posture.py)
    "how is your neck pain now", "from", "to", "none", "worst imaginable",
    "any dizziness", "do you feel sick",
    "your pain went up", "so we stopped for today", "so we stopped",
    "rest your neck and move it gently within what is comfortable",
    "if the pain has not settled by tomorrow", "or keeps coming back",
    "contact your physiotherapist before training again",
    "you felt dizzy", "sit quietly until it passes and do not drive until it has",
    "contact your clinician before training again",
    "if it is sudden or severe", "or comes with double vision", "slurred speech",
    "trouble swallowing", "numbness or a fall", "seek urgent care",
    "you felt sick", "sit quietly until it passes",
    "we stopped because of the symptom you reported",
    "please see a doctor or physiotherapist before training",
    "if your symptoms are sudden or severe",
    "you stopped the session", "that is always fine",
    "if you stopped because of pain", "dizziness or nausea",
    "rest until it settles and contact your clinician before training again",
    "your pain is high today", "so there is no training today",
    "training in pain does not help the exercises work", "rest",
    "and contact your physiotherapist if it stays this high",
    "you have been looking down for a while", "gently lift your head",
    "draw your chin back a little and look ahead for a moment",
    # numbers
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "point", "degrees",
)

_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORDS = {tuple(f.split()): f for f in FRAGMENTS}
_LONGEST = max(len(k) for k in _WORDS)
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:['\-][a-z]+)*|[,.?!]")


def clip_key(fragment: str) -> str:
    """File stem of a fragment's clip: its words joined by ``_`` (long ones shortened with a hash)."""
    slug = re.sub(r"[^a-z0-9]+", "_", fragment.lower()).strip("_")
    if len(slug) > 48:
        slug = slug[:40].rstrip("_") + "_" + hashlib.sha1(fragment.encode()).hexdigest()[:6]
    return slug


def number_words(value: str) -> list[str]:
    """"34" → ["thirty", "four"]; "3.4" → ["three", "point", "four"]; 0 ≤ integer part < 1000."""
    whole, _, frac = value.partition(".")
    n = int(whole)
    if n >= 1000:
        raise ValueError(f"no words for {value}")
    words = []
    if n >= 100:
        words += [_UNITS[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return words + (["point", *(_UNITS[int(d)] for d in frac)] if frac else [])
    if n < 20:
        words.append(_UNITS[n])
    else:
        words.append(_TENS[n // 10])
        if n % 10:
            words.append(_UNITS[n % 10])
    if frac:
        words += ["point", *(_UNITS[int(d)] for d in frac)]
    return words


def normalise(text: str) -> str:
    """The text as it is read aloud, before tokenising (lower case, symbols as words)."""
    t = text.replace("°", " degrees ").replace("’", "'")
    t = re.sub(r"(\d+)\s*[-–]\s*(\d+)", r"\1 to \2", t)
    t = re.sub(r"[():;—–]", ",", t)
    return t.lower()


@dataclass
class Spoken:
    """A text ready to speak: ``items`` are clip fragments or pause marks ("," short, "." long)."""

    items: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def fragments(self) -> list[str]:
        return [i for i in self.items if i not in PAUSES]

    @property
    def text(self) -> str:
        """The words spoken, as a sentence: "Close your eyes. Turn your head to the left, …"."""
        out, cap = "", True
        for item in self.items:
            if item in PAUSES:
                out = out.rstrip(",") + item
                cap = item != ","
                continue
            word = item[0].upper() + item[1:] if cap else item
            out += (" " if out else "") + word
            cap = False
        return out


#: Pause marks and their silence, s.
PAUSES = {",": 0.18, ".": 0.35, "?": 0.35, "!": 0.35}


def spoken(text: str) -> Spoken:
    """The clips that say ``text`` (see the module doc); unknown words land in ``missing``."""
    tokens = _TOKEN.findall(normalise(text))
    out = Spoken()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in PAUSES:
            if out.items and out.items[-1] not in PAUSES:
                out.items.append(tok)
            elif out.items and tok != ",":
                out.items[-1] = tok
            i += 1
            continue
        if tok[0].isdigit():
            try:
                out.items += number_words(tok)
            except ValueError:
                out.missing.append(tok)
            i += 1
            continue
        for n in range(min(_LONGEST, len(tokens) - i), 0, -1):
            frag = _WORDS.get(tuple(tokens[i:i + n]))
            if frag is not None:
                out.items.append(frag)
                i += n
                break
        else:
            out.missing.append(tok)
            i += 1
    return out
