"""Ways to play a buffer of sound on this computer, best first, each probed before it is used.

An output has ``name`` and ``play(label, samples)`` (``samples``: int16 mono at
:data:`RATE_HZ`); it returns at once and plays prompts one after the other, in order, on its
own thread. :func:`find_output` tries, in order:

1. ``qt``: Qt Multimedia's ``QAudioSink`` on the default output device. Only when the optional
   PySide6-Addons is installed (``pip install cervitrack[qt-audio]``; on Linux its library also
   needs the system ``libpulse0``) and a Qt application is running;
2. ``pulse``: PulseAudio or PipeWire (``pipewire-pulse``) through ``libpulse-simple.so.0`` with
   :mod:`ctypes` (Linux desktops have it; no Python package needed);
3. ``winsound``: the standard library's player (Windows);
4. a command-line player: ``afplay`` (macOS, always present), ``pw-play``, ``paplay`` or
   ``aplay`` (Linux), each run once on 20 ms of silence: a player that cannot play here (no
   sound server, no sound card) is not chosen;
5. none: :class:`NullOutput` with the reason, shown before the first eyes-closed task and by
   ``cervitrack sys-info``.

``CERVITRACK_AUDIO=none`` forces no output (tests, CI, a shared room). Tests use
:class:`RecordingOutput`, which keeps what would have been played.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RATE_HZ = 16000
#: Environment variable: "none" (or "null", "off") turns sound off.
ENV = "CERVITRACK_AUDIO"
PROBE_TIMEOUT_S = 5.0


def wav_bytes(samples: np.ndarray, rate_hz: int = RATE_HZ) -> bytes:
    """A mono 16-bit WAV file of ``samples``, in memory."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buf.getvalue()


class _Serial:
    """Plays buffers one after the other on a daemon thread (subclasses: ``_play_now``)."""

    name = "?"

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def play(self, label: str, samples: np.ndarray) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"cervitrack-audio-{self.name}", daemon=True)
            self._thread.start()
        self._queue.put(np.asarray(samples, dtype=np.int16))

    def _run(self) -> None:
        while True:
            samples = self._queue.get()
            try:
                self._play_now(samples)
            except OSError as exc:  # a sound server that went away: keep the reason, go on
                self.errors.append(str(exc))
            finally:
                self._queue.task_done()

    def wait(self) -> None:
        """Return when everything queued has been played (the command line, before exiting)."""
        self._queue.join()

    def _play_now(self, samples: np.ndarray) -> None:
        raise OSError(f"{type(self).__name__} cannot play")


class RecordingOutput:
    """Keeps what would be played: ``played`` is a list of (label, samples)."""

    name = "recording (tests)"
    reason = None

    def __init__(self) -> None:
        self.played: list[tuple[str, np.ndarray]] = []

    def play(self, label: str, samples: np.ndarray) -> None:
        self.played.append((label, np.asarray(samples, dtype=np.int16)))


@dataclass
class NullOutput:
    """No sound: ``reason`` says why (and ``tried`` what was tried)."""

    reason: str
    tried: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"none ({self.reason})"

    def play(self, label: str, samples: np.ndarray) -> None:
        pass


# ---------------------------------------------------------------------------- PulseAudio
class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


_PA_SAMPLE_S16LE = 3
_PA_STREAM_PLAYBACK = 1


def _libpulse_simple():
    """libpulse-simple via ctypes, or OSError."""
    name = ctypes.util.find_library("pulse-simple") or "libpulse-simple.so.0"
    lib = ctypes.CDLL(name)
    lib.pa_simple_new.restype = ctypes.c_void_p
    lib.pa_simple_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                  ctypes.c_char_p, ctypes.POINTER(_SampleSpec), ctypes.c_void_p,
                                  ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_drain.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_free.argtypes = [ctypes.c_void_p]
    lib.pa_strerror.restype = ctypes.c_char_p
    lib.pa_strerror.argtypes = [ctypes.c_int]
    return lib


