"""Turn a finished JPE test into the result document and a readable table.

The JSON form (``cervitrack demo --json``)::

    {"test": "jpe-neutral", "device": "sim",
     "directions": {DIR: {"n", "ae_deg", "ce_deg", "ve_deg", "rmse_deg", "global_ae_deg"}},
     "trials": [{"direction", "valid", "error_deg": {"axial", "flexion", "lateral", "global"},
                 "true_error_deg": {same keys}}]}

``true_error_deg`` is present when the device is the simulator (ground truth over the same
frames the measurement used).
"""

from __future__ import annotations

import math

from cervitrack.trainer.clinical import scoring

SCORE_KEYS = ("n", "ae_deg", "ce_deg", "ve_deg", "rmse_deg", "global_ae_deg")


def _num(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def result_document(engine, device: str = "sim", truth=None) -> dict:
    """The result as plain data.

    Args:
        engine: a finished :class:`~cervitrack.trainer.clinical.jpe.JpeTest`.
        device: the device spec, e.g. "sim".
        truth: callable trial → true error dict (or None), for the simulator.
    """
    scores = engine.scores()
    trials = []
    for tr in engine.trials:
        item = {"direction": tr["direction"], "valid": tr["valid"]}
        if "error_deg" in tr:
            item["error_deg"] = dict(tr["error_deg"])
            item["signed_error_deg"] = tr["signed_error_deg"]
        if tr.get("reason"):
            item["reason"] = tr["reason"]
        if truth is not None:
            true_error = truth(tr)
            if true_error is not None:
                item["true_error_deg"] = true_error
        if "ref_window" in tr:
            item["windows"] = {"reference": tr["ref_window"], "relocation": tr["ret_window"]}
        trials.append(item)
    threshold = engine.settings.threshold_deg
    return {
        "test": engine.name,
        "device": device,
        "directions": {d: {k: _num(s[k]) for k in SCORE_KEYS} | {"flag": s["flag"]}
                       for d, s in scores.items()},
        "trials": trials,
        "threshold_deg": threshold,
        "threshold_source": scoring.THRESHOLD_SOURCES.get(threshold, "user setting"),
        "ve_denominator": scoring.VE_DENOMINATOR,
        "sign_convention": "CE > 0: overshoot (past the target); CE < 0: undershoot",
        "calibration": None if engine.calibration is None else engine.calibration.quality,
    }


def _cell(v) -> str:
    return f"{v:8.2f}" if v is not None else f"{'-':>8}"


def format_table(doc: dict) -> str:
    """A plain-text table of the per-direction scores."""
    lines = [f"Joint position error test ({doc['test']}), device {doc['device']}", ""]
    header = f"{'direction':<16}{'n':>3}{'AE':>8}{'CE':>8}{'VE':>8}{'RMSE':>8}{'3D AE':>8}  flag"
    lines += [header, "-" * len(header)]
    for d, s in doc["directions"].items():
        cells = "".join(_cell(s[key]) for key in ("ae_deg", "ce_deg", "ve_deg", "rmse_deg",
                                                   "global_ae_deg"))
        flag = f"AE > {doc['threshold_deg']:.1f}" if s["flag"] else ""
        lines.append(f"{d:<16}{s['n']:>3}{cells}  {flag}")
    invalid = sum(1 for t in doc["trials"] if not t["valid"])
    lines += ["", "Degrees. CE > 0 overshoot, < 0 undershoot. VE uses the n denominator "
              "(RMSE² = CE² + VE²).",
              f"Flag threshold {doc['threshold_deg']:.1f}° ({doc['threshold_source']}): a "
              "screening aid, not a diagnosis.",
              f"Trials redone after being invalid: {invalid}."]
    return "\n".join(lines)
