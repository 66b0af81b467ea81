"""The training program's rules as specifications: safety screen, stop rules, readiness,
progression, feedback fading, levels, plan files, streaks and the posture reminder."""

import json

import numpy as np
import pytest

from cervitrack.trainer.training import feedback, levels, progress, safety, symptoms
from cervitrack.trainer.training.plan import Plan, PlanError, load_plan, plan_from_dict, save_plan
from cervitrack.trainer.training.posture import PostureDetector, PostureSettings
from cervitrack.trainer.training.progression import SessionOutcome, next_level
from cervitrack.trainer.training.symptoms import SymptomRating as R

ALL_NO = {q.key: False for q in safety.FIRST_RUN_QUESTIONS}


# ---------------------------------------------------------------------------- safety screen
def test_screen_lists_the_5_ds_and_3_ns_and_the_kngf_items():
    keys = {q.key for q in safety.FIRST_RUN_QUESTIONS}
    assert {"dizziness", "diplopia", "dysarthria", "dysphagia", "drop_attacks"} <= keys
    assert {"nausea", "numbness", "nystagmus"} <= keys
    assert {"ataxia_gait", "recent_trauma", "sudden_headache", "bilateral_tingling", "malignancy",
            "osteoporosis", "infection_signs", "autoimmune", "neurological"} <= keys
    assert all(q.source for q in safety.FIRST_RUN_QUESTIONS)


def test_all_no_passes_and_any_yes_stops_with_medical_advice():
    assert not safety.evaluate_screen(ALL_NO).positive
    for key in ALL_NO:
        result = safety.evaluate_screen({**ALL_NO, key: True})
        assert result.positive and result.flags == (key,)
        assert "see a doctor or physiotherapist before training" in result.advice
        assert "seek urgent care" in result.advice


def test_an_unanswered_question_is_an_error_not_a_no():
    answers = dict(ALL_NO)
    del answers["diplopia"]
    with pytest.raises(ValueError, match="diplopia"):
        safety.evaluate_screen(answers)


def test_disclaimer_says_it_does_not_diagnose():
    assert "does not diagnose" in safety.DISCLAIMER


# ---------------------------------------------------------------------------- stop rules
@pytest.mark.parametrize("session, block, now, stop, reason", [
    (R(2), R(2), R(3), False, ""),          # +1: continue
    (R(2), R(2), R(4), True, "pain"),       # +2 in the block: stop
    (R(2), R(3), R(4), True, "pain"),       # +1 in the block but +2 since the session start
    (R(5), R(5), R(3), False, ""),          # pain eased
    (R(2), R(2), R(2, dizziness_nrs=1), True, "dizziness"),  # any dizziness
    (R(2), R(2), R(2, nausea=True), True, "nausea"),
    (R(2), R(2), R(2, red_flags=("diplopia",)), True, "red_flag"),
])
def test_stop_rules(session, block, now, stop, reason):
    d = symptoms.stop_decision(session, block, now)
    assert (d.stop, d.reason) == (stop, reason)
    assert bool(d.advice) == stop


def test_dizziness_advice_names_the_urgent_signs():
    d = symptoms.stop_decision(R(0), R(0), R(0, dizziness_nrs=3))
    assert "seek urgent care" in d.advice and "double vision" in d.advice


@pytest.mark.parametrize("before, mode, reason", [
    (R(0), "normal", ""), (R(3), "normal", ""), (R(4), "gentle", ""), (R(6), "gentle", ""),
    (R(7), "none", "severe_pain"), (R(1, dizziness_nrs=2), "none", "dizziness"),
    (R(1, nausea=True), "none", "nausea"),
])
def test_readiness_bands(before, mode, reason):
    got, stop = symptoms.readiness(before)
    assert got == mode and stop.reason == reason


def test_ratings_are_validated():
    with pytest.raises(ValueError, match="pain_nrs"):
        R(11)
    with pytest.raises(ValueError, match="dizziness_nrs"):
        R(1, dizziness_nrs=-1)


# ---------------------------------------------------------------------------- progression
def S(level, errors, mode="normal", stop="", rise=0):
    return SessionOutcome(level, mode, stop, tuple(errors), rise)


