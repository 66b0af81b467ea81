"""The rules every ``cervitrack`` command follows (README § Rules every command follows)."""

from __future__ import annotations

import argparse
import json

import pytest

from cervitrack.trainer.cli import build_parser, main
from cervitrack.trainer.commands import CliError, pace_speed
from cervitrack.trainer.paths import DEFAULT_PATIENT


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cervitrack: error: "), err
    return lines[0]


# ------------------------------------------------------------------ --device
@pytest.mark.parametrize("argv", [["test", "jpe"], ["stream"], ["record", "--duration", "1", "--out", "x.cvtrec"],
                                  ["train"]])
def test_device_has_no_default(argv, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "the following arguments are required: --device" in one_error_line(err)


def test_demo_is_the_one_command_with_a_default_device(capsys):
    parser = build_parser("all")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    defaults = {name: p.get_default("device") for name, p in sub.choices.items()
                if any(a.dest == "device" for a in p._actions)}
    assert defaults.pop("demo") == "sim"
    assert set(defaults.values()) == {None}, defaults
    code, _, err = run(capsys, "app", "--test", "jpe")  # a test needs a device to run on
    assert code == 2 and "need --device" in one_error_line(err)


# ------------------------------------------------------------------ --speed / --fast
@pytest.mark.parametrize("argv", [
    ["test", "jpe", "--device", "udp:4242", "--fast"],
    ["test", "jpe", "--device", "serial:/dev/ttyUSB0", "--speed", "2"],
    ["stream", "--device", "udp:4242", "--speed", "4"],
    ["record", "--device", "ble:AA:BB", "--fast", "--duration", "1", "--out", "r.cvtrec"],
])
def test_speed_and_fast_are_refused_with_a_real_device(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2 and "--speed and --fast apply to sim and replay devices" in one_error_line(err)


@pytest.mark.parametrize("command", ["test", "stream", "record", "demo"])
def test_speed_and_fast_mean_the_same_everywhere(command):
    parser = build_parser("all")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub.choices[command]._actions if a.dest in ("speed", "fast")}
    assert helps["speed"].startswith("sim/replay: X times real time (default: ")
    assert helps["fast"] == "sim/replay: as fast as possible"


def test_pace_speed():
    ns = argparse.Namespace
    assert pace_speed(ns(speed=None, fast=False, device="sim"), 1.0) == 1.0
    assert pace_speed(ns(speed=3.0, fast=False, device="replay:x.cvtrec"), None) == 3.0
    assert pace_speed(ns(speed=None, fast=True, device="sim"), 1.0) is None
    assert pace_speed(ns(speed=None, fast=False, device="udp:4242"), 1.0) == 1.0  # real time
    with pytest.raises(CliError, match="positive"):
        pace_speed(ns(speed=0.0, fast=False, device="sim"), 1.0)


# ------------------------------------------------------------------ one default patient
def test_one_default_patient_for_tests_and_training(capsys):
    assert DEFAULT_PATIENT == "anonymous"
    code, out, _ = run(capsys, "test", "jpe", "--device", "sim", "--trials", "1", "--seed", "3", "--json")
    assert code == 0 and json.loads(out)["patient"] == DEFAULT_PATIENT
    code, out, _ = run(capsys, "train-plan", "show", "--json")
    assert code == 0 and json.loads(out)["plan"]["patient"] == DEFAULT_PATIENT
    parser = build_parser("all")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("test", "train", "train-diary"):
        assert sub.choices[name].get_default("patient") == DEFAULT_PATIENT


# ------------------------------------------------------------------ --force
def test_outputs_are_never_overwritten_without_force(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "test", "rom", "--device", "sim", "--trials", "1", "--seed", "2", "--json")
    session = str(json.loads(out)["session_id"])
    # report
    assert run(capsys, "report", session, "--out", "r.html")[0] == 0
    code, _, err = run(capsys, "report", session, "--out", "r.html")
    assert code == 2 and one_error_line(err) == "cervitrack: error: r.html already exists; add --force to overwrite it"
    assert run(capsys, "report", session, "--out", "r.html", "--force")[0] == 0
    # process (refused before the input is even read)
    (tmp_path / "out.csv").write_text("mine\n")
    code, _, err = run(capsys, "process", "in.csv", "--out", "out.csv")
    assert code == 2 and "out.csv already exists; add --force" in one_error_line(err)
    assert (tmp_path / "out.csv").read_text() == "mine\n"
    # record
    assert run(capsys, "record", "--device", "sim", "--fast", "--duration", "1", "--out", "rec.cvtrec")[0] == 0
    code, _, err = run(capsys, "record", "--device", "sim", "--fast", "--duration", "1", "--out", "rec.cvtrec")
    assert code == 2 and "rec.cvtrec already exists; add --force" in one_error_line(err)
    assert run(capsys, "record", "--device", "sim", "--fast", "--duration", "1", "--out", "rec.cvtrec",
               "--force")[0] == 0
    # export
    for to in ("csv", "sto"):
        assert run(capsys, "export", "rec.cvtrec", "--to", to, "--out", "ex")[0] == 0
        code, _, err = run(capsys, "export", "rec.cvtrec", "--to", to, "--out", "ex")
        assert code == 2 and "already exists; add --force" in one_error_line(err)
        assert run(capsys, "export", "rec.cvtrec", "--to", to, "--out", "ex", "--force")[0] == 0
    # test --events and --record
    (tmp_path / "events.jsonl").write_text('{"kind": "prompt"}\n')
    code, _, err = run(capsys, "test", "jpe", "--device", "sim", "--trials", "1", "--events", "events.jsonl")
    assert code == 2 and "events.jsonl already exists; add --force" in one_error_line(err)
    # train-plan export
    assert run(capsys, "train-plan", "export", "--out", "plan.toml")[0] == 0
    code, _, err = run(capsys, "train-plan", "export", "--out", "plan.toml")
    assert code == 2 and "plan.toml already exists; add --force" in one_error_line(err)


# ------------------------------------------------------------------ one error style
@pytest.mark.parametrize("argv, words", [
    (["test", "nope", "--device", "sim"], "invalid choice: 'nope'"),
    (["report", "x", "--out", "r.pdf"], "invalid int value: 'x'"),
    (["export", "a.cvtrec", "--to", "xls", "--out", "d"], "invalid choice: 'xls'"),
    (["sessions", "--bogus"], "unrecognized arguments: --bogus"),
    (["test", "jpe", "--device", "sim", "--speed", "-1"], "--speed must be a positive number"),
])
def test_errors_are_one_line(argv, words, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2 and words in one_error_line(err) and out == ""


# ------------------------------------------------------------------ --trials N everywhere
def test_trials_are_what_the_title_json_and_report_say(capsys, tmp_path):
    code, out, _ = run(capsys, "test", "jpe", "--device", "sim", "--trials", "2", "--seed", "4", "--json")
    doc = json.loads(out)
    assert doc["preset_title"] == "JPE, neutral head position (2 trials per direction)"
    assert doc["settings"]["trials_per_direction"] == 2
    report = tmp_path / "r.html"
    assert run(capsys, "report", str(doc["session_id"]), "--out", str(report))[0] == 0
    html = report.read_text()
    assert "(2 trials per direction)" in html and "(8 trials per direction)" not in html
    code, out, _ = run(capsys, "test", "thp", "--device", "sim", "--trials", "1", "--seed", "4", "--json")
    assert json.loads(out)["preset_title"] == "JPE, target head position at 20 deg (1 trial per direction)"


def test_rom_with_one_repetition_has_no_sd(capsys, tmp_path):
    code, out, _ = run(capsys, "test", "rom", "--device", "sim", "--trials", "1", "--seed", "5")
    assert code == 0
    assert "(1 repetition)" in out.splitlines()[0]
    rows = [line.split() for line in out.splitlines() if line.startswith(("rotation_", "flexion", "extension"))]
    assert rows and all(r[1] == "1" and r[-1] == "n/a" for r in rows)
    session = out.split("Stored as session ")[1].split()[0]
    report = tmp_path / "rom.html"
    assert run(capsys, "report", session, "--out", str(report))[0] == 0
    assert "<td>n/a</td>" in report.read_text() and "<td>0.0</td></tr>" not in report.read_text()


# ------------------------------------------------------------------ --help lists choices
def test_every_positional_choice_and_plan_key_is_in_help():
    parser = build_parser("all")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        text = p.format_help()
        for action in p._actions:
            if not action.option_strings and action.choices and not isinstance(action, argparse._SubParsersAction):
                for choice in action.choices:
                    assert choice in text, (name, choice)
    from dataclasses import fields

    from cervitrack.trainer.training.plan import Plan

    plan_help = " ".join(sub.choices["train-plan"].format_help().split())
    for f in fields(Plan):
        if f.name != "format":
            assert f.name in plan_help