class PulseOutput(_Serial):
    """PulseAudio / PipeWire-pulse through libpulse-simple (Linux). ``device``: a sink name or
    None for the default sink."""

    name = "PulseAudio/PipeWire (libpulse-simple)"

    def __init__(self, device: str | None = None) -> None:
        super().__init__()
        self.device = device
        self._lib = _libpulse_simple()
        self._play_now(np.zeros(RATE_HZ // 50, np.int16))  # connects: OSError when no server

    def _play_now(self, samples: np.ndarray) -> None:
        lib = self._lib
        spec = _SampleSpec(_PA_SAMPLE_S16LE, RATE_HZ, 1)
        err = ctypes.c_int(0)
        s = lib.pa_simple_new(None, b"Cervitrack", _PA_STREAM_PLAYBACK,
                              self.device.encode() if self.device else None, b"voice prompt",
                              ctypes.byref(spec), None, None, ctypes.byref(err))
        if not s:
            raise OSError(f"PulseAudio: {lib.pa_strerror(err.value).decode()}")
        try:
            data = np.asarray(samples, dtype="<i2").tobytes()
            if (lib.pa_simple_write(s, data, len(data), ctypes.byref(err)) < 0
                    or lib.pa_simple_drain(s, ctypes.byref(err)) < 0):
                raise OSError(f"PulseAudio: {lib.pa_strerror(err.value).decode()}")
        finally:
            lib.pa_simple_free(s)


# ---------------------------------------------------------------------------- Windows
class WinsoundOutput(_Serial):
    """The standard library's ``winsound`` (Windows): a WAV in memory, played synchronously on
    the output's thread (SND_MEMORY cannot be asynchronous)."""

    name = "Windows (winsound)"

    def __init__(self) -> None:
        super().__init__()
        import winsound  # ImportError off Windows

        self._ws: Any = winsound  # typeshed describes winsound only when checking for Windows

    def _play_now(self, samples: np.ndarray) -> None:
        try:
            self._ws.PlaySound(wav_bytes(samples), self._ws.SND_MEMORY)
        except RuntimeError as exc:  # "Failed to play sound"
            raise OSError(f"winsound: {exc}") from exc


# ---------------------------------------------------------------------------- commands
#: Command-line players, in order of preference.
COMMANDS = (("afplay",), ("pw-play",), ("paplay",), ("aplay", "-q"))


class CommandOutput(_Serial):
    """A command-line player on a temporary WAV file, one prompt after the other."""

    def __init__(self, command: tuple[str, ...]) -> None:
        super().__init__()
        self.command = tuple(command)
        self.name = f"command ({command[0]})"
        self._dir = Path(tempfile.mkdtemp(prefix="cervitrack-audio-"))
        self._play_now(np.zeros(RATE_HZ // 50, np.int16))  # OSError if it cannot play here

    def _play_now(self, samples: np.ndarray) -> None:
        path = self._dir / "prompt.wav"
        path.write_bytes(wav_bytes(samples))
        try:
            done = subprocess.run([*self.command, str(path)], capture_output=True, text=True,
                                  timeout=PROBE_TIMEOUT_S + len(samples) / RATE_HZ)
        except subprocess.TimeoutExpired as exc:
            raise OSError(f"{self.command[0]} did not finish") from exc
        if done.returncode != 0:
            lines = (done.stderr or done.stdout or "").strip().splitlines()
            raise OSError(f"{self.command[0]} failed (exit {done.returncode})"
                          + (f": {lines[-1].strip()}" if lines else ""))


# ---------------------------------------------------------------------------- Qt
class QtOutput:
    """QAudioSink on the default output device (PySide6-Addons). Needs a running Qt
    application; plays on Qt's own thread, prompts queued in order."""

    name = "Qt Multimedia"

    def __init__(self) -> None:
        try:
            from PySide6 import QtCore, QtMultimedia
        except ImportError as exc:
            if "cannot import name" in str(exc):  # PySide6-Essentials alone
                raise ImportError("PySide6-Addons not installed (optional extra qt-audio)") from exc
            raise ImportError(f"Qt Multimedia cannot load: {exc}") from exc
        if QtCore.QCoreApplication.instance() is None:
            raise OSError("Qt Multimedia needs a running Qt application")
        device = QtMultimedia.QMediaDevices.defaultAudioOutput()
        if device.isNull():
            raise OSError("Qt Multimedia found no audio output device")
        self._QtCore, self._M, self._device = QtCore, QtMultimedia, device
        self.name = f"Qt Multimedia ({device.description()})"
        self._pending: list[np.ndarray] = []
        self._sink: Any = None  # QAudioSink while a clip plays
        self._buffer: Any = None  # its QBuffer

    def play(self, label: str, samples: np.ndarray) -> None:
        self._pending.append(np.asarray(samples, dtype=np.int16))
        if self._sink is None:
            self._next()

    def _next(self) -> None:
        M, QtCore = self._M, self._QtCore
        if not self._pending:
            self._sink = self._buffer = None
            return
        fmt = M.QAudioFormat()
        fmt.setSampleRate(RATE_HZ)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(M.QAudioFormat.SampleFormat.Int16)
        self._buffer = QtCore.QBuffer()
        self._buffer.setData(self._pending.pop(0).astype("<i2").tobytes())
        self._buffer.open(QtCore.QIODevice.OpenModeFlag.ReadOnly)
        self._sink = M.QAudioSink(self._device, fmt)
        self._sink.stateChanged.connect(self._state)
        self._sink.start(self._buffer)

    def _state(self, state) -> None:
        if state in (self._M.QAudio.State.IdleState, self._M.QAudio.State.StoppedState):
            sink = self._sink
            if sink is not None:
                sink.stateChanged.disconnect(self._state)
                sink.stop()
            self._next()


# ---------------------------------------------------------------------------- choice
def _candidates():
    yield "qt", QtOutput
    if sys.platform.startswith("linux"):
        yield "pulse", PulseOutput
    if sys.platform.startswith("win"):
        yield "winsound", WinsoundOutput
    for cmd in COMMANDS:
        yield cmd[0], cmd


def find_output():
    """(output, tried): the first output that works here, and one line per option tried
    ("name: ok" or "name: why not")."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("none", "null", "off", "0"):
        return NullOutput(f"sound turned off by {ENV}={forced}", [f"{ENV}={forced}"]), [f"{ENV}={forced}"]
    tried: list[str] = []
    for key, option in _candidates():
        if isinstance(option, tuple):
            if shutil.which(option[0]) is None:
                tried.append(f"{key}: not installed")
                continue
            make = lambda cmd=option: CommandOutput(cmd)  # noqa: E731
        else:
            make = option
        try:
            out = make()
        except (ImportError, OSError) as exc:
            tried.append(f"{key}: {exc}")
            continue
        tried.append(f"{key}: ok")
        return out, tried
    reason = "no audio output found on this computer"
    return NullOutput(reason, tried), tried
