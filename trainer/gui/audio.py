"""Sound in the application and the training window: every prompt of an eyes-closed test or
drill is spoken (:mod:`cervitrack.trainer.audio`), after its short tone cue.

:class:`AudioCues` is what the windows hold: ``on_prompt(kind, eyes_closed, text)`` for each
prompt event, ``warning()`` for the no-sound notice shown before the first eyes-closed task,
and the settings (voice on/off, tones on/off, volume). Eyes-open prompts stay silent: the
person reads them. Tests pass a :class:`~cervitrack.trainer.audio.outputs.RecordingOutput`
(or set ``CERVITRACK_AUDIO=none``), so they need no sound card.
"""

from __future__ import annotations

from cervitrack.trainer.audio.outputs import NullOutput, RecordingOutput  # noqa: F401 (re-exported)
from cervitrack.trainer.audio.voice import CUES, PROMPT_CUES, Utterance, Voice, VoiceSettings, tone  # noqa: F401


class AudioCues:
    """Args:
        voice: the :class:`~cervitrack.trainer.audio.voice.Voice` (its output and settings).
        enabled: sound in eyes-closed tests at all (the voice settings say what plays).
    """

    def __init__(self, voice: Voice, enabled: bool = True) -> None:
        self.voice = voice
        self.enabled = enabled
        self.played: list[str] = []   # cue of every prompt that played a tone

    @property
    def settings(self) -> VoiceSettings:
        return self.voice.settings

    @property
    def player(self):
        """The output, or None when nothing can play here."""
        return self.voice.output if self.voice.available else None

    @property
    def note(self) -> str:
        """One line for the settings: the output in use, or why there is none."""
        return self.voice.output.name

    def warning(self) -> str | None:
        """The no-sound warning, or None when sound can play."""
        return self.voice.warning()

    def on_prompt(self, prompt_kind: str, eyes_closed: bool, text: str = "") -> Utterance | None:
        """Cue and speak a prompt of an eyes-closed test or drill; None when nothing plays."""
        if not eyes_closed or not self.enabled:
            return None
        u = self.voice.prompt(prompt_kind, text)
        if u is not None and u.cue:
            self.played.append(u.cue)
        return u


def make_audio(output=None, voice_on: bool = True, tones_on: bool = True, volume: float = 0.8,
               enabled: bool = True) -> AudioCues:
    """AudioCues on ``output`` (None: the best output found here, :func:`find_output`)."""
    return AudioCues(Voice(output, VoiceSettings(voice_on, tones_on, volume)), enabled)
