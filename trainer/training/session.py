"""One training session as an engine: calibration, then the plan's blocks, with a symptom
rating after every block and the stop rules applied to each rating.

Flow (the safety check and the rating before the session are done by the caller, which also
decides the day's mode with :func:`cervitrack.trainer.training.symptoms.readiness`):

1. functional calibration (the JPE engine's: keep still, nod, turn);
2. for each block of the plan (warm-up, relocation × ``relocation_blocks``, tracking when
   available; the warm-up is skipped on a gentle day): the block's drill, then a
   ``rate_symptoms`` prompt; the caller answers with :meth:`TrainingSession.answer`; the rating
   is checked with :func:`~cervitrack.trainer.training.symptoms.stop_decision` and a stop ends
   the session with the advice (``stop`` prompt);
3. ``done``.

The person can stop at any moment (:meth:`TrainingSession.stop_now`): the session ends with
advice and is stored as stopped (reason ``person``), which holds the level.

Questions (``rate_symptoms``, ``estimate``) are answered with ``answer(t_s, kind, value)``;
time keeps running (the person sits still) while a question is open.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cervitrack.trainer.clinical.jpe import JpeSettings, JpeTest
from cervitrack.trainer.clinical.prompts import Prompt
from cervitrack.trainer.training import capabilities, levels, symptoms
from cervitrack.trainer.training.drills import DrillPrompt, RelocationDrill, RomWarmup
from cervitrack.trainer.training.plan import Plan

RATE_TEXT = ("How is your neck pain now, from 0 (none) to 10 (worst imaginable)? Any dizziness "
             "(0-10)? Do you feel sick?")


class TrainingSession:
    """A session engine.

    Args:
        plan: the patient's plan (its ``level`` is the level trained).
        mode: "normal" or "gentle" (from readiness).
        before: the rating before the session.
        rate_hz: nominal sample rate of the device.
        calibration: reuse an existing calibration instead of calibrating.
    """

    name = "training-session"

    def __init__(self, plan: Plan, mode: str, before: symptoms.SymptomRating, rate_hz: float = 100.0,
                 calibration=None) -> None:
        if mode not in ("normal", "gentle"):
            raise ValueError(f"a session runs in normal or gentle mode, not {mode!r}")
        self.plan = plan
        self.level = levels.level(plan.level)
        self.mode = mode
        self.before = before
        self.rate_hz = rate_hz
        self.events: list[dict] = []
        self.blocks: list[dict] = []
        self.stop = symptoms.CONTINUE
        self.phase = "idle"
        self._cal_engine = JpeTest(JpeSettings(directions=()), rate_hz=rate_hz, calibration=calibration)
        self._calibration = calibration
        # The running block's engine: a drill or a tracking test (start/update/done; a
        # relocation drill also takes answers), duck-typed.
        self._current: Any = None
        self._last_rating = before
        wanted = [b for b in plan.blocks if not (mode == "gentle" and b == "warmup")]
        self.skipped_blocks = [b for b in wanted if b not in capabilities.available_blocks(wanted)]
        self._queue = []
        for b in capabilities.available_blocks(wanted):
            self._queue += [b] * (plan.relocation_blocks if b == "relocation" else 1)

    # ------------------------------------------------------------------ engine API
    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def calibration(self):
        return self._calibration if self._calibration is not None else self._cal_engine.calibration

    @property
    def gyro_bias_update(self):
        return self._cal_engine.gyro_bias_update

    @property
    def question(self) -> str | None:
        """The open question ("rate_symptoms", "estimate") or None."""
        if self.phase == "await_rating":
            return "rate_symptoms"
        if self.phase == "block" and getattr(self._current, "phase", "") == "await_estimate":
            return "estimate"
        return None

    def start(self, t_s: float) -> list[Prompt]:
        self.events.append({"t_s": float(t_s), "kind": "session_start", "level": self.level.number,
                            "mode": self.mode, "before": self.before.as_dict(),
                            "blocks": list(self._queue), "skipped_blocks": self.skipped_blocks})
        if self._calibration is not None:
            return self._next_block(t_s)
        self.phase = "calibrate"
        return self._collect(self._cal_engine.start(t_s))

    def update(self, pose) -> list[Prompt]:
        if self.phase == "calibrate":
            prompts = self._collect(self._cal_engine.update(pose))
            if self._cal_engine.done:
                return prompts + self._next_block(float(pose.t_s[-1]))
            return prompts
        if self.phase == "block":
            prompts = self._collect(self._current.update(pose))
            if self._current.done:
                t = float(pose.t_s[-1])
                return prompts + self._end_block(t)
            return prompts
        return []

    def answer(self, t_s: float, kind: str, value) -> list[Prompt]:
        """Answer the open question: a SymptomRating for ``rate_symptoms``, an estimate label
        for ``estimate``."""
        if kind == "rate_symptoms" and self.phase == "await_rating":
            if not isinstance(value, symptoms.SymptomRating):
                raise ValueError("rate_symptoms needs a SymptomRating")
            block = self.blocks[-1]
            block["after"] = value
            decision = symptoms.stop_decision(self.before, block["before"], value, self.plan.pain_rise_stop_nrs)
            self.events.append({"t_s": float(t_s), "kind": "rating", "block": len(self.blocks) - 1,
                                **value.as_dict(), "stop": decision.stop, "reason": decision.reason})
            self._last_rating = value
            if decision.stop:
                self.stop = decision
                return self._finish(t_s, DrillPrompt(kind="stop", t_s=float(t_s), text=decision.advice))
            return self._next_block(t_s)
        if kind == "estimate" and self.question == "estimate":
            prompts = self._collect(self._current.answer(t_s, kind, value))
            if self._current.done:
                prompts += self._end_block(t_s)
            return prompts
        raise ValueError(f"no {kind} question is open")

    def stop_now(self, t_s: float) -> list[Prompt]:
        """The person stops the session (a stop button, Ctrl-C): it ends now, with advice."""
        if self.done:
            return []
        self.stop = symptoms.StopDecision(True, "person", symptoms.ADVICE["person"])
        return self._finish(t_s, DrillPrompt(kind="stop", t_s=float(t_s), text=self.stop.advice))

    # ------------------------------------------------------------------ blocks
    def _collect(self, prompts):
        """Log prompts; a sub-engine's own "done" is replaced by the session's next step."""
        prompts = [p for p in prompts if p.kind != "done"]
        for p in prompts:
            self.events.append(p.as_event())
        return prompts

    def _make_block(self, kind: str):
        cal = self.calibration
        rom = self.plan.pain_free_rom_deg
        if kind == "warmup":
            limits = {d: levels.soft_limit_deg(rom[d], self.plan.soft_limit_share) for d in self.plan.directions}
            return RomWarmup(cal, limits, reps=self.plan.warmup_reps)
        if kind == "relocation":
            lv = self.level
            amp = {d: levels.drill_amplitude_deg(lv, d, rom, self.mode == "gentle", self.plan.soft_limit_share)
                   for d in self.plan.directions}
            return RelocationDrill(cal, lv.task, lv.vision, lv.feedback, amp, self.plan.directions,
                                   self.plan.reps(), lv.speed)
        return capabilities.tracking_factory()(cal, self.level.tracking, self.rate_hz)

    def _next_block(self, t_s: float) -> list[Prompt]:
        if not self._queue:
            return self._finish(t_s, DrillPrompt(kind="done", t_s=float(t_s),
                                                 text="Session finished. Well done, see you next time."))
        kind = self._queue.pop(0)
        self._current = self._make_block(kind)
        self.blocks.append({"kind": kind, "before": self._last_rating, "after": None, "engine": self._current})
        self.phase = "block"
        return self._collect(self._current.start(t_s))

    def _end_block(self, t_s: float) -> list[Prompt]:
        self.phase = "await_rating"
        return self._collect([DrillPrompt(kind="rate_symptoms", t_s=float(t_s), text=RATE_TEXT)])

    def _finish(self, t_s: float, prompt: Prompt) -> list[Prompt]:
        self.phase = "done"
        self.events.append({"t_s": float(t_s), "kind": "session_end", "stopped": self.stop.stop,
                            "reason": self.stop.reason})
        self.events.append(prompt.as_event())
        return [prompt]

    # ------------------------------------------------------------------ results
    def relocation_trials(self) -> list[dict]:
        return [t for b in self.blocks if b["kind"] == "relocation" for t in b["engine"].trials]

    def summary(self) -> dict:
        """Plain-data summary: level, mode, stop, ratings, AE overall and per direction."""
        trials = [t for t in self.relocation_trials() if t["valid"]]
        per: dict[str, list] = {}
        for t in trials:
            per.setdefault(t["direction"], []).append(t["abs_error_deg"])
        est = [t["estimate_correct"] for t in trials if t.get("estimate") is not None]
        ratings = [self.before] + [b["after"] for b in self.blocks if b["after"] is not None]
        warm = [b["engine"].scores() for b in self.blocks if b["kind"] == "warmup"]
        track = [b["engine"].scores() for b in self.blocks if b["kind"] == "tracking" and b["engine"].done]
        return {
            "level": self.level.number, "mode": self.mode, "stopped": self.stop.stop,
            "reason": self.stop.reason or None, "advice": self.stop.advice or None,
            "pain_before": self.before.pain_nrs, "pain_after": ratings[-1].pain_nrs,
            "max_pain_rise_nrs": max(r.pain_nrs for r in ratings) - self.before.pain_nrs,
            "dizziness_max": max(r.dizziness_nrs for r in ratings),
            "n_trials": len(trials),
            "ae_deg": float(np.mean([t["abs_error_deg"] for t in trials])) if trials else None,
            "ae_by_direction_deg": {d: float(np.mean(v)) for d, v in per.items()},
            "estimate_agreement": float(np.mean(est)) if est else None,
            "blocks": [b["kind"] for b in self.blocks], "skipped_blocks": self.skipped_blocks,
            "warmup_peak_deg": warm[0]["peak_deg"] if warm else None,
            "tracking": {lv: {k: s[k] for k in ("n", "aa_deg", "time_on_target_pct")} for lv, s in track[0].items()}
            if track else None,
        }
