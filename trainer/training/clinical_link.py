"""The training program's link to the clinical sessions store (:mod:`cervitrack.trainer.stores.sessions`,
``sessions.sqlite3``):

- every real training session is also stored there as a session with one test of kind
  ``training`` (scores: level, mode, stop, AE overall and per direction; trials: the relocation
  trials), so a therapist's history and reports see training next to the clinical tests. The
  training-specific records (plans, screenings, ratings, diary) stay in ``training.db``.
  Simulations are not stored there.
- the soft ROM limits use the patient's **measured** range when a ROM test is stored: the
  pain-free ROM of a direction is the smaller of the plan's value and the latest ROM test's
  maximum (conservative: the ROM test measures the comfortable maximum; Rushton et al. 2023, JOSPT 53(1):7–22; NeckCare Home instructions for use soft limits at
  ~75 % of the calibrated pain-free ROM).
"""

from __future__ import annotations

from cervitrack.trainer.stores.sessions import Store
from cervitrack.trainer.training.plan import Plan

#: The plan's pain-free ROM is kept within these bounds (plan validation), deg.
ROM_BOUNDS_DEG = (10.0, 90.0)


def plan_with_measured_rom(plan: Plan, store: Store) -> tuple[Plan, dict | None]:
    """(plan with the pain-free ROM lowered to the latest ROM test's maxima, those maxima)."""
    measured = store.latest_rom(plan.patient)
    if not measured:
        return plan, None
    lo, hi = ROM_BOUNDS_DEG
    rom = dict(plan.pain_free_rom_deg)
    for d, v in measured.items():
        if d in rom and v is not None:
            rom[d] = float(min(rom[d], max(lo, min(hi, v))))
    return plan.adjusted(pain_free_rom_deg=rom), measured


def store_training_session(store: Store, device: str, plan: Plan, engine, record: dict) -> int:
    """Store a finished training session as a clinical-store session with a ``training`` test."""
    store.ensure_patient(plan.patient)
    cal = engine.calibration
    session_id = store.add_session(device, plan.patient, calibration=None if cal is None else cal.to_dict(),
                                   notes="training session")
    scores = {k: record.get(k) for k in ("level", "mode", "stopped", "reason", "n_trials", "ae_deg",
                                        "ae_by_direction_deg", "estimate_agreement", "pain_before",
                                        "pain_after", "tracking")}
    trials = [{k: v for k, v in t.items() if k != "window"} for t in engine.relocation_trials()]
    return store.add_test(session_id, "training", f"level-{record['level']}", plan.as_dict(), scores,
                          record, trials, preset_title=f"Home training, level {record['level']}")
