"""``cervitrack train``, ``train-plan`` and ``train-progress`` end to end."""

import json
import os
import sqlite3
import stat

import pytest

from cervitrack.trainer.cli import main
from cervitrack.trainer.paths import DEFAULT_PATIENT, data_dir


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulated_program_progresses_and_the_flare_day_stops(capsys, tmp_path):
    png = tmp_path / "progress.png"
    code, out, err = run_cli(capsys, "train", "--device", "sim", "--headless", "--simulate-days", "4",
                             "--pain-flare-day", "3", "--json", "--progress-png", str(png))
    assert code == 0, err
    days = json.loads(out)["days"]
    assert [d["day"] for d in days] == [1, 2, 3, 4]
    assert [d["level"] for d in days] == [1, 1, 2, 1]  # two good days → level 2; flare → back to 1
    assert [d["stopped"] for d in days] == [False, False, True, False]
    flare = days[2]
    assert flare["reason"] == "pain" and flare["pain_after"] - flare["pain_before"] >= 2
    assert "physiotherapist" in flare["advice"]
    assert all(d["ae_deg"] is not None and d["n_trials"] > 0 for d in days if not d["stopped"])
    assert days[-1]["adherence"]["current_streak_days"] == 4
    assert png.stat().st_size > 20_000
    db = data_dir() / "training-sim.db"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert con.execute("SELECT COUNT(*) FROM sessions WHERE patient = 'sim'").fetchone()[0] == 4
    con.close()

    code, out, err = run_cli(capsys, "train-progress", "--sim", "--json")
    doc = json.loads(out)
    assert doc["adherence"]["checkin_days"] == 4 and doc["weekly"][0]["stops"] == 1
    # Eyes-closed accuracy only: day 3 (level 2) stopped after the warm-up, the rest was level 1
    # (laser visible), so there is no eyes-closed series yet.
    assert doc["ae_by_direction_deg"] == {}


@pytest.mark.parametrize("argv, message", [
    (["train", "--device", "serial:/dev/x", "--simulate-days", "3"], "--simulate-days needs --device sim"),
    (["train", "--device", "sim", "--headless", "--simulate-days", "3", "--pain-flare-day", "9"],
     "--pain-flare-day must be between 1 and 3"),
    (["train", "--device", "sim", "--headless", "--simulate-days", "0"], "--simulate-days must be between 1 and 366"),
    (["train-plan", "set", "level=0"], "level must be a whole number"),
    (["train-plan", "set", "warmup_reps"], "expected KEY=VALUE"),
    (["train-progress"], "no training sessions stored"),
])
def test_bad_input_is_one_clear_line(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("cervitrack: error: ") and message in err and len(err.strip().splitlines()) == 1


def test_therapist_sets_exports_and_imports_a_plan(capsys, tmp_path):
    assert run_cli(capsys, "train-plan", "set", "level=4", "sessions_per_day=1",
                   'directions=["rotation_left", "rotation_right"]', "--patient", "p1")[0] == 0
    out_file = tmp_path / "p1.toml"
    assert run_cli(capsys, "train-plan", "export", "--out", str(out_file), "--patient", "p1")[0] == 0
    text = out_file.read_text()
    assert "level = 4" in text and 'patient = "p1"' in text
    assert run_cli(capsys, "train-plan", "import", str(out_file), "--patient", "p2")[0] == 0
    code, out, _ = run_cli(capsys, "train-plan", "show", "--patient", "p2", "--json")
    plan = json.loads(out)["plan"]
    assert plan["level"] == 4 and plan["directions"] == ["rotation_left", "rotation_right"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"level": 2, "blocks": ["warmup", "yoga"]}))
    code, _, err = run_cli(capsys, "train-plan", "import", str(bad))
    assert code == 2 and "blocks" in err and "yoga" in err


