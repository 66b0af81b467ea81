"""Speak prompts: a short tone cue, then the words, as one buffer handed to an output.

:class:`Voice` is what the GUI, the training window and the command line use::

    voice = Voice()                       # finds an output (outputs.find_output)
    voice.prompt("move", "Close your eyes and turn your head to the left …")
    voice.available, voice.unavailable_reason

Tones (rising = go, falling = come back, a click = recorded, a chord = done) stay as short
cues before the words; the words come from the pre-rendered clips of
:mod:`~cervitrack.trainer.audio.phrases`. :class:`VoiceSettings` holds the person's choices:
voice on/off, tones on/off, volume 0–1 (applied to the samples, so it is the same on every
output). Speech is only used in eyes-closed tests and drills (the caller says which).
"""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from cervitrack.trainer.audio import outputs, phrases

RATE_HZ = outputs.RATE_HZ
CLIPS = Path(__file__).resolve().parent / "clips"
FADE_S = 0.005
#: Silence between two clips of one sentence, after the cue, s.
GAP_S = 0.06
CUE_GAP_S = 0.15
#: Cue name → notes (frequency Hz, duration s). Rising = go, falling = come back.
CUES: dict[str, tuple[tuple[float, float], ...]] = {
    "move": ((660.0, 0.12), (880.0, 0.20)),
    "return": ((880.0, 0.12), (660.0, 0.20)),
    "recorded": ((1320.0, 0.09),),
    "done": ((523.25, 0.12), (659.25, 0.12), (783.99, 0.28)),
}
#: Prompt kind (tests and drills) → its cue; prompts not listed are spoken without a tone.
PROMPT_CUES = {"move": "move", "relocate": "move", "drill_move": "move", "drill_relocate": "move",
               "return": "return", "drill_return": "return", "back_to_start": "return",
               "trial_recorded": "recorded", "feedback": "recorded",
               "done": "done", "block_done": "done"}
TONE_AMPLITUDE = 0.4


@dataclass
class VoiceSettings:
    """voice_on: speak the words; tones_on: play the cue tones; volume: 0–1."""

    voice_on: bool = True
    tones_on: bool = True
    volume: float = 0.8

    def __post_init__(self) -> None:
        self.volume = float(min(1.0, max(0.0, self.volume)))


@dataclass
class Utterance:
    """What one prompt played: its kind, cue, spoken text and samples (int16 at RATE_HZ)."""

    kind: str
    cue: str | None
    text: str
    samples: np.ndarray
    missing: list[str] = field(default_factory=list)


def tone(notes, rate_hz: int = RATE_HZ, amplitude: float = TONE_AMPLITUDE) -> np.ndarray:
    """int16 samples of consecutive sine notes ((frequency Hz, duration s), …), 5 ms fades."""
    parts = []
    fade = max(int(FADE_S * rate_hz), 1)
    for freq_hz, dur_s in notes:
        n = int(dur_s * rate_hz)
        t_s = np.arange(n) / rate_hz
        ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / fade)
        parts.append(np.sin(2 * np.pi * freq_hz * t_s) * ramp)
    return np.round(np.concatenate(parts) * amplitude * 32767).astype(np.int16)


@cache
def clip(fragment: str) -> np.ndarray:
    """The pre-rendered clip of one fragment (int16 at RATE_HZ); OSError if missing."""
    path = CLIPS / f"{phrases.clip_key(fragment)}.wav"
    with wave.open(str(path)) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE_HZ, 1, 2):
            raise OSError(f"{path.name}: not 16-bit mono at {RATE_HZ} Hz")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)


def speech_samples(spoken: phrases.Spoken) -> np.ndarray:
    """The clips of ``spoken`` with short gaps (longer at commas and sentence ends)."""
    parts = []
    for item in spoken.items:
        if item in phrases.PAUSES:
            parts.append(np.zeros(int(phrases.PAUSES[item] * RATE_HZ), np.int16))
        else:
            if parts and parts[-1].any():
                parts.append(np.zeros(int(GAP_S * RATE_HZ), np.int16))
            parts.append(clip(item))
    return np.concatenate(parts) if parts else np.zeros(0, np.int16)