def test_progresses_after_two_accurate_sessions_with_eight_trials():
    good = [1.0] * 4
    assert next_level(2, [S(2, good)]).level == 2  # one session is not enough
    d = next_level(2, [S(2, good), S(2, good)])
    assert (d.level, d.change) == (3, 1)


def test_needs_eight_trials_and_calm_symptoms_to_progress():
    assert next_level(2, [S(2, [1.0] * 3), S(2, [1.0] * 3)]).level == 2
    assert next_level(2, [S(2, [1.0] * 4), S(2, [1.0] * 4, rise=2)]).level == 2


def test_accuracy_above_the_level_target_holds_and_far_above_regresses():
    target = levels.level(3).target_ae_deg
    assert next_level(3, [S(3, [target + 1.0] * 4)] * 2).level == 3
    d = next_level(3, [S(3, [target + 2.5] * 4)] * 2)
    assert (d.level, d.change) == (2, -1)


def test_a_symptom_stop_regresses_one_level_but_not_below_one():
    assert next_level(4, [S(4, [1.0] * 4), S(4, [1.0], stop="pain")]).level == 3
    assert next_level(1, [S(1, [], stop="dizziness")]).level == 1


def test_gentle_and_no_training_days_do_not_count():
    good = [1.0] * 4
    assert next_level(2, [S(2, good), S(2, good, mode="gentle")]).level == 2
    assert next_level(2, [S(2, good), S(2, [], mode="none"), S(2, good)]).level == 3


def test_sessions_at_an_earlier_level_do_not_count():
    good = [1.0] * 4
    assert next_level(3, [S(2, good), S(2, good), S(3, good)]).level == 3


def test_top_level_holds():
    assert next_level(levels.MAX_LEVEL, [S(levels.MAX_LEVEL, [1.0] * 4)] * 2).level == levels.MAX_LEVEL


# ---------------------------------------------------------------------------- levels
def test_levels_go_from_laser_to_eyes_closed_and_from_neutral_to_targets():
    ls = levels.LEVELS
    assert ls[0].vision == "laser" and ls[0].feedback == "concurrent"
    assert all(lv.vision == "closed" for lv in ls[1:])
    first_target = next(i for i, lv in enumerate(ls) if lv.task == "target")
    assert all(lv.task == "neutral" for lv in ls[:first_target])
    assert all(20.0 <= lv.amplitude_deg <= 40.0 for lv in ls)
    order = {"concurrent": 0, "kr100": 1, "kr50": 2, "summary": 3}
    assert [order[lv.feedback] for lv in ls[first_target:]] == sorted(order[lv.feedback] for lv in ls[first_target:])


def test_amplitudes_stay_within_the_soft_limit_and_small_on_gentle_days():
    top = levels.level(levels.MAX_LEVEL)
    rom = {"rotation_left": 40.0}
    assert levels.drill_amplitude_deg(top, "rotation_left", rom) == pytest.approx(30.0)  # 75 % of 40
    assert levels.drill_amplitude_deg(top, "rotation_left", {"rotation_left": 80.0}) == 40.0
    assert levels.drill_amplitude_deg(top, "rotation_left", {"rotation_left": 80.0}, gentle=True) == 20.0


# ---------------------------------------------------------------------------- feedback
def test_feedback_fades_from_every_trial_to_every_other_to_summaries():
    assert [feedback.kr_after_trial("kr100", i) for i in range(4)] == [True] * 4
    assert [feedback.kr_after_trial("kr50", i) for i in range(4)] == [True, False, True, False]
    assert not any(feedback.kr_after_trial("summary", i) for i in range(10))
    assert [feedback.summary_after_trial("summary", i, 12) for i in range(12)] == \
        [False] * 4 + [True] + [False] * 4 + [True] + [False, True]


def test_estimate_is_asked_exactly_before_each_reveal():
    for mode in ("kr100", "kr50", "summary", "concurrent"):
        assert [feedback.estimate_before_kr(mode, i) for i in range(6)] == \
            [feedback.kr_after_trial(mode, i) for i in range(6)]


@pytest.mark.parametrize("h, v, where", [(0.5, 1.0, "on_target"), (3.0, 1.0, "left"), (-3.0, 1.0, "right"),
                                         (1.0, 3.0, "up"), (1.0, -3.0, "down")])
def test_error_classification(h, v, where):
    assert feedback.classify_error(h, v) == where