class Terminal:
    """A scripted person at the terminal: answers by question type."""

    def __init__(self, red_flag=None, pain=2):
        self.red_flag = red_flag
        self.pain = pain
        self.asked = []

    def __call__(self, text):
        self.asked.append(text)
        if "[y/n]" in text:
            return "y" if self.red_flag and self.red_flag in text else "n"
        if "How is your neck pain" in text:
            return str(self.pain)
        if "(0-10)" in text:
            return "0"
        if "Where do you think" in text:
            return "o"
        raise AssertionError(f"unexpected question {text!r}")


def test_a_red_flag_in_the_first_run_screen_stops_training(capsys, monkeypatch):
    person = Terminal(red_flag="double vision")
    monkeypatch.setattr("builtins.input", person)
    code, out, err = run_cli(capsys, "train", "--device", "sim")
    assert code == 0
    assert "does not diagnose" in out
    assert "see a doctor or physiotherapist before training" in out and "seek urgent care" in out
    assert not any("How is your neck pain" in q for q in person.asked)  # no training questions after a red flag


def test_an_interactive_session_runs_stores_and_remembers_the_screen(capsys, monkeypatch):
    assert run_cli(capsys, "train-plan", "set", "level=2", "reps_per_direction=1", "relocation_blocks=1",
                   "warmup_reps=1", 'blocks=["warmup", "relocation"]')[0] == 0
    person = Terminal()
    monkeypatch.setattr("builtins.input", person)
    code, out, err = run_cli(capsys, "train", "--device", "sim", "--seed", "3")
    assert code == 0, err
    assert "[" not in out  # plain words: no prompt tags such as [drill_move]
    assert "Today's check" not in out  # the first run holds the daily questions: never asked twice
    assert sum("Where do you think" in q for q in person.asked) == 4  # level 2: every trial
    assert "Today you did 4 tries" in out
    from cervitrack.trainer.stores.sessions import Store

    with Store() as clinical:  # the session is also in the clinical sessions store
        hist = clinical.history(DEFAULT_PATIENT, "training")
        assert len(hist) == 1 and hist[0]["scores"]["level"] == 2 and hist[0]["scores"]["n_trials"] == 4
    first_run = sum("cancer" in q for q in person.asked)
    assert first_run == 1
    person2 = Terminal(pain=8)  # next time: the screen is not repeated; severe pain → no training
    monkeypatch.setattr("builtins.input", person2)
    code, out, err = run_cli(capsys, "train", "--device", "sim")
    assert code == 0 and not any("cancer" in q for q in person2.asked)
    assert "No training today" in out and "Try again tomorrow." in out


def test_headache_diary_records_days_without_training(capsys):
    assert run_cli(capsys, "train-diary", "--headache", "5", "--date", "2026-02-02", "--note", "after work")[0] == 0
    assert run_cli(capsys, "train-diary", "--headache", "0", "--date", "2026-02-03")[0] == 0
    assert run_cli(capsys, "train-diary", "--headache", "3", "--date", "2026-02-10")[0] == 0
    code, out, _ = run_cli(capsys, "train-diary", "--json")
    doc = json.loads(out)
    assert [e["headache_nrs"] for e in doc["diary"]] == [5, 0, 3]
    assert [w["headache_days"] for w in doc["weekly"]] == [1, 1]
    code, _, err = run_cli(capsys, "train-diary", "--headache", "3", "--date", "02/10/2026")
    assert code == 2 and "YYYY-MM-DD" in err


def test_a_new_neurological_symptom_between_blocks_stops_the_session(capsys, monkeypatch):
    assert run_cli(capsys, "train-plan", "set", "reps_per_direction=1", "relocation_blocks=2",
                   'blocks=["relocation"]', 'directions=["flexion"]')[0] == 0

    class Unsteady(Terminal):
        """Fine before the session; unsteady after the first block."""

        def __call__(self, text):
            if "feeling unsteady" in text:
                self.asked.append(text)
                return "y" if sum("feeling unsteady" in q for q in self.asked) == 2 else "n"
            return super().__call__(text)

    person = Unsteady()
    monkeypatch.setattr("builtins.input", person)
    code, out, err = run_cli(capsys, "train", "--device", "sim", "--seed", "4")
    assert code == 0, err
    assert "Training stopped: a symptom to check" in out and "see a doctor or physiotherapist" in out
    assert "What to do now:" in out and "[" not in out
    assert sum("How is your neck pain" in q for q in person.asked) == 2  # before, after block 1 only


