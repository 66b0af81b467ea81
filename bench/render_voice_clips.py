"""Developer tool: render the voice clips of :mod:`cervitrack.trainer.audio.phrases` with eSpeak NG.

Every entry of ``FRAGMENTS`` becomes ``trainer/audio/clips/<clip_key>.wav`` (16 kHz, mono,
16-bit; leading and trailing silence trimmed; peak about -1 dB), and ``manifest.json`` records
each clip's text, sample count and the voice used. The clips are committed as package data, so
people who install Cervitrack need no speech engine; only a developer who changes the phrases
runs this (tests/test_audio_voice.py fails while a fragment has no clip or a stale one).

Needs the ``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``). eSpeak NG is
GPL-3.0-or-later; its *output* (these recordings) contains none of its code or data, so the
GPL does not extend to the clips (FSF GPL FAQ, "In what cases is the output of a GPL program
covered by the GPL too?"). Only eSpeak NG's own voices are used, not MBROLA voices.

Run from outside the repository root (the ``signal/`` folder shadows the standard library)::

    cd /tmp && /path/to/repo/.venv/bin/python /path/to/repo/bench/render_voice_clips.py

``--check`` only compares the manifest with the phrases (exit 1 when clips are missing or stale).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from cervitrack.trainer.audio.phrases import FRAGMENTS, clip_key

RATE_HZ = 16000
VOICE = "en-gb"          # British English, eSpeak NG's own voice
WORDS_PER_MIN = 150      # a calm pace for people with their eyes closed
OUT = Path(__file__).resolve().parents[1] / "trainer" / "audio" / "clips"


def render(text: str) -> np.ndarray:
    """int16 samples at RATE_HZ of ``text`` spoken by espeak-ng."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MIN), "-w", str(path), text],
                       check=True)
        with wave.open(str(path)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    t_new_s = np.arange(int(len(x) * RATE_HZ / rate)) / RATE_HZ
    # Linear resampling after a 3-tap low-pass: espeak speaks up to ~5 kHz, below 8 kHz Nyquist.
    x = np.convolve(x, [0.25, 0.5, 0.25], mode="same")
    y = np.interp(t_new_s, np.arange(len(x)) / rate, x)
    loud = np.flatnonzero(np.abs(y) > 300)
    if loud.size:
        y = y[max(loud[0] - 160, 0): loud[-1] + 800]   # keep 10 ms before, 50 ms after
    y *= 0.89 * 32767 / max(np.abs(y).max(), 1.0)       # peak -1 dB
    return np.clip(np.round(y), -32768, 32767).astype("<i2")


def manifest_path() -> Path:
    return OUT / "manifest.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that every clip is present and current")
    args = ap.parse_args(argv)
    old = json.loads(manifest_path().read_text()) if manifest_path().exists() else {"clips": {}}
    wanted = {clip_key(f): f for f in FRAGMENTS}
    if args.check:
        stale = [k for k, f in wanted.items() if old["clips"].get(k, {}).get("text") != f
                 or not (OUT / f"{k}.wav").exists()]
        print(f"{len(wanted) - len(stale)}/{len(wanted)} clips current" + (f"; stale: {stale}" if stale else ""))
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in set(old["clips"]) - set(wanted):
        (OUT / f"{stale}.wav").unlink(missing_ok=True)
    clips = {}
    for key, text in sorted(wanted.items()):
        y = render(text)
        with wave.open(str(OUT / f"{key}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE_HZ)
            w.writeframes(y.tobytes())
        clips[key] = {"text": text, "samples": int(len(y))}
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()
    manifest = {"rate_hz": RATE_HZ, "engine": version, "voice": VOICE, "words_per_min": WORDS_PER_MIN,
                "clips": clips}
    manifest_path().write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    total_s = sum(c["samples"] for c in clips.values()) / RATE_HZ
    size = sum((OUT / f"{k}.wav").stat().st_size for k in clips)
    print(f"{len(clips)} clips, {total_s:.1f} s of speech, {size / 1e6:.2f} MB of WAV in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
