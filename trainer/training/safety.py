"""The first-run safety screen, the daily symptom check, the disclaimer and the stop advice.

Pure data and logic; the CLI and the GUI render the questions and the advice.

Sources (Rushton et al. 2023, JOSPT 53(1):7–22 (IFOMPT International Cervical Framework); NeckCare Home instructions for use):

- Cervical arterial dysfunction and upper cervical instability red flags, the **5 D's**
  (dizziness, diplopia, dysarthria, dysphagia, drop attacks) and **3 N's** (nausea, numbness,
  nystagmus), plus ataxia; trauma, hypermobility, bilateral hand/foot paraesthesia and gait
  disturbance (myelopathy). IFOMPT International Framework for examination of the cervical
  region: Rushton et al. 2023, JOSPT 53(1):7-22.
- The KNGF (Royal Dutch Society for Physical Therapy) neck pain guideline's red flags: trauma,
  osteoporosis risk, neurological signs, signs of infection, history of malignancy, headache /
  dizziness / vision change, vomiting / dysphagia, autoimmune disorder.
- NeckCare Home IFU: stop immediately on pain, dizziness, nausea or worsening symptoms; not for
  people whose neck movement must be restricted; not for diagnosis.

Any "yes" in the first-run screen stops training and advises medical care: the screen is
deliberately over-inclusive (a **[DESIGN PROPOSAL]**: the product cannot examine, so it
refers). The daily check (5 D's and 3 N's, Rushton et al. 2023, JOSPT 53(1):7–22; a Cervitrack design proposal "pre-session 5D/3N
questionnaire") is asked before every session.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCLAIMER = (
    "Cervitrack measures how well you sense and control your head position, and gives you "
    "exercises to train it. It does not diagnose any condition and does not replace your "
    "doctor or physiotherapist. Train only as your clinician advised. Stop at once if you feel "
    "pain, dizziness or nausea."
)

SEE_CLINICIAN = ("Please see a doctor or physiotherapist before training. "
                 "If your symptoms are sudden or severe, seek urgent care.")


@dataclass(frozen=True)
class Question:
    """One yes/no screening question: ``key`` (stable id), plain ``text``, its ``group``
    ("5D", "3N", "IFOMPT" or "KNGF") and ``source``."""

    key: str
    text: str
    group: str
    source: str


_IFOMPT = "IFOMPT cervical framework, Rushton et al. 2023, JOSPT 53(1):7-22"
_KNGF = "KNGF neck pain guideline red flags"

#: The 5 D's and 3 N's, in plain words (asked every day and in the first-run screen).
DAILY_QUESTIONS: tuple[Question, ...] = (
    Question("dizziness", "Have you felt dizzy, light-headed or as if the room were spinning?",
             "5D", _IFOMPT),
    Question("diplopia", "Have you had double vision or other sudden changes in your vision?", "5D", _IFOMPT),
    Question("dysarthria", "Have you had trouble speaking or slurred speech?", "5D", _IFOMPT),
    Question("dysphagia", "Have you had trouble swallowing?", "5D", _IFOMPT),
    Question("drop_attacks", "Have you suddenly fallen or had your legs give way without warning?",
             "5D", _IFOMPT),
    Question("nausea", "Have you felt sick (nausea) or vomited?", "3N", _IFOMPT),
    Question("numbness", "Have you had numbness or tingling in your face, lips or tongue?", "3N", _IFOMPT),
    Question("nystagmus", "Has anyone noticed your eyes flickering or jumping, or has your vision been jumpy?",
             "3N", _IFOMPT),
)

#: The rest of the first-run screen (IFOMPT framework and KNGF list).
FIRST_RUN_QUESTIONS: tuple[Question, ...] = DAILY_QUESTIONS + (
    Question("ataxia_gait", "Have you been clumsy, unsteady on your feet, or had trouble walking?",
             "IFOMPT", _IFOMPT),
    Question("bilateral_tingling", "Have you had tingling or numbness in both hands or both feet?",
             "IFOMPT", _IFOMPT),
    Question("recent_trauma", "Have you had a fall, accident or blow to the head or neck in the last weeks?",
             "KNGF", _KNGF),
    Question("sudden_headache", "Have you had a sudden, severe headache unlike any before?", "KNGF", _KNGF),
    Question("neck_instability", "Has a clinician told you that your neck movement must be restricted "
             "(for example instability, a recent fracture or surgery)?", "IFOMPT", _IFOMPT),
    Question("neurological", "Have you had weakness in an arm or leg, or loss of feeling that is spreading?",
             "KNGF", _KNGF),
    Question("infection_signs", "Do you have a fever, or feel generally unwell, together with your neck pain?",
             "KNGF", _KNGF),
    Question("malignancy", "Have you ever been treated for cancer?", "KNGF", _KNGF),
    Question("osteoporosis", "Have you been told you have osteoporosis (fragile bones), or taken "
             "steroid tablets for a long time?", "KNGF", _KNGF),
    Question("autoimmune", "Do you have rheumatoid arthritis or another autoimmune disease?", "KNGF", _KNGF),
    Question("weight_loss_night_pain", "Have you lost weight without trying, or does the pain wake you at night?",
             "KNGF", _KNGF),
)


@dataclass(frozen=True)
class ScreenResult:
    """Outcome of a screen: ``positive`` (any yes), the keys answered yes, and the advice."""

    positive: bool
    flags: tuple[str, ...]
    advice: str


def evaluate_screen(answers: dict[str, bool], questions=FIRST_RUN_QUESTIONS) -> ScreenResult:
    """Evaluate yes/no answers (question key → True for yes).

    Every question must be answered: a missing key raises ValueError naming it (an unanswered
    safety question never counts as "no").
    """
    missing = [q.key for q in questions if q.key not in answers]
    if missing:
        raise ValueError(f"safety screen: no answer for {missing[0]}")
    unknown = sorted(set(answers) - {q.key for q in questions})
    if unknown:
        raise ValueError(f"safety screen: unknown question {unknown[0]}")
    flags = tuple(q.key for q in questions if bool(answers[q.key]))
    if not flags:
        return ScreenResult(False, (), "")
    return ScreenResult(True, flags, "Training is stopped. " + SEE_CLINICIAN)


def question(key: str) -> Question:
    """The question with this key (KeyError if none)."""
    for q in FIRST_RUN_QUESTIONS:
        if q.key == key:
            return q
    raise KeyError(key)