@pytest.mark.parametrize("spec", ["serial:/nonexistent/ttyUSB9", "replay:missing.cvtrec", "bogus:x"])
def test_a_device_that_cannot_be_opened_is_one_clear_line_before_any_question(capsys, monkeypatch, spec):
    person = Terminal()
    monkeypatch.setattr("builtins.input", person)
    code, out, err = run_cli(capsys, "train", "--device", spec)
    assert code == 2 and err.startswith("cervitrack: error: ") and len(err.strip().splitlines()) == 1
    assert person.asked == []


def test_ctrl_c_stops_the_session_with_advice_and_it_is_stored(capsys, monkeypatch):
    assert run_cli(capsys, "train-plan", "set", "reps_per_direction=1", 'blocks=["relocation"]',
                   'directions=["flexion"]')[0] == 0

    class Stopper(Terminal):
        """Answers the checks, then presses Ctrl-C at the first rating after a block."""

        def __call__(self, text):
            if "How is your neck pain" in text and sum("How is your neck pain" in q for q in self.asked) == 1:
                raise KeyboardInterrupt
            return super().__call__(text)

    monkeypatch.setattr("builtins.input", Stopper())
    code, out, err = run_cli(capsys, "train", "--device", "sim", "--seed", "2")
    assert code == 0, err
    assert "You stopped today's session" in out and "urgent care" in out and "[" not in out
    code, out, _ = run_cli(capsys, "train-progress", "--json")
    doc = json.loads(out)
    assert doc["weekly"][0]["stops"] == 1
    person = Terminal()  # the same day again: the stop and the next step, no questions
    monkeypatch.setattr("builtins.input", person)
    code, out, err = run_cli(capsys, "train", "--device", "sim")
    assert code == 0 and person.asked == []
    assert "Earlier today you stopped training" in out and "You can train again tomorrow." in out


def test_the_diary_keeps_a_note_refuses_future_days_and_counts_in_words(capsys):
    import datetime as dt

    assert run_cli(capsys, "train-diary", "--headache", "4", "--date", "2026-02-02")[0] == 0
    code, out, _ = run_cli(capsys, "train-diary", "--note", "after a long drive", "--date", "2026-02-02")
    assert code == 0 and "with the note 'after a long drive'" in out
    code, out, _ = run_cli(capsys, "train-diary", "--json")
    assert json.loads(out)["diary"] == [{"date": "2026-02-02", "headache_nrs": 4, "note": "after a long drive"}]
    code, _, err = run_cli(capsys, "train-diary", "--note", "forgot the rating", "--date", "2026-02-05")
    assert code == 2 and "give --headache N" in err  # refused with a message, never dropped
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    code, _, err = run_cli(capsys, "train-diary", "--headache", "2", "--date", tomorrow)
    assert code == 2 and "in the future" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run_cli(capsys, "train-diary")
    assert "week 1: 1 day with headache" in out


def test_a_version_1_training_history_gains_the_stops_and_keeps_its_sessions(tmp_path):
    """A history written before stops were stored (schema 1) is brought up to date in place."""
    from cervitrack.trainer.training.store import _SCHEMA, APPLICATION_ID, TrainingStore

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA)
    con.execute("INSERT INTO diary VALUES ('p1', '2026-01-05', 3, 'old note')")
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with TrainingStore(path) as store:
        assert store.diary("p1")[0]["note"] == "old note"
        store.save_stop("p1", "2026-01-06", "readiness", "severe_pain", (), {"pain_nrs": 8})
        assert store.stops("p1", "2026-01-06")[0]["detail"] == {"pain_nrs": 8}
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
