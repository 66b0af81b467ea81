"""What a test asks the person to do: the prompt vocabulary shared by engines, views, audio
cues and the virtual patient.

A :class:`Prompt` has a machine-readable ``kind`` (and ``direction`` where it applies) and the
plain-language text shown or spoken to the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DIRECTION_TEXT = {
    "rotation_left": "turn your head to the left",
    "rotation_right": "turn your head to the right",
    "flexion": "bend your head forward, chin towards your chest",
    "extension": "tilt your head back, looking up",
    "lateral_left": "tilt your head to the left, ear towards your shoulder",
    "lateral_right": "tilt your head to the right, ear towards your shoulder",
}


@dataclass(frozen=True)
class Prompt:
    """An instruction issued at sample time ``t_s``.

    Kinds:
        ``sit_still``: sit upright, look straight ahead, keep still (calibration rest).
        ``nod``: nod slowly, chin down first, then up, twice (calibration).
        ``turn``: turn slowly, left first, then right, twice (calibration).
        ``recenter``: eyes open, look straight ahead at the centre and keep still.
        ``move``: eyes closed, move in ``direction`` as far as comfortable and hold.
        ``return``: eyes closed, come back to where you started (neutral) and keep still.
        ``trial_recorded``: the relocation was recorded.
        ``redo``: the trial must be repeated (``text`` says why).
        ``done``: the test is finished.

    Kinds of the range-of-motion, target relocation, tracking and tracing tests
    (docs/clinical-tests.md): ``move_max``, ``learn_target``, ``adjust``, ``hold_here``,
    ``back_to_start``, ``relocate``, ``track``, ``trace_start``, ``trace``. Their ``target``
    carries what the person is shown: ``angle_deg`` (a target angle), ``offset_deg`` (how far
    from it), or the path spec of a tracking trajectory or tracing pattern with its
    ``t_start_s``.
    """

    kind: str
    t_s: float
    direction: str | None = None
    text: str = ""
    target: dict | None = field(default=None, compare=False)

    def as_event(self) -> dict:
        event = {"t_s": self.t_s, "kind": "prompt", "prompt": self.kind, "text": self.text}
        if self.direction:
            event["direction"] = self.direction
        if self.target is not None:
            event["target"] = dict(self.target)
        return event


def make_prompt(kind: str, t_s: float, direction: str | None = None, reason: str = "",
                target: dict | None = None) -> Prompt:
    texts = {
        "sit_still": "Sit upright, look straight ahead and keep still.",
        "nod": "Nod slowly: chin down first, then up. Twice.",
        "turn": "Turn your head slowly: left first, then right. Twice.",
        "recenter": "Open your eyes, look straight ahead at the centre and keep still.",
        "return": "Keeping your eyes closed, come back to the centre and keep still.",
        "trial_recorded": "Recorded.",
        "redo": f"Let's repeat that one. {reason}".strip(),
        "done": "Test finished. Well done.",
        "hold_here": "Hold here and remember this position.",
        "back_to_start": "Come back to the centre and keep still.",
        "track": "Follow the moving target with the dot, smoothly.",
        "trace_start": "Put the dot on the start of the pattern and keep still.",
        "trace": "Trace the pattern with the dot, staying inside the band.",
    }

    def toward() -> str:
        if direction is None:
            raise ValueError(f"a {kind!r} prompt needs a direction")
        return DIRECTION_TEXT[direction]

    if kind == "move":
        text = f"Close your eyes and {toward()} as far as is comfortable, then hold."
    elif kind == "move_max":
        text = (f"Eyes open: {toward()} as far as you can without pain, then hold. "
                "Do not force it.")
    elif kind == "learn_target":
        text = (f"Eyes open: {toward()} until the dot is on the target "
                "and keep still.")
    elif kind == "adjust":
        text = "A little less far." if (target or {}).get("offset_deg", 0.0) > 0 else "A little further."
    elif kind == "relocate":
        text = f"Close your eyes and {toward()} back to the target you learned, then hold."
    else:
        text = texts[kind]
    return Prompt(kind=kind, t_s=t_s, direction=direction, text=text, target=target)