def test_kr_message_compares_the_estimate():
    assert "judged it right" in feedback.kr_message("left", 3.2, "left")
    assert "thought you were to the right" in feedback.kr_message("left", 3.2, "right")


# ---------------------------------------------------------------------------- plan files
def test_plan_round_trips_through_toml_and_json(tmp_path):
    plan = Plan(patient="p-01", level=3, sessions_per_day=1, directions=("flexion", "extension"),
                pain_free_rom_deg={**levels.DEFAULT_PAIN_FREE_ROM_DEG, "flexion": 35.0}, notes="go easy")
    for name in ("plan.toml", "plan.json"):
        assert load_plan(save_plan(plan, tmp_path / name)) == plan


@pytest.mark.parametrize("data, key", [
    ({"level": 9}, "level"), ({"lvl": 1}, "lvl"), ({"directions": ["up"]}, "directions"),
    ({"pain_free_rom_deg": {"flexion": 200}}, "pain_free_rom_deg.flexion"),
    ({"pain_free_rom_deg": {"sideways": 20}}, "pain_free_rom_deg.sideways"),
    ({"soft_limit_share": 0.95}, "soft_limit_share"), ({"auto_progress": "yes"}, "auto_progress"),
    ({"patient": "a b"}, "patient"), ({"format": "other/2"}, "format"),
])
def test_plan_errors_name_the_key(data, key):
    with pytest.raises(PlanError, match=key.replace(".", r"\.")):
        plan_from_dict(data)


def test_bad_plan_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"level": 2, "sessions_per_day": 9}))
    with pytest.raises(PlanError, match="sessions_per_day"):
        load_plan(bad)
    (tmp_path / "x.toml").write_text("level = ")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(tmp_path / "x.toml")
    with pytest.raises(PlanError, match=r"\.toml or \.json"):
        load_plan(tmp_path / "plan.yaml")


# ---------------------------------------------------------------------------- progress
def test_streaks_and_adherence():
    dates = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05", "2026-01-06"]
    assert progress.streaks(dates) == {"current_days": 2, "longest_days": 3}
    sessions = [{"date": d, "n_trials": 4} for d in dates]
    a = progress.adherence(sessions, "2026-01-01", "2026-01-06")
    assert a["planned_days"] == 6 and a["checkin_days"] == 5
    assert a["adherence_pct"] == pytest.approx(100 * 5 / 6)


def test_ae_per_direction_leaves_out_eyes_open_trials():
    trials = [{"day": 1, "direction": "flexion", "vision": "laser", "valid": True, "abs_error_deg": 0.2},
              {"day": 2, "direction": "flexion", "vision": "closed", "valid": True, "abs_error_deg": 3.0},
              {"day": 2, "direction": "flexion", "vision": "closed", "valid": True, "abs_error_deg": 1.0},
              {"day": 2, "direction": "flexion", "vision": "closed", "valid": False, "abs_error_deg": None}]
    assert progress.ae_by_direction(trials) == {"flexion": {2: 2.0}}


def test_weekly_symptoms_count_headache_days():
    sessions = [{"date": "2026-01-01", "pain_before": 3, "stopped": False},
                {"date": "2026-01-09", "pain_before": 1, "stopped": True}]
    diary = [{"date": "2026-01-02", "headache_nrs": 4}, {"date": "2026-01-03", "headache_nrs": 0},
             {"date": "2026-01-04", "headache_nrs": 2}]
    weeks = progress.weekly_symptoms(sessions, diary, "2026-01-01")
    assert weeks[0] == {"week": 1, "mean_pain_before_nrs": 3.0, "stops": 0, "headache_days": 2,
                        "mean_headache_nrs": 3.0}
    assert weeks[1]["stops"] == 1


# ---------------------------------------------------------------------------- posture
def _feed(det, t, f, batch=1000):
    out = []
    for i in range(0, len(t), batch):
        out += det.update(t[i:i + batch], f[i:i + batch])
    return out


def test_posture_reminds_after_sustained_flexion_and_rate_limits():
    rate = 50.0
    t = np.arange(0, 71 * 60, 1 / rate)
    flex = np.full_like(t, 28.0)  # 71 min looking down at 28°
    got = _feed(PostureDetector(), t, flex)
    assert got[0] == pytest.approx(10 * 60, abs=2.0)
    assert np.diff(got) == pytest.approx([30 * 60] * (len(got) - 1), abs=2.0)
    assert len(got) == 3  # at 10, 40 and 70 min


