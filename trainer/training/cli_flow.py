"""The interactive command-line flow of a training day: disclaimer, safety screens, symptom
ratings, the session's prompts and questions, the advice. Rendering and input only; every rule
lives in the pure modules.

``ask`` is a callable(prompt_text) → answer text (``input`` on a terminal; tests pass a
scripted list), ``say`` a callable(text) (``print``).
"""

from __future__ import annotations

from cervitrack.trainer.training import feedback, outcome, safety
from cervitrack.trainer.training.symptoms import SymptomRating

YES = {"y", "yes", "j", "ja", "1", "true"}
NO = {"n", "no", "nee", "0", "false"}


class AnswerError(ValueError):
    """No usable answer (input ended)."""


def _ask(ask, text: str) -> str:
    try:
        return ask(text)
    except EOFError:
        raise AnswerError("the input ended before every question was answered") from None


def ask_yes_no(ask, text: str) -> bool:
    for _ in range(3):
        answer = _ask(ask, f"{text} [y/n] ").strip().lower()
        if answer in YES:
            return True
        if answer in NO:
            return False
    raise AnswerError(f"no yes/no answer to: {text}")


def ask_nrs(ask, text: str) -> int:
    for _ in range(3):
        answer = _ask(ask, f"{text} (0-10) ").strip()
        if answer.isdigit() and 0 <= int(answer) <= 10:
            return int(answer)
    raise AnswerError(f"no 0-10 answer to: {text}")


def run_screen(ask, say, questions) -> safety.ScreenResult:
    answers = {q.key: ask_yes_no(ask, q.text) for q in questions}
    result = safety.evaluate_screen(answers, questions)
    if result.positive:
        say(result.advice)
    return result


def ask_rating(ask) -> SymptomRating:
    pain = ask_nrs(ask, "How is your neck pain right now, 0 = none, 10 = worst imaginable?")
    dizzy = ask_nrs(ask, "Do you feel dizzy right now? 0 = not at all, 10 = worst imaginable.")
    nausea = ask_yes_no(ask, "Do you feel sick (nausea) right now?")
    other = ask_yes_no(ask, "Any double vision, trouble speaking or swallowing, numbness in your face, "
                            "or feeling unsteady right now?")
    return SymptomRating(pain, dizzy, nausea, ("other_5d3n",) if other else ())


def ask_estimate(ask) -> str:
    keys = {"o": "on_target", "l": "left", "r": "right", "u": "up", "d": "down"}
    for _ in range(3):
        answer = _ask(ask, "Where do you think you are? [o]n target, [l]eft, [r]ight, [u]p (too high), "
                     "[d]own (too low): ").strip().lower()
        if answer[:1] in keys:
            return keys[answer[:1]]
        if answer in feedback.ESTIMATES:
            return answer
    raise AnswerError("no estimate given")


def say_stop(say, stop: dict, plan) -> None:
    """A stop in words: what happened, what to do now, who to call (and the level for next time)."""
    steps = outcome.next_steps(stop["kind"], stop["reason"], stop["flags"], plan.clinician_contact,
                       stop["detail"].get("pain_nrs"))
    say(steps.title)
    say(steps.why)
    say("What to do now:")
    for i, step in enumerate(steps.steps, 1):
        say(f"  {i}. {step}")
    say(steps.contact)
    if stop["detail"].get("change"):
        say(stop["detail"]["change"])
