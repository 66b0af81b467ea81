"""Result documents (plain data, stored and printed as JSON) and text tables for every test.

Every document has ``test`` (jpe, thp, rom, butterfly, trace), ``engine``, ``preset``,
``preset_title``, ``reliability_note``, ``device``, ``settings``, ``scores``, ``trials`` and
``calibration``; per kind:

- jpe, thp: ``directions`` (per-direction AE, CE, VE, RMSE, global AE, flag), ``overall``
  (:func:`cervitrack.trainer.clinical.scoring.summary_scores`), ``threshold_deg``, ``threshold_source``,
  ``sign_convention``, ``ve_denominator``; trials carry ``true_error_deg`` on the simulator;
- rom: per-direction ``max_deg``/``mean_deg``/``sd_deg``, per-plane totals, the references and
  the note on norms;
- butterfly: ``levels`` (per level and per repetition) and, over every valid run of every
  level, ``aa_deg``, ``time_on_target_pct``, ``undershoot_pct``, ``overshoot_pct``;
- trace: per pattern time, error count and magnitude, with the published cut-offs for
  orientation.

The product measures; it does not diagnose. Flags are screening aids with a cited source.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from cervitrack.trainer.clinical import scoring
from cervitrack.trainer.clinical.butterfly import SCORE_KEYS as BUTTERFLY_KEYS
from cervitrack.trainer.clinical.jpe_report import SCORE_KEYS

SIGN_CONVENTION = {
    "jpe": "CE > 0: overshoot (past neutral in the direction of the return movement); CE < 0: undershoot",
    "thp": "CE > 0: past the target (further than it, in the direction of the movement towards it); "
           "CE < 0: short of the target",
}
MEASURED_NOT_DIAGNOSED = ("Cervitrack measures; it does not diagnose. Flags are screening aids "
                          "for the clinician, not findings.")


def _num(x):
    if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
        return None
    return float(x) if isinstance(x, np.floating) else x


def _settings_dict(settings) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(settings).items()}


def _jpe_like(engine, doc: dict) -> None:
    scores = engine.scores()
    s = engine.settings
    doc["directions"] = {d: {k: _num(sc[k]) for k in SCORE_KEYS} | {"flag": sc["flag"]}
                         | ({"target_deg": sc["target_deg"]} if "target_deg" in sc else {})
                         for d, sc in scores.items()}
    valid = [tr for tr in engine.trials if tr["valid"]]
    signed = {d: [tr["signed_error_deg"] for tr in valid if tr["direction"] == d] for d in scores}
    glob = {d: [tr["error_deg"]["global"] for tr in valid if tr["direction"] == d] for d in scores}
    overall = scoring.summary_scores(scores, signed, glob, s.threshold_deg)
    doc["overall"] = {k: _num(v) for k, v in overall.items()}
    doc["threshold_deg"] = s.threshold_deg
    doc["threshold_source"] = scoring.threshold_source(s.threshold_deg)
    doc["sign_convention"] = SIGN_CONVENTION[doc["test"]]
    doc["ve_denominator"] = scoring.VE_DENOMINATOR
    doc["scores"] = {"directions": doc["directions"], "overall": doc["overall"]}


def _butterfly(engine, doc: dict) -> None:
    doc["levels"] = engine.scores()
    runs = [tr for tr in engine.trials if tr["valid"]]
    for k in BUTTERFLY_KEYS:
        vals = [tr[k] for tr in runs if tr.get(k) is not None and np.isfinite(tr[k])]
        doc[k] = float(np.mean(vals)) if vals else None
    doc["radius_deg"] = engine.settings.radius_deg
    doc["scores"] = {"levels": doc["levels"], **{k: doc[k] for k in BUTTERFLY_KEYS}}


def _title(preset, settings) -> str:
    try:
        from cervitrack.trainer.clinical.presets import title_for
    except ImportError:  # the protocols are an optional part of the package
        return preset.title
    return title_for(preset, settings)


def result_document(kind: str, preset, engine, device: str = "sim", truth=None) -> dict:
    """The result of a finished test as plain data (see the module docstring)."""
    trials = []
    for tr in engine.trials:
        item = dict(tr)
        if truth is not None:
            true = truth(tr)
            if true is not None:
                item["true_error_deg" if kind in ("jpe", "thp") else "truth"] = (
                    true.get("error_deg", true) if kind in ("jpe", "thp") else true)
        trials.append(item)
    doc = {"test": kind, "engine": engine.name, "preset": preset.name,
           "preset_title": _title(preset, engine.settings), "reliability_note": preset.reliability_note,
           "device": device, "settings": _settings_dict(engine.settings), "trials": trials,
           "calibration": None if engine.calibration is None else engine.calibration.quality,
           "note": MEASURED_NOT_DIAGNOSED}
    if kind in ("jpe", "thp"):
        _jpe_like(engine, doc)
    elif kind == "butterfly":
        _butterfly(engine, doc)
    else:
        doc["scores"] = engine.scores()
    return doc


# ------------------------------------------------------------------------------ text tables
def _f(v, width=8, digits=2):
    return f"{v:{width}.{digits}f}" if isinstance(v, (int, float)) and v is not None else f"{'-':>{width}}"


def _count(mean_count, n) -> str:
    """An error count: an integer for one run, the mean (one decimal) over several."""
    if mean_count is None:
        return f"{'-':>8}"
    return f"{int(round(mean_count)):>8d}" if n == 1 else f"{mean_count:8.1f}"


def format_table(doc: dict) -> str:
    """A plain-text summary of a result document."""
    kind = doc["test"]
    lines = [f"{doc['preset_title']} (preset {doc['preset']}), device {doc['device']}"]
    if doc.get("reliability_note"):
        lines.append(f"Note: {' '.join(doc['reliability_note'].split())}")
    lines.append("")
    if kind in ("jpe", "thp"):
        head = f"{'direction':<16}{'n':>3}{'AE':>8}{'CE':>8}{'VE':>8}{'RMSE':>8}{'3D AE':>8}  flag"
        if kind == "thp":
            head = f"{'direction':<16}{'target':>7}{head[16:]}"
        lines += [head, "-" * len(head)]
        rows = list(doc["directions"].items()) + [("overall", doc["overall"])]
        for d, s in rows:
            flag = f"AE > {doc['threshold_deg']:.1f}" if s.get("flag") and d != "overall" else ""
            tgt = f"{s['target_deg']:7.1f}" if kind == "thp" and "target_deg" in s else (" " * 7 if kind == "thp" else "")
            lines.append(f"{d:<16}{tgt}{s['n']:>3}{_f(s['ae_deg'])}{_f(s['ce_deg'])}{_f(s['ve_deg'])}"
                         f"{_f(s['rmse_deg'])}{_f(s['global_ae_deg'])}  {flag}")
        lines += ["", f"Degrees. {doc['sign_convention']}. VE uses the n denominator "
                  "(RMSE² = CE² + VE²).",
                  f"Flag threshold {doc['threshold_deg']:.1f}° ({doc['threshold_source']}).",
                  f"Trials redone after being invalid: {sum(1 for t in doc['trials'] if not t['valid'])}."]
    elif kind == "rom":
        sc = doc["scores"]
        head = f"{'direction':<16}{'n':>3}{'max':>8}{'mean':>8}{'SD':>8}"
        lines += [head, "-" * len(head)]
        for d, s in sc["directions"].items():
            # SD needs two repetitions (main's rom scores give None below that).
            sd = _f(s["sd_deg"]) if s["sd_deg"] is not None and (s.get("n") or 0) >= 2 else f"{'n/a':>8}"
            lines.append(f"{d:<16}{s['n']:>3}{_f(s['max_deg'])}{_f(s['mean_deg'])}{sd}")
        lines.append("")
        for plane, p in sc["planes"].items():
            lines.append(f"total {plane.replace('_', '/')}: {p['total_deg']:.1f}°")
        lines += ["", "Degrees, from the re-centred neutral. " + sc["norms_note"],
                  "References: " + "; ".join(sc["references"]) + "."]
    elif kind == "butterfly":
        head = f"{'level':<8}{'n':>3}{'AA':>8}{'ToT %':>8}{'US %':>8}{'OS %':>8}{'jerk':>10}{'PLR':>7}"
        lines += [head, "-" * len(head)]
        for level, s in doc["levels"].items():
            lines.append(f"{level:<8}{s['n']:>3}{_f(s['aa_deg'])}{_f(s['time_on_target_pct'], 8, 1)}"
                         f"{_f(s['undershoot_pct'], 8, 1)}{_f(s['overshoot_pct'], 8, 1)}"
                         f"{_f(s['normalised_jerk'], 10, 0)}{_f(s['path_length_ratio'], 7)}")
        lines.append(f"{'all':<8}{'':>3}{_f(doc['aa_deg'])}{_f(doc['time_on_target_pct'], 8, 1)}"
                     f"{_f(doc['undershoot_pct'], 8, 1)}{_f(doc['overshoot_pct'], 8, 1)}")
        lines += ["", f"AA in deg of visual angle; on target within {doc['radius_deg']:.1f}°; "
                  "US behind the target, OS ahead of it; ToT + US + OS = 100 %.",
                  "No validated norms exist for these trajectories (our own design)."]
    elif kind == "trace":
        head = f"{'pattern':<9}{'n':>3}{'time s':>8}{'errors':>8}{'mag °·s':>9}{'mean °':>8}  done"
        lines += [head, "-" * len(head)]
        for p, s in doc["scores"].items():
            lines.append(f"{p:<9}{s['n']:>3}{_f(s['time_s'], 8, 1)}{_count(s['error_count'], s['n'])}"
                         f"{_f(s['error_magnitude_deg_s'], 9)}{_f(s['mean_excess_deg'])}  "
                         f"{'yes' if s['completed'] else 'no'}")
        lines += [""] + [f"Published cut-off ({p}, physical laser test): {s['published_cutoff']['errors']} "
                         f"errors, {s['published_cutoff']['source']}; not validated for this emulation."
                         for p, s in doc["scores"].items()]
    lines.append(MEASURED_NOT_DIAGNOSED)
    return "\n".join(lines)