def test_posture_short_glances_up_do_not_reset_but_real_breaks_do():
    rate = 20.0
    t = np.arange(0, 12 * 60, 1 / rate)
    flex = np.full_like(t, 25.0)
    flex[(t > 300) & (t < 310)] = 0.0  # a 10 s glance up: not a break
    assert len(_feed(PostureDetector(), t, flex)) == 1
    flex[(t > 300) & (t < 340)] = 0.0  # a 40 s break: the count restarts
    assert _feed(PostureDetector(), t, flex) == []


def test_posture_ignores_moderate_flexion_and_gaps():
    t = np.arange(0, 20 * 60, 0.05)
    assert _feed(PostureDetector(), t, np.full_like(t, 15.0)) == []
    det = PostureDetector(PostureSettings(hold_min=10))
    flex = np.full_like(t, 30.0)
    keep = (t < 6 * 60) | (t > 8 * 60)  # the sensor was off for 2 minutes
    got = _feed(det, t[keep], flex[keep])
    assert got and got[0] >= 8 * 60 + 10 * 60 - 2


def test_soft_limits_use_the_measured_rom_when_it_is_smaller(tmp_path):
    from cervitrack.trainer.stores.sessions import Store
    from cervitrack.trainer.training.clinical_link import plan_with_measured_rom

    plan = Plan(patient="p1")
    with Store(tmp_path / "s.sqlite3") as store:
        assert plan_with_measured_rom(plan, store) == (plan, None)
        store.ensure_patient("p1")
        sid = store.add_session("sim", "p1")
        rom = {"directions": {"rotation_left": {"max_deg": 40.0}, "rotation_right": {"max_deg": 75.0},
                              "flexion": {"max_deg": None}, "lateral_left": {"max_deg": 30.0}}}
        store.add_test(sid, "rom", "rom", {}, rom, {}, [])
        adjusted, measured = plan_with_measured_rom(plan, store)
    assert measured["rotation_left"] == 40.0
    assert adjusted.pain_free_rom_deg == {**plan.pain_free_rom_deg, "rotation_left": 40.0}  # only lower
    assert levels.drill_amplitude_deg(levels.level(8), "rotation_left", adjusted.pain_free_rom_deg) == 30.0


def test_what_changed_is_said_plainly_without_praise_on_a_drop():
    from cervitrack.trainer.training import outcome

    drop = outcome.level_change_text({"level": 3, "level_next": 2, "stopped": False, "level_reason": "AE 7.1° > 6.0°"})
    assert drop.startswith("Next time you go back to level 2, which is easier") and "well off your goal" in drop
    assert "Well done" not in drop
    pain = outcome.level_change_text({"level": 3, "level_next": 2, "stopped": True, "reason": "pain",
                                      "level_reason": "stopped for pain: easier next time"})
    assert "because today's session was stopped (your pain went up)" in pain
    up = outcome.level_change_text({"level": 2, "level_next": 3, "stopped": False, "level_reason": "x"})
    assert up.startswith("Next time you move up to level 3")
    assert outcome.today_sentence({"level": 2, "n_trials": 1, "ae_deg": 5.0}) == (
        "Today you did 1 try and were on average 5.0° from where you aimed: on the way to your goal of 4.5° or less.")


def test_every_stop_says_what_to_do_next_and_who_to_call():
    from cervitrack.trainer.training import outcome

    for kind, reason in (("first_run", "screen"), ("daily", "screen"), ("readiness", "severe_pain"),
                         ("session", "pain"), ("session", "dizziness"), ("session", "nausea"),
                         ("session", "red_flag"), ("session", "person")):
        steps = outcome.next_steps(kind, reason, ("recent_trauma",), "Dr A, 020 555 0100", 8)
        assert steps.title and steps.why and len(steps.steps) >= 2
        assert steps.contact == "Your clinician: Dr A, 020 555 0100"
    screen = outcome.next_steps("first_run", "screen", ("recent_trauma",))
    assert "blow to the head or neck" in screen.why and screen.contact == outcome.NO_CONTACT
    assert any("emergency" in s for s in screen.steps)
    assert "tomorrow" in " ".join(outcome.next_steps("readiness", "severe_pain").steps)