def render(kind: str, text: str, settings: VoiceSettings) -> Utterance | None:
    """One prompt as one buffer (cue, pause, words), volume applied; None when nothing plays."""
    cue = PROMPT_CUES.get(kind)
    parts, said, missing = [], "", []
    if cue and settings.tones_on:
        parts += [tone(CUES[cue]), np.zeros(int(CUE_GAP_S * RATE_HZ), np.int16)]
    if settings.voice_on and text:
        s = phrases.spoken(text)
        said, missing = s.text, s.missing
        words = speech_samples(s)
        if words.size:
            parts.append(words)
    if not parts or (len(parts) == 2 and not said):
        parts = parts[:1]
    if not parts or settings.volume <= 0:
        return None
    y = np.concatenate(parts).astype(np.float64) * settings.volume
    return Utterance(kind, cue if settings.tones_on else None, said,
                     np.round(y).astype(np.int16), missing)


class Voice:
    """Speaks prompts through ``output`` (default: :func:`outputs.find_output`).

    Attributes:
        settings: the person's :class:`VoiceSettings`.
        tried: what :func:`outputs.find_output` tried (for sys-info and the settings).
        spoken: every :class:`Utterance` played, in order.
    """

    def __init__(self, output=None, settings: VoiceSettings | None = None) -> None:
        self.tried: list[str] = []
        if output is None:
            output, self.tried = outputs.find_output()
        self.output = output
        self.settings = settings or VoiceSettings()
        self.spoken: list[Utterance] = []

    @property
    def available(self) -> bool:
        return not isinstance(self.output, outputs.NullOutput)

    @property
    def unavailable_reason(self) -> str | None:
        return self.output.reason if isinstance(self.output, outputs.NullOutput) else None

    def warning(self) -> str | None:
        """The plain-language warning shown before an eyes-closed task when nothing can play."""
        if self.available:
            return None
        return (f"No sound: {self.unavailable_reason}. The eyes-closed tasks speak their "
                "instructions; without sound, keep the screen in view before closing your eyes "
                "or ask someone to read the instructions to you.")

    def prompt(self, kind: str, text: str) -> Utterance | None:
        """Play ``kind``'s cue and say ``text`` (as the settings allow)."""
        u = render(kind, text, self.settings)
        if u is None:
            return None
        self.spoken.append(u)
        self.output.play(u.text or u.cue or kind, u.samples)
        return u


    def wait(self) -> None:
        """Return when the output has played everything queued (before a program exits)."""
        wait = getattr(self.output, "wait", None)
        if wait is not None:
            wait()


def for_command_line(no_sound: bool = False) -> Voice:
    """The voice for ``cervitrack test``/``train`` on the terminal: ``no_sound`` (``--no-sound``)
    gives a silent voice; otherwise the output found here (silent, with the reason, if none)."""
    if no_sound:
        return Voice(outputs.NullOutput("turned off with --no-sound"))
    return Voice()


def describe(voice: Voice | None = None) -> dict:
    """For ``cervitrack sys-info``: the audio output found (or why none), each option tried, and
    the speech back end (the pre-rendered clips and how many are present)."""
    voice = voice or Voice()
    manifest_path = CLIPS / "manifest.json"
    keys = {phrases.clip_key(f) for f in phrases.FRAGMENTS}
    present = {p.stem for p in CLIPS.glob("*.wav")} & keys
    if manifest_path.exists():
        m = json.loads(manifest_path.read_text())
        engine = f"{m.get('engine', 'espeak-ng').split(' Data')[0].strip()}, voice {m.get('voice')}"
    else:
        engine = "no manifest"
    if len(present) == len(keys):
        speech = f"pre-rendered voice clips ({len(present)} clips, {engine})"
    else:
        speech = f"none: {len(keys) - len(present)} of {len(keys)} voice clips are missing from {CLIPS}"
    return {"output": voice.output.name, "available": voice.available,
            "reason": voice.unavailable_reason, "tried": list(voice.tried), "speech": speech}
