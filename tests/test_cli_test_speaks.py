"""`cervitrack test` speaks every prompt it prints when a person follows the test.

Issue 12 (each prompt printed and cued by sound) and issue 13 (eyes-closed prompts spoken): the
prompts printed on the terminal are the prompts spoken, in the same order, each one audible;
``--no-sound`` keeps them silent.
"""

from __future__ import annotations

import re

import numpy as np

from cervitrack.trainer.audio import voice as voice_mod
from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.cli import main


def _words(text: str) -> str:
    """The words of a line (speech reads "Nod slowly: chin down" as "Nod slowly, chin down")."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _run(monkeypatch, capsys, *extra):
    recorder = RecordingOutput()
    made = []

    def for_command_line(no_sound=False):
        made.append(no_sound)
        if no_sound:
            return voice_mod.Voice(voice_mod.outputs.NullOutput("turned off with --no-sound"))
        return voice_mod.Voice(recorder)

    monkeypatch.setattr(voice_mod, "for_command_line", for_command_line)
    code = main(["test", "jpe", "--device", "sim", "--speed", "200", "--trials", "1",
                 "--patient", "P-voice", *extra])
    return code, capsys.readouterr().out, recorder, made


def test_every_printed_prompt_is_spoken_in_order(monkeypatch, capsys):
    code, out, recorder, made = _run(monkeypatch, capsys)
    assert code == 0 and made == [False]
    spoken = [_words(label) for label, _ in recorder.played]
    printed = [_words(line) for line in out.splitlines()]
    assert len(spoken) >= 16  # calibration, every trial's three prompts, the end
    assert printed[: len(spoken)] == spoken  # the same words, in the same order
    assert any("eyes" in s.lower() for s in spoken)
    for _label, samples in recorder.played:
        assert np.abs(samples.astype(float)).max() > 1000  # audible, not silence


def test_no_sound_prints_the_prompts_and_plays_nothing(monkeypatch, capsys):
    code, out, recorder, made = _run(monkeypatch, capsys, "--no-sound")
    assert code == 0 and made == []  # no voice at all, so no "no sound" warning either
    assert recorder.played == [] and "eyes" in out.lower()
