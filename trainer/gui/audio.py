"""Audio cues for eyes-closed tests: move, return, trial recorded, test done.

The tones are generated with numpy (sine notes with 5 ms fades, 16-bit mono) and written once
as WAV files with the standard library's ``wave`` module into the cache folder. Playing is
delegated to a *player* with a ``play(name, path)`` method, chosen by :func:`default_player`:

1. Qt's ``QSoundEffect`` when ``PySide6.QtMultimedia`` is installed (it ships in
   PySide6-Addons, not in the pinned PySide6-Essentials);
2. otherwise the platform's own player: ``winsound`` on Windows, ``afplay`` on macOS,
   ``paplay``/``pw-play``/``aplay`` on Linux (started without waiting);
3. otherwise none: cues are off and the settings say why.

Tests inject a recording player, so they need no audio device. Cues can be turned off in the
settings (:attr:`AudioCues.enabled`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE_HZ = 22050
FADE_S = 0.005
#: Cue name → notes (frequency Hz, duration s). Rising = go, falling = come back.
CUES: dict[str, tuple[tuple[float, float], ...]] = {
    "move": ((660.0, 0.12), (880.0, 0.20)),
    "return": ((880.0, 0.12), (660.0, 0.20)),
    "recorded": ((1320.0, 0.09),),
    "done": ((523.25, 0.12), (659.25, 0.12), (783.99, 0.28)),
}
#: Prompt kind → cue.
PROMPT_CUES = {"move": "move", "return": "return", "trial_recorded": "recorded", "done": "done"}


def tone(notes, rate_hz: int = SAMPLE_RATE_HZ, amplitude: float = 0.4) -> np.ndarray:
    """int16 samples of consecutive sine notes ((frequency Hz, duration s), ...)."""
    parts = []
    fade = int(FADE_S * rate_hz)
    for freq_hz, dur_s in notes:
        t = np.arange(int(dur_s * rate_hz)) / rate_hz
        x = np.sin(2 * np.pi * freq_hz * t)
        ramp = np.minimum(1.0, np.minimum(np.arange(t.size), np.arange(t.size)[::-1]) / max(fade, 1))
        parts.append(x * ramp)
    return np.round(np.concatenate(parts) * amplitude * 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def cue_files(folder: Path) -> dict[str, Path]:
    """Write (if missing) one WAV per cue into ``folder``; name → path."""
    return {name: (folder / f"cue-{name}.wav") if (folder / f"cue-{name}.wav").exists()
            else write_wav(folder / f"cue-{name}.wav", tone(notes)) for name, notes in CUES.items()}


class AudioCues:
    """Turns prompts into cues.

    Args:
        player: object with ``play(name, path)``, or None (silent).
        folder: where the WAV files are kept.
        enabled: the setting.
    """

    def __init__(self, player, folder: Path, enabled: bool = True) -> None:
        self.player = player
        self.enabled = enabled
        self.files = cue_files(Path(folder))
        self.played: list[str] = []

    def on_prompt(self, prompt_kind: str, eyes_closed: bool) -> str | None:
        """Play the cue for a prompt of an eyes-closed test; returns the cue name or None."""
        cue = PROMPT_CUES.get(prompt_kind)
        if cue is None or not eyes_closed or not self.enabled or self.player is None:
            return None
        self.played.append(cue)
        self.player.play(cue, self.files[cue])
        return cue


class QtSoundPlayer:
    """QSoundEffect per cue (needs PySide6.QtMultimedia, from PySide6-Addons)."""

    def __init__(self) -> None:
        from PySide6 import QtCore, QtMultimedia

        self._QtCore, self._QtMultimedia = QtCore, QtMultimedia
        self._effects: dict[str, Any] = {}

    def play(self, name: str, path: Path) -> None:
        effect = self._effects.get(name)
        if effect is None:
            effect = self._QtMultimedia.QSoundEffect()
            effect.setSource(self._QtCore.QUrl.fromLocalFile(str(path)))
            self._effects[name] = effect
        effect.play()


class CommandPlayer:
    """The platform's command-line player, started without waiting (or ``winsound``)."""

    def __init__(self, command: list[str] | None) -> None:
        self.command = command

    def play(self, name: str, path: Path) -> None:
        if self.command is None:
            # No command: winsound, chosen by pick_player only on Windows.
            if sys.platform != "win32":
                raise OSError("no command-line sound player given and winsound is Windows only")
            import winsound

            winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
            return
        subprocess.Popen([*self.command, str(path)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)


def default_player() -> tuple[object | None, str]:
    """(player or None, a one-line description for the settings)."""
    try:
        from PySide6 import QtMultimedia  # noqa: F401
        return QtSoundPlayer(), "Qt Multimedia"
    except ImportError:
        pass
    if sys.platform.startswith("win"):
        return CommandPlayer(None), "winsound"
    for cmd in (["afplay"], ["paplay"], ["pw-play"], ["aplay", "-q"]):
        if shutil.which(cmd[0]):
            return CommandPlayer(cmd), cmd[0]
    return None, "no audio player found (install PySide6-Addons or a system player such as aplay)"
