"""Audio cues: generated tones, WAV files, and which cue each prompt requests."""

import wave

import numpy as np

from cervitrack.trainer.gui import audio


class RecordingPlayer:
    def __init__(self):
        self.calls = []

    def play(self, name, path):
        self.calls.append((name, path))


def test_tones_are_int16_with_faded_ends_and_the_requested_length():
    samples = audio.tone(((440.0, 0.1), (880.0, 0.2)))
    assert samples.dtype == np.int16
    assert len(samples) == int(0.1 * audio.SAMPLE_RATE_HZ) + int(0.2 * audio.SAMPLE_RATE_HZ)
    assert samples[0] == 0 and abs(int(samples[-1])) < 200
    assert np.abs(samples).max() > 10000


def test_every_cue_is_written_as_a_readable_wav(tmp_path):
    files = audio.cue_files(tmp_path)
    assert set(files) == {"move", "return", "recorded", "done"}
    for name, path in files.items():
        with wave.open(str(path)) as w:
            assert w.getframerate() == audio.SAMPLE_RATE_HZ and w.getsampwidth() == 2
            assert w.getnframes() == len(audio.tone(audio.CUES[name]))


def test_eyes_closed_prompts_request_their_cues(tmp_path):
    player = RecordingPlayer()
    cues = audio.AudioCues(player, tmp_path)
    for kind in ("recenter", "move", "return", "trial_recorded", "redo", "done"):
        cues.on_prompt(kind, eyes_closed=True)
    assert [name for name, _ in player.calls] == ["move", "return", "recorded", "done"]
    assert all(path.exists() for _, path in player.calls)


def test_no_cues_when_turned_off_or_for_eyes_open_tests(tmp_path):
    player = RecordingPlayer()
    cues = audio.AudioCues(player, tmp_path, enabled=False)
    assert cues.on_prompt("move", eyes_closed=True) is None
    cues.enabled = True
    assert cues.on_prompt("move", eyes_closed=False) is None
    assert player.calls == []
