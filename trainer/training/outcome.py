"""What a person is told at the end of a training day, in plain words: what to do after a stop,
what changed (the level for next time, and why), and today's result in one sentence.

Pure text from plain data (stored stops, session records, the plan); the window and the
terminal render it. The rules themselves live in :mod:`safety`, :mod:`symptoms` and
:mod:`progression`; this module only words their outcome.

Next steps after a stop follow the advice of :data:`symptoms.ADVICE` (NeckCare Home IFU: stop
on pain, dizziness or nausea; IFOMPT cervical framework, Rushton et al. 2023, JOSPT
53(1):7-22: 5D/3N symptoms go to a clinician, sudden or severe ones to urgent care). A stop
always holds for the rest of the day (**[DESIGN PROPOSAL]**: a symptom that stopped training
is given time to settle; the progression rule already makes the next session easier).
"""

from __future__ import annotations

from dataclasses import dataclass

from cervitrack.trainer.training import levels, safety
from cervitrack.trainer.training.progression import SYMPTOM_STOPS

URGENT = ("If anything is sudden or severe (a sudden severe headache, double vision, trouble speaking "
          "or swallowing, weakness or numbness, fainting), call your local emergency number now.")
NO_CONTACT = "Your clinician has not added their contact details; use your usual doctor or physiotherapist."


@dataclass(frozen=True)
class NextSteps:
    """``title``; ``why`` (what happened); ``steps`` (what to do, in order); ``contact`` (the
    clinician's contact line)."""

    title: str
    why: str
    steps: tuple[str, ...]
    contact: str


def _contact(plan_contact: str) -> str:
    return f"Your clinician: {plan_contact}" if plan_contact.strip() else NO_CONTACT


def _answered_yes(flags) -> str:
    texts = []
    for key in flags:
        try:
            texts.append("“" + safety.question(key).text + "”")
        except KeyError:
            texts.append(key.replace("_", " "))
    return "You answered yes to: " + " ".join(texts)


def next_steps(kind: str, reason: str, flags=(), plan_contact: str = "", pain_nrs: int | None = None) -> NextSteps:
    """The page shown after a stop.

    Args:
        kind: "first_run" or "daily" (a positive safety check), "readiness" (no training
            today) or "session" (a stopped session).
        reason: the stop reason ("screen", or a key of :data:`symptoms.ADVICE`).
        flags: the safety questions answered yes (screens).
        plan_contact: the plan's ``clinician_contact``.
        pain_nrs: the pain rating that stopped it (readiness), for the words.
    """
    contact = _contact(plan_contact)
    if kind in ("first_run", "daily"):
        return NextSteps(
            "No training for now: please see a clinician first",
            _answered_yes(flags) + ". The exercises may not be safe for you until a clinician has checked this.",
            ("Do not do the exercises for now.",
             "Contact your doctor or physiotherapist and tell them what you answered.",
             URGENT,
             "When a clinician has said that training is safe for you, open Cervitrack again on another day "
             "and answer the safety questions again."),
            contact)
    if reason == "severe_pain":
        level = f" ({pain_nrs} of 10)" if pain_nrs is not None else ""
        return NextSteps(
            "No training today",
            f"Your neck pain is too high to train today{level}. Training in pain does not help the exercises work.",
            ("Rest your neck and move it gently within what is comfortable.",
             "Try again tomorrow.",
             "If the pain stays this high for several days, contact your physiotherapist."),
            contact)
    why = WHY.get(reason, "Training was stopped.")
    if reason == "person":
        return NextSteps("You stopped today's session", why,
                         ("Rest.", "You can train again tomorrow.",
                          "If you stopped because of pain, dizziness or nausea, rest until it settles and tell your "
                          "clinician before training again; if it is sudden or severe, seek urgent care."),
                         contact)
    if reason == "pain":
        return NextSteps("Training stopped: your pain went up", why,
                         ("Rest your neck; move it gently within what is comfortable.",
                          "If the pain has settled, you can train again tomorrow (the exercises will be easier).",
                          "If it has not settled by tomorrow, or keeps coming back, contact your physiotherapist "
                          "before training again."),
                         contact)
    if reason == "red_flag":
        return NextSteps("Training stopped: a symptom to check", why,
                         ("Do not train again until you have been able to see a doctor or physiotherapist.",
                          "Contact them today and tell them what you noticed.",
                          URGENT),
                         contact)
    title = {"dizziness": "Training stopped: you felt dizzy",
             "nausea": "Training stopped: you felt sick"}.get(reason, "Training stopped")
    return NextSteps(title, why,
                     ("Sit quietly until it passes. Do not drive until it has.",
                      "Contact your clinician before training again.",
                      URGENT),
                     contact)


#: What happened, for each stop reason of a session (symptoms.stop_decision, or the person).
WHY = {
    "pain": "Your neck pain went up during the session, so we stopped for today.",
    "dizziness": "You felt dizzy, so we stopped for today.",
    "nausea": "You felt sick, so we stopped for today.",
    "red_flag": ("You reported double vision, trouble speaking or swallowing, numbness in your face, or feeling "
                 "unsteady. A clinician should check this, so we stopped."),
    "person": "You stopped the session. That is always fine.",
}


def level_change_text(record: dict) -> str:
    """What changed, in plain words: the level for next time and why (no praise on a drop)."""
    now, nxt = record["level"], record["level_next"]
    reason = record.get("reason") if record.get("stopped") else None
    goal = levels.level(now).target_ae_deg
    if nxt > now:
        return (f"Next time you move up to level {nxt}: over your recent sessions you were on average within "
                f"your goal of {goal:.1f}°. {levels.level(nxt).describe()}.")
    if nxt < now:
        why = (f"because today's session was stopped ({_REASON_WORDS.get(reason, reason)})" if reason
               in SYMPTOM_STOPS else f"because your recent tries were well off your goal of {goal:.1f}°")
        return (f"Next time you go back to level {nxt}, which is easier, {why}. That is normal: it gives your "
                f"neck time to catch up.")
    if record.get("level_reason") == "level locked by the therapist":
        return f"You stay at level {now}: your therapist set this level."
    return f"You stay at level {now} and keep practising towards your goal of {goal:.1f}° or less."


_REASON_WORDS = {"pain": "your pain went up", "dizziness": "you felt dizzy", "nausea": "you felt sick",
                 "red_flag": "you reported a symptom"}


def today_sentence(record: dict) -> str:
    """Today's result in one sentence."""
    n = record.get("n_trials") or 0
    tries = f"{n} {'try' if n == 1 else 'tries'}"
    goal = levels.level(record["level"]).target_ae_deg
    ae = record.get("ae_deg")
    if ae is None:
        return f"Today you did {tries}; there is no result to show."
    verdict = "within your goal" if ae <= goal else "on the way to your goal"
    return (f"Today you did {tries} and were on average {ae:.1f}° from where you aimed: {verdict} "
            f"of {goal:.1f}° or less.")
