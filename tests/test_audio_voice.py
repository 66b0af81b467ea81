"""Spoken guidance: every prompt of the eyes-closed tests and drills is spoken in plain words
(pre-rendered clips), after its tone cue; volume and voice/tones settings; no sound card needed
(RecordingOutput), and the no-sound case is reported (sys-info, the windows)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cervitrack.firmware_bridge.sim.config import SensorConfig, SimConfig
from cervitrack.trainer.audio import outputs, phrases, voice
from cervitrack.trainer.audio.outputs import NullOutput, RecordingOutput
from cervitrack.trainer.audio.voice import CUES, RATE_HZ, Voice, VoiceSettings, tone
from cervitrack.trainer.clinical.prompts import DIRECTION_TEXT, make_prompt
from cervitrack.trainer.training import feedback, posture, session, symptoms
from cervitrack.trainer.training.plan import Plan
from cervitrack.trainer.training.session import TrainingSession
from cervitrack.trainer.training.sim_patient import skill_for_practice
from cervitrack.trainer.training.simulate import SIM_RATE_HZ, run_sim_session

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("cervitrack")


def _reasons() -> list[str]:
    """Every literal redo reason in the clinical engines and the calibration check (read with
    ast: ``invalid = "..."``, ``invalid="..."``, ``problems.append("...")``)."""
    found = []
    files = sorted((REPO / "trainer" / "clinical").glob("*.py")) + [REPO / "calibration" / "alignment.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values = []
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "invalid" for t in node.targets):
                values = [node.value]
            elif isinstance(node, ast.keyword) and node.arg == "invalid":
                values = [node.value]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "append"
                  and getattr(node.func.value, "id", "") == "problems"):
                values = node.args
            for v in values:
                for c in ast.walk(v):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str) and " " in c.value.strip():
                        found.append(c.value)
    return found


def _clinical_texts() -> list[str]:
    texts = []
    for kind in ("sit_still", "nod", "turn", "recenter", "return", "trial_recorded", "done", "hold_here",
                 "back_to_start", "track", "trace_start", "trace", "redo"):
        texts.append(make_prompt(kind, 0.0).text)
    for d in DIRECTION_TEXT:
        for kind in ("move", "move_max", "learn_target", "relocate"):
            texts.append(make_prompt(kind, 0.0, d).text)
    texts += [make_prompt("adjust", 0.0, target={"offset_deg": o}).text for o in (-3.0, 3.0)]
    reasons = _reasons()
    assert len(reasons) >= 15
    texts += [make_prompt("redo", 0.0, reason=f"Reason: {r}.").text for r in reasons]
    texts += [make_prompt("redo", 0.0, reason=r).text for r in reasons]  # calibration problems
    return texts


def _drill_texts() -> list[str]:
    """Prompt texts of real training sessions (simulated trainee) at every level, plus the
    messages built from parts: every KR reveal, summaries, stop advice, reminders."""
    texts = []
    for level in range(1, 9):
        plan = Plan(level=level, reps_per_direction=1, warmup_reps=1, relocation_blocks=1,
                    directions=("rotation_left", "extension"))
        cfg = SimConfig(seed=level, sensor=SensorConfig(rate_hz=SIM_RATE_HZ), patient=skill_for_practice(0))
        engine = TrainingSession(plan, "normal", symptoms.SymptomRating(1), rate_hz=cfg.sensor.rate_hz)

        class Answers:
            patient = None

            def answer(self, kind):
                return symptoms.SymptomRating(1) if kind == "rate_symptoms" else self.patient.estimate()

        run_sim_session(cfg, engine, Answers())
        texts += [e["text"] for e in engine.events if e.get("kind") == "prompt"]
    for actual in feedback.ESTIMATES:
        for estimate in (None, *feedback.ESTIMATES):
            texts.append(feedback.kr_message(actual, 3.4, estimate))
    texts.append(feedback.summary_message([1.5, 2.5, 12.25]))
    texts += list(symptoms.ADVICE.values()) + [session.RATE_TEXT, posture.REMINDER_TEXT]
    return texts


@pytest.fixture(scope="module")
def all_texts():
    return sorted(set(_clinical_texts() + _drill_texts()))


def _voiced_share(samples: np.ndarray) -> float:
    blocks = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160) / 32768
    return float(np.mean(np.sqrt(np.mean(blocks ** 2, axis=1)) > 0.01))


def test_every_prompt_of_the_tests_and_drills_is_spoken_in_words(all_texts):
    assert len(all_texts) > 120
    out = RecordingOutput()
    v = Voice(out, VoiceSettings(voice_on=True, tones_on=False, volume=1.0))
    for text in all_texts:
        u = v.prompt("recenter", text)
        assert u is not None, f"nothing spoken for {text!r}"
        assert u.missing == [], f"no clip for {u.missing} in {text!r}"
        words = u.text.split()
        duration_s = len(u.samples) / RATE_HZ
        # eSpeak at 150 words/min: about 0.4 s a word; the clips' gaps and pauses add a little.
        assert 0.2 * len(words) < duration_s < 0.8 * len(words) + 0.5, (text, duration_s)
        assert _voiced_share(u.samples) > 0.4, text
    assert len(out.played) == len(all_texts)


def test_the_gathered_texts_include_every_eyes_closed_drill_prompt(all_texts):
    """The simulated sessions really produced the eyes-closed drill prompts (neutral and target
    tasks, estimate, KR, summaries, end of session)."""
    starts = ("Close your eyes. Turn your head to the left, slowly, about",
              "Close your eyes and find the target again, at a natural speed, then keep still.",
              "Keeping your eyes closed, come back to the centre and keep still.",
              "Keep your eyes closed. Where do you think you are",
              "Your last ", "Well done, that block is finished.", "Session finished.",
              "How is your neck pain now")
    for start in starts:
        assert any(t.startswith(start) for t in all_texts), start


def test_a_drill_movement_is_said_in_plain_words_after_its_rising_tone():
    out = RecordingOutput()
    v = Voice(out, VoiceSettings(volume=1.0))
    u = v.prompt("drill_move", "Close your eyes. Turn your head to the left, slowly, about 30°, then hold.")
    assert u.text == "Close your eyes. Turn your head to the left, slowly, about thirty degrees, then hold."
    assert u.cue == "move"
    cue = tone(CUES["move"])
    np.testing.assert_array_equal(u.samples[: len(cue)], cue)  # the tone comes first, unchanged
    words = u.samples[len(cue) + int(voice.CUE_GAP_S * RATE_HZ):]
    assert _voiced_share(words) > 0.5
    assert out.played == [(u.text, u.samples)]


def test_numbers_are_spoken_as_words():
    assert phrases.spoken("You were 3.4° off, to the left.").text == \
        "You were three point four degrees off, to the left."
    assert phrases.number_words("125") == ["one", "hundred", "twenty", "five"]
    assert phrases.spoken("Any dizziness (0-10)?").text == "Any dizziness, zero to ten?"


def test_voice_off_leaves_the_tone_only_and_both_off_plays_nothing():
    out = RecordingOutput()
    v = Voice(out, VoiceSettings(voice_on=False, tones_on=True, volume=1.0))
    u = v.prompt("drill_return", "Keeping your eyes closed, come back to the centre and keep still.")
    np.testing.assert_array_equal(u.samples, tone(CUES["return"]))
    assert u.text == ""
    assert v.prompt("estimate", "Keep your eyes closed.") is None  # no cue for a question, no voice
    v.settings.tones_on = False
    assert v.prompt("drill_move", "Close your eyes.") is None
    assert len(out.played) == 1


def test_volume_scales_the_peak():
    text = "Close your eyes and find the target again, slowly, then keep still."
    loud = Voice(RecordingOutput(), VoiceSettings(volume=1.0)).prompt("drill_relocate", text)
    quiet = Voice(RecordingOutput(), VoiceSettings(volume=0.25)).prompt("drill_relocate", text)
    assert len(loud.samples) == len(quiet.samples)
    ratio = np.abs(quiet.samples).max() / np.abs(loud.samples).max()
    assert ratio == pytest.approx(0.25, abs=1e-3)
    assert VoiceSettings(volume=3.0).volume == 1.0 and VoiceSettings(volume=-1).volume == 0.0


def test_every_clip_is_present_current_and_16_khz_mono():
    manifest = json.loads((voice.CLIPS / "manifest.json").read_text())
    assert manifest["rate_hz"] == RATE_HZ and manifest["voice"] == "en-gb"
    for fragment in phrases.FRAGMENTS:
        key = phrases.clip_key(fragment)
        assert manifest["clips"][key]["text"] == fragment, f"stale clip {key}: run bench/render_voice_clips.py"
        assert len(voice.clip(fragment)) == manifest["clips"][key]["samples"]
    assert len({phrases.clip_key(f) for f in phrases.FRAGMENTS}) == len(phrases.FRAGMENTS)


def test_no_output_is_forced_by_the_environment_and_says_why(monkeypatch):
    monkeypatch.setenv(outputs.ENV, "none")
    v = Voice()
    assert not v.available and v.unavailable_reason == "sound turned off by CERVITRACK_AUDIO=none"
    assert v.warning().startswith("No sound: sound turned off by CERVITRACK_AUDIO=none.")


def test_without_a_sound_server_every_option_tried_is_named(monkeypatch):
    monkeypatch.delenv(outputs.ENV, raising=False)
    out, tried = outputs.find_output()
    assert tried and tried[0].startswith("qt: ")
    if isinstance(out, NullOutput):  # this machine: no sound card, no server
        assert out.reason == "no audio output found on this computer"
        assert all(": " in line and not line.endswith(": ok") for line in tried)
    else:
        assert tried[-1].endswith(": ok")


def test_sys_info_names_the_audio_output_and_the_speech_back_end(tmp_path):
    env = {**os.environ, "CERVITRACK_AUDIO": "none", "CERVITRACK_HOME": str(tmp_path)}
    done = subprocess.run([str(CLI), "sys-info"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "audio output       none (sound turned off by CERVITRACK_AUDIO=none)" in lines
    speech = next(line for line in lines if line.startswith("speech"))
    assert f"pre-rendered voice clips ({len(phrases.FRAGMENTS)} clips, eSpeak NG" in speech
    env.pop("CERVITRACK_AUDIO")
    done = subprocess.run([str(CLI), "sys-info", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path)
    audio = json.loads(done.stdout)["audio"]
    assert audio["tried"] and (audio["available"] or audio["reason"])
