"""Symptom ratings, the stop rules and the pre-session readiness rule.

Ratings are 0-10 numeric rating scales (NRS) for neck pain and for dizziness, plus a yes/no for
nausea; they are asked before the first block and after every block (the rating after a block
is the rating before the next one: one question between blocks, not two).

Rules (Rushton et al. 2023, JOSPT 53(1):7–22 (IFOMPT International Cervical Framework); NeckCare Home instructions for use, the **[DESIGN PROPOSAL]** "auto-stop if
NRS rises ≥ 2 points or any 5D/3N item is reported"; NeckCare Home IFU "stop immediately on
pain, dizziness, nausea or worsening symptoms"; Boudreau et al. 2007, Pain 132:169–178: pain inhibits training-induced
plasticity, so drills stay pain-free):

=======================  ==========================================================  =========
rule                     condition                                                   source
=======================  ==========================================================  =========
stop: pain               pain after a block − pain before it ≥ 2, or pain after a     Rushton et al. 2023, JOSPT 53(1):7–22; NeckCare Home IFU; DP
                         block − pain before the session ≥ 2
stop: dizziness          dizziness NRS ≥ 1 at any rating                              Rushton et al. 2023, JOSPT 53(1):7–22; NeckCare Home IFU
stop: nausea             nausea reported at any rating                                Rushton et al. 2023, JOSPT 53(1):7–22; NeckCare Home IFU
stop: red flag           any other 5D/3N item newly reported                          Rushton et al. 2023, JOSPT 53(1):7–22; NeckCare Home IFU; DP
no training today        pain before the session ≥ 7 ("severe" band of the NRS)        DP
gentle day               pain before the session 4-6 ("moderate" band)               Boudreau et al. 2007, Pain 132:169–178; DP
=======================  ==========================================================  =========

DP: Cervitrack design proposal. The 4 and 7 band limits are the conventional mild / moderate /
severe bands of the 0-10 NRS (cut-points vary between studies); therapists can change them in
the plan (``gentle_pain_nrs``, ``no_training_pain_nrs``). A gentle day keeps to
small-amplitude precision drills (our design consequence of Boudreau et al. 2007, Pain 132:169–178: "prefer small-amplitude precision tasks while pain is
high") and skips the range-of-motion warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cervitrack.trainer.training.safety import SEE_CLINICIAN

#: Stop when pain rises by this many NRS points (Rushton et al. 2023, JOSPT 53(1):7–22; a Cervitrack design proposal).
PAIN_RISE_STOP_NRS = 2
#: Defaults of the readiness bands (design proposal; plan keys gentle_pain_nrs,
#: no_training_pain_nrs).
GENTLE_PAIN_NRS = 4
NO_TRAINING_PAIN_NRS = 7

ADVICE = {
    "pain": ("Your pain went up, so we stopped for today. Rest your neck and move it gently "
             "within what is comfortable. If the pain has not settled by tomorrow, or keeps "
             "coming back, contact your physiotherapist before training again."),
    "dizziness": ("You felt dizzy, so we stopped. Sit quietly until it passes and do not drive "
                  "until it has. Contact your clinician before training again. If it is sudden "
                  "or severe, or comes with double vision, slurred speech, trouble swallowing, "
                  "numbness or a fall, seek urgent care."),
    "nausea": ("You felt sick, so we stopped. Sit quietly until it passes. Contact your "
               "clinician before training again. If it is sudden or severe, seek urgent care."),
    "red_flag": "We stopped because of the symptom you reported. " + SEE_CLINICIAN,
    "person": ("You stopped the session. That is always fine. If you stopped because of pain, "
               "dizziness or nausea, rest until it settles and contact your clinician before training "
               "again; if it is sudden or severe, seek urgent care."),
    "severe_pain": ("Your pain is high today, so there is no training today: training in pain "
                    "does not help the exercises work. Rest, and contact your physiotherapist if "
                    "it stays this high."),
}


@dataclass(frozen=True)
class SymptomRating:
    """One symptom rating.

    Attributes:
        pain_nrs: neck pain now, 0 (none) to 10 (worst imaginable).
        dizziness_nrs: dizziness now, 0 to 10.
        nausea: feeling sick now.
        red_flags: keys of other 5D/3N symptoms reported now (see safety.DAILY_QUESTIONS;
            ``other_5d3n`` when the command line's one combined question was answered yes).
    """

    pain_nrs: int
    dizziness_nrs: int = 0
    nausea: bool = False
    red_flags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        for key in ("pain_nrs", "dizziness_nrs"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10:
                raise ValueError(f"{key} must be a whole number from 0 to 10, got {v!r}")

    def as_dict(self) -> dict:
        return {"pain_nrs": self.pain_nrs, "dizziness_nrs": self.dizziness_nrs,
                "nausea": self.nausea, "red_flags": list(self.red_flags)}


@dataclass(frozen=True)
class StopDecision:
    """``stop`` and, when stopping, the ``reason`` (pain, dizziness, nausea, red_flag) and the
    plain-language ``advice``."""

    stop: bool
    reason: str = ""
    advice: str = ""


CONTINUE = StopDecision(False)


def stop_decision(session_before: SymptomRating, block_before: SymptomRating,
                  now: SymptomRating, pain_rise_nrs: int = PAIN_RISE_STOP_NRS) -> StopDecision:
    """Whether to stop, given the rating before the session, before the block and now.

    Checked in order of urgency: red flags, dizziness, nausea, pain rise.
    """
    if now.red_flags:
        return StopDecision(True, "red_flag", ADVICE["red_flag"])
    if now.dizziness_nrs >= 1:
        return StopDecision(True, "dizziness", ADVICE["dizziness"])
    if now.nausea:
        return StopDecision(True, "nausea", ADVICE["nausea"])
    rise = max(now.pain_nrs - block_before.pain_nrs, now.pain_nrs - session_before.pain_nrs)
    if rise >= pain_rise_nrs:
        return StopDecision(True, "pain", ADVICE["pain"])
    return CONTINUE


def readiness(before: SymptomRating, gentle_pain_nrs: int = GENTLE_PAIN_NRS,
              no_training_pain_nrs: int = NO_TRAINING_PAIN_NRS) -> tuple[str, StopDecision]:
    """The day's mode from the rating before the session: ("normal" | "gentle" | "none", stop).

    "none" comes with the stop decision that explains why (dizziness, nausea or a red flag at
    the start also mean no training today).
    """
    first = stop_decision(before, before, before)
    if first.stop:
        return "none", first
    if before.pain_nrs >= no_training_pain_nrs:
        return "none", StopDecision(True, "severe_pain", ADVICE["severe_pain"])
    if before.pain_nrs >= gentle_pain_nrs:
        return "gentle", CONTINUE
    return "normal", CONTINUE
