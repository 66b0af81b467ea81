"""``cervitrack train --terminal`` with a real device: the journey over a UDP link.

The installed ``cervitrack`` command runs a training session on ``--device udp:PORT``
(opentrack datagrams) while ``cervitrack emulate opentrack-udp``, a separate process, is the
device: its virtual trainee follows the session's prompts from the ``--events`` file. The test
answers the terminal's questions through the command's real stdin, reading its real stdout, as a
person at the terminal would. The therapist's plan is set with ``cervitrack train-plan``; the
stored session is read back with ``cervitrack train-progress`` and ``cervitrack sessions``.
Real time: about 40 s.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

BIN = Path(sys.executable).parent
CT = str(BIN / "cervitrack")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Terminal:
    """The command's stdout read as it comes (character by character: a question has no newline
    until it is answered); questions answered on its stdin the way a person would."""

    def __init__(self, proc) -> None:
        self.proc = proc
        self.text = ""
        self.answered_at = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            ch = self.proc.stdout.read(1)
            with self.cond:
                if not ch:
                    self.text += "\0"
                    self.cond.notify_all()
                    return
                self.text += ch
                self.cond.notify_all()

    def answer_until_exit(self, timeout_s: float = 300.0) -> str:
        """Answer every question: no to yes/no questions, 1 for pain, 0 otherwise, "on target"
        for the self-estimate."""
        while True:
            with self.cond:
                ok = self.cond.wait_for(lambda: "\0" in self.text or self._question() is not None, timeout_s)
                assert ok, "the command neither asked nor ended:\n" + self.text[-3000:]
                if "\0" in self.text[self.answered_at:]:
                    return self.text.rstrip("\0")
                question = self._question()
                self.answered_at = len(self.text)
            self.proc.stdin.write(self._reply(question) + "\n")
            self.proc.stdin.flush()

    def _question(self):
        pending = self.text[self.answered_at:]
        if pending.endswith(("[y/n] ", "(0-10) ", "(too low): ")):
            return pending.rsplit("\n", 1)[-1]
        return None

    @staticmethod
    def _reply(question: str) -> str:
        if question.endswith("[y/n] "):
            return "n"
        if question.endswith("(too low): "):
            return "o"
        return "1" if "neck pain" in question else "0"


def session(tmp_path, *emulate_args, train_args=()):
    env = {**os.environ, "CERVITRACK_HOME": str(tmp_path / "home")}
    # The therapist's plan: one relocation block, rotation left and right, one try each.
    subprocess.run([CT, "train-plan", "--patient", "P1", "set", 'blocks=["relocation"]',
                    'directions=["rotation_left", "rotation_right"]', "reps_per_direction=1",
                    "relocation_blocks=1"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    port = free_udp_port()
    events = tmp_path / "events.jsonl"
    emulator = subprocess.Popen([CT, "emulate", "opentrack-udp", "--port", str(port), "--events", str(events),
                                 "--seed", "3", *emulate_args], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout.readline().strip() == f"udp:{port}"
        train = subprocess.Popen([CT, "train", "--terminal", "--device", f"udp:{port}", "--protocol",
                                  "opentrack-udp", "--patient", "P1", "--events", str(events), "--no-sound",
                                  *train_args], env=env, cwd=tmp_path, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=0)
        try:
            out = Terminal(train).answer_until_exit()
            train.wait(timeout=30)
        finally:
            if train.poll() is None:
                train.kill()
                train.wait()
        stderr = train.stderr.read()
    finally:
        emulator.terminate()
        emulator.wait(timeout=15)
    lines = [json.loads(x) for x in events.read_text().splitlines()] if events.exists() else []
    return train.returncode, out, stderr, lines, env, port


def cli_json(env, cwd, *args):
    out = subprocess.run([CT, *args, "--json"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_training_session_on_a_udp_device_with_a_dropout_is_paused_redone_and_stored(tmp_path):
    code, out, err, events, env, port = session(tmp_path, "--drop-on", "drill_return", "--drop-for", "4")
    assert code == 0, err[-2000:] + out[-3000:]
    printed = out.splitlines()
    # Connects and says how the link is, before any question.
    assert printed[0] == f"Connecting to udp:{port}…"
    assert printed[1].startswith(f"Connected to udp:{port} (opentrack-udp): ") and "samples/s" in printed[1]
    # No saved calibration yet: the functional calibration runs, and is saved for the device.
    prompts = [e for e in events if e["kind"] == "prompt"]
    assert [e["prompt"] for e in prompts][:3] == ["sit_still", "nod", "turn"]
    assert "Calibration saved for this device: next time it can be reused." in printed
    # Every movement prompt is printed in plain words, in the order of the events file.
    said = [e["text"] for e in prompts if e["prompt"].startswith(("drill_", "sit_still", "nod", "turn"))]
    assert [line for line in printed if line in said] == said
    # The dropout during the first try's return: paused with the clinic's words, then redone.
    # (The link's own "Signal back after N s…" line may come first, in words for a terminal:
    # no key of the application's; the engine's words follow.)
    back = [line for line in printed if line.startswith("Signal back after ")]
    assert all("Press R" not in line for line in back)
    printed = [line for line in printed if not line.startswith("Signal back after ")]
    lost = printed.index("Signal lost — trial 1 paused. Waiting for the sensor…")
    assert printed[lost - 1] == "Now bring the dot back to the centre and keep still."
    assert printed[lost + 1:lost + 4] == ["Signal back. Trial 1 will be redone.",
                                          "Let's repeat that one. Reason: signal lost.",
                                          "Look straight ahead at the centre and keep still."]
    assert printed.count("Signal lost — trial 1 paused. Waiting for the sensor…") == 1
    pause = [e for e in events if e["kind"] == "pause"]
    assert len(pause) == 1 and pause[0]["trial"] == 1
    assert "Session finished." in out  # after the last answer, on its line (stdin is not echoed)
    # The session is stored for the therapist: the training history and the clinical store.
    progress = cli_json(env, tmp_path, "train-progress", "--patient", "P1")
    assert progress["patient"] == "P1" and progress["adherence"]["trained_days"] == 1
    assert progress["weekly"][0]["mean_pain_before_nrs"] == 1.0 and progress["weekly"][0]["stops"] == 0
    clinical = cli_json(env, tmp_path, "sessions", "--patient", "P1")
    assert len(clinical) == 1 and clinical[0]["device"] == f"udp:{port}"
    assert [t["kind"] for t in clinical[0]["tests"]] == ["training"]
    assert clinical[0]["tests"][0]["preset"] == "level-1"
