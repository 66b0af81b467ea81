"""The therapist report of a stored session, as HTML or PDF (no browser needed).

Contents: a title naming the test(s), patient, date, device and software (SIMULATED in red
when the session ran on the simulated headset); per test a section headed with its readable
name and the trial count actually run: the scores table (JPE and target JPE per direction plus
the overall row, AE coloured against cited cut-points; ROM with SD "n/a" below two
repetitions; tracking per level and repetition; tracing with integer error counts), the trials
recorded, valid and redone with their reasons, the figures, and the footnote of that test
kind with full references; then the patient's session history (one row per session, the tests
inside it) and the AE trend. The wording states measurements, never a diagnosis.

The report is a list of blocks (text, table, figure). HTML joins them (tables with ``thead``
and ``page-break-inside: avoid`` for a browser's print). The PDF is laid out here, page by
page, on ``QPdfWriter`` (A4): every page has a header (report title, patient, session date)
and a footer ("page 2 of 4", and SIMULATED when simulated); a heading stays with what follows
it; a table that does not fit is moved whole to the next page when small, else split with its
header row repeated and "(continued)"; a figure that does not fit is shrunk (down to 70 %) or
moved with its caption.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cervitrack.trainer.clinical.names import display_name
from cervitrack.trainer.clinical.results import MEASURED_NOT_DIAGNOSED
from cervitrack.trainer.report import citations as cite
from cervitrack.trainer.stores.sessions import Store

SAFETY = ("Stop any test or exercise on pain, dizziness or nausea. Red-flag symptoms (for example "
          "dizziness, double vision, difficulty speaking or swallowing, drop attacks, nausea, "
          "numbness, nystagmus) need a clinician's assessment.")
#: What each test kind is called in a report title.
KIND_TITLES = {"jpe": "Joint position error test", "thp": "Joint position error test",
               "rom": "Range of motion", "butterfly": "Movement-sense tracking test",
               "trace": "Pattern tracing test", "training": "Home training"}
DIRECTION_NAMES = {"rotation_left": "rotation left", "rotation_right": "rotation right",
                   "flexion": "flexion", "extension": "extension",
                   "lateral_left": "lateral flexion left", "lateral_right": "lateral flexion right"}
#: Date format of the report (QLocale pattern: month names in the locale's language).
DATE_TIME_FORMAT = "d MMM yyyy, HH:mm"
DATE_FORMAT = "d MMM yyyy"


def ensure_app():
    """A QGuiApplication (offscreen when there is no display).

    It is created as a QApplication (a QGuiApplication subclass): a process can hold only one
    application object, and a plain QGuiApplication would make every later widget (GUI,
    pyqtgraph figures) abort the process."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    return QGuiApplication.instance() or QApplication([])


# ------------------------------------------------------------------------------ words
def format_datetime(iso_utc: str, with_time: bool = True, locale=None) -> str:
    """A stored UTC timestamp as people read it, in the computer's local time zone and the
    locale's month names: "5 Dec 2026, 14:03" (``locale``: a QLocale, default the system's)."""
    from PySide6.QtCore import QDate, QDateTime, QLocale, QTime

    t = _dt.datetime.fromisoformat(iso_utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    local = t.astimezone()
    qt = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute))
    return (locale or QLocale()).toString(qt, DATE_TIME_FORMAT if with_time else DATE_FORMAT)


def report_title(kinds: list[str]) -> str:
    """The report's title, naming the test: "Joint position error test — report"."""
    names = list(dict.fromkeys(KIND_TITLES.get(k, k) for k in kinds))
    if len(names) == 1:
        return f"{names[0]} — report"
    return "Neck sensorimotor tests — report" if names else "Session — report"


def is_simulated(session: dict) -> bool:
    """The session's ``simulated`` flag, else whether it ran on the simulated device."""
    if session.get("simulated") is not None:
        return bool(session["simulated"])
    return str(session.get("device", "")).strip().lower() == "sim"


def trial_count_text(t: dict) -> str:
    """The trials actually run, from the stored settings: "2 trials per direction"."""
    s = t.get("settings") or {}
    if t["kind"] in ("butterfly", "trace") and "repetitions" in s:
        n = int(s["repetitions"])
        return f"{n} repetition{'s' if n != 1 else ''}" + (" per level" if t["kind"] == "butterfly" else " per pattern")
    if t["kind"] in ("jpe", "thp", "rom") and "trials_per_direction" in s:
        n = int(s["trials_per_direction"])
        word = "repetition" if t["kind"] == "rom" else "trial"
        return f"{n} {word}{'s' if n != 1 else ''} per direction"
    return ""


def test_heading(t: dict) -> str:
    res = t.get("result") or {}
    name = display_name(t.get("preset"), t.get("preset_title") or res.get("preset_title"), t["kind"])
    count = trial_count_text(t)
    return f"{name} ({count})" if count else name


def _e(x) -> str:
    return html.escape(str(x))


def _n(v, digits=1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _i(v) -> str:
    """A count as an integer."""
    return "–" if v is None else str(int(round(float(v))))


def _dir(d: str) -> str:
    return DIRECTION_NAMES.get(d, d.replace("_", " "))


# ------------------------------------------------------------------------------ data
def report_data(store: Store, session_id: int) -> dict:
    """Everything the report shows, as plain data."""
    session = store.session(session_id)
    if session is None:
        raise ValueError(f"no session {session_id} in the sessions store (see `cervitrack sessions`)")
    patient = store.patient(session["patient_id"]) if session["patient_id"] else None
    tests = store.tests(session_id)
    history: dict = {}
    sessions: list[dict] = []
    if patient:
        for kind in sorted({t["kind"] for t in tests} & {"jpe", "thp"}):
            history[kind] = store.history(patient["id"], kind)
        for s in store.sessions(patient["id"]):
            if s["started_utc"] <= session["started_utc"] or s["id"] == session_id:
                sessions.append({**s, "tests": store.tests(s["id"])})
    return {"session": session, "patient": patient, "tests": tests, "history": history,
            "sessions": sessions}


# ------------------------------------------------------------------------------ figures
def build_images(data: dict) -> dict:
    """name → QImage for every figure of the report."""
    from cervitrack.trainer.report import plots
    ensure_app()
    images = {}
    for t in data["tests"]:
        tid, res = t["id"], t["result"] or {}
        if t["kind"] in ("jpe", "thp"):
            images[f"scatter-{tid}"] = plots.scatter_image(t["trials"], 90.0, res.get("threshold_deg", 4.5))
        elif t["kind"] == "butterfly":
            runs = [x for x in t["trials"] if x.get("valid") and x.get("trace")]
            if runs:
                images[f"tracking-{tid}"] = plots.tracking_image(runs)
        elif t["kind"] == "trace":
            runs = [x for x in t["trials"] if x.get("valid") and x.get("trace")]
            if runs:
                images[f"trace-{tid}"] = plots.trace_image(runs)
        elif t["kind"] == "rom":
            images[f"rom-{tid}"] = plots.rom_image(t["scores"]["directions"])
    for kind, hist in data["history"].items():
        if len(hist) >= 2:
            thr = next((t["result"].get("threshold_deg") for t in data["tests"] if t["kind"] == kind), None)
            labels = [f"#{h['session_id']} {format_datetime(h['started_utc'], with_time=False)}" for h in hist]
            images[f"history-{kind}"] = plots.history_image(hist, threshold_deg=thr, labels=labels)
    return images


# ------------------------------------------------------------------------------ blocks
TABLE = '<table border="1" cellspacing="0" cellpadding="3" width="100%" style="border-collapse: collapse;">'


@dataclass
class Block:
    """One unit of the report. ``kind``: "text" (``html``), "table" (``caption`` above,
    ``head`` row, ``rows``, ``note`` below: split only between rows, the head repeated) or
    "figure" (image ``image`` at ``width`` px with ``caption`` below; shrunk or moved whole)."""

    kind: str
    html: str = ""
    keep_with_next: bool = False
    caption: str = ""
    head: str = ""
    rows: list[str] = field(default_factory=list)
    note: str = ""
    image: str = ""
    width: int = 0
    continued: bool = False


def _heading(text: str, level: int = 2) -> Block:
    return Block("text", f"<h{level}>{_e(text)}</h{level}>", keep_with_next=True)


def _tr(cells, bold=False, colours=None, align=None) -> str:
    out = []
    for k, c in enumerate(cells):
        bg = (colours or {}).get(k)
        attr = f' bgcolor="{cite.BAND_COLOURS[bg]}"' if bg else ""
        attr += f' align="{align[k]}" style="text-align:{align[k]};"' if align and k in align else ""
        out.append(f"<td{attr}>{'<b>' + c + '</b>' if bold else c}</td>")
    return "<tr>" + "".join(out) + "</tr>"


def _head(cells) -> str:
    return "<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>"


def _trials_line(t: dict) -> str:
    trials = t["trials"]
    valid = sum(1 for x in trials if x.get("valid"))
    redone = len(trials) - valid
    line = (f"Trials: {len(trials)} recorded, {valid} valid"
            + (f", {redone} not counted" if redone else ", none redone"))
    if redone:
        reasons = Counter(x.get("reason") or "no reason recorded" for x in trials if not x.get("valid"))
        line += " (" + "; ".join(f"{_e(r)}: {n}" for r, n in reasons.most_common()) + ")"
    res = t.get("result") or {}
    if res.get("aborted") or res.get("stopped"):
        line += f". <b>Stopped early</b>: {_e(res.get('aborted') or res.get('stopped'))}"
    return line + "."


def _jpe_blocks(t: dict) -> list[Block]:
    res, sc = t["result"] or {}, t["scores"]
    thp = t["kind"] == "thp"
    thr = res.get("threshold_deg")
    rows = []
    for d, s in sc["directions"].items():
        flag = "above threshold" if s.get("flag") else ""
        cells = [_e(_dir(d)), *([_n(s.get("target_deg"))] if thp else []), _i(s["n"]), _n(s["ae_deg"]),
                 _n(s["ce_deg"]), _n(s["ve_deg"]), _n(s["rmse_deg"]), _n(s["global_ae_deg"]), flag]
        band = cite.ae_band(s["ae_deg"])
        rows.append(_tr(cells, colours={3 if thp else 2: band} if band else None))
    o = sc.get("overall")
    if o:
        cells = ["overall (all trials)", *([""] if thp else []), _i(o.get("n")), _n(o.get("ae_deg")),
                 _n(o.get("ce_deg")), _n(o.get("ve_deg")), _n(o.get("rmse_deg")), _n(o.get("global_ae_deg")), ""]
        band = cite.ae_band(o.get("ae_deg"))
        rows.append(_tr(cells, bold=True, colours={3 if thp else 2: band} if band else None))
    head = _head(["direction", *(["target °"] if thp else []), "n", "AE °", "CE °", "VE °", "RMSE °",
                  "3D AE °", "flag"])
    thr_ref = cite.threshold_reference(thr)
    note = (f"<p>{_trials_line(t)}</p><p class='foot'>Degrees. AE absolute, CE constant, VE variable error "
            "(n denominator, so RMSE² = CE² + VE²); 3D AE: the angle between the two head poses. "
            f"{_e(res.get('sign_convention', ''))}. Flag: AE above {_n(thr)}° in a direction "
            f"({_e(cite.SHORT.get(thr_ref, thr_ref))}). AE colours: green below {cite.AE_GREEN_BELOW_DEG}° "
            f"({cite.SHORT[cite.SMULLIGAN_2025]}), amber {cite.AE_GREEN_BELOW_DEG}–{cite.AE_RED_ABOVE_DEG}°, "
            f"red above {cite.AE_RED_ABOVE_DEG}° ({cite.SHORT[cite.REVEL_1994]}). A flag is a screening aid, "
            "not a finding.</p>")
    out = [_heading(test_heading(t))]
    if res.get("reliability_note"):
        out.append(Block("text", f"<p><i>{_e(' '.join(res['reliability_note'].split()))}</i></p>", keep_with_next=True))
    out.append(Block("table", caption="<p><b>Relocation errors per direction</b></p>", head=head, rows=rows, note=note))
    out.append(Block("figure", image=f"scatter-{t['id']}", width=400,
                     caption=f"{test_heading(t)}: relocation errors as on the wall in front of the patient: the patient's right "
                             "to the right, up is up (an extension error, head up, lies above the centre)."))
    return out


def _rom_blocks(t: dict) -> list[Block]:
    sc = t["scores"]
    rows = [_tr([_e(_dir(d)), _i(s["n"]), _n(s["max_deg"]), _n(s["mean_deg"]),
                 _n(s["sd_deg"]) if (s.get("n") or 0) >= 2 else "n/a"])
            for d, s in sc["directions"].items()]
    planes = ", ".join(f"{p.replace('_', ' ')} {v['total_deg']:.0f}°" for p, v in sc["planes"].items())
    note = (f"<p>Total range per plane: {_e(planes)}. {_trials_line(t)}</p>"
            "<p class='foot'>Degrees: the largest active range reached per direction; SD needs at least two "
            "repetitions (n/a otherwise). No age-matched norm band is applied; published values: "
            f"{_e(cite.SHORT[cite.SWINKELS_2014])} (400 asymptomatic adults, 20–60 years); "
            f"{_e(cite.SHORT[cite.NIEDERER_2015])} (flexion/extension range falls 10.2° per decade).</p>")
    return [_heading(test_heading(t)),
            Block("table", caption="<p><b>Active range of motion per direction</b></p>",
                  head=_head(["direction", "n", "max °", "mean °", "SD °"]), rows=rows, note=note),
            Block("figure", image=f"rom-{t['id']}", width=400, caption=f"{test_heading(t)}: largest range reached per direction.")]


def _butterfly_blocks(t: dict) -> list[Block]:
    res = t["result"] or {}
    rows = []
    for level, s in t["scores"]["levels"].items():
        rows.append(_tr([f"{_e(level)} (mean of {_i(s['n'])})", _n(s["aa_deg"], 2), _n(s["time_on_target_pct"]),
                         _n(s["undershoot_pct"]), _n(s["overshoot_pct"])], bold=True))
        for r in s["repetitions"]:
            rows.append(_tr([f"repetition {r['repetition'] + 1}", _n(r["aa_deg"], 2), _n(r["time_on_target_pct"]),
                             _n(r["undershoot_pct"]), _n(r["overshoot_pct"])]))
    if res.get("aa_deg") is not None:
        rows.append(_tr(["overall (all valid runs)", _n(res.get("aa_deg"), 2), _n(res.get("time_on_target_pct")),
                         _n(res.get("undershoot_pct")), _n(res.get("overshoot_pct"))], bold=True))
    note = (f"<p>{_trials_line(t)}</p><p class='foot'>AA (amplitude accuracy): mean distance between the dot and "
            f"the moving target, degrees of visual angle; on target within {_n(res.get('radius_deg'))}°; "
            "undershoot: off target behind it, overshoot: ahead of it. The test follows the Fly "
            f"({_e(cite.SHORT[cite.KRISTJANSSON_2004])}) on Cervitrack's own paths: no published norm "
            "applies, so no colours.</p>")
    out = [_heading(test_heading(t)),
           Block("table", caption="<p><b>Tracking per level and repetition</b></p>",
                 head=_head(["level", "AA °", "time on target %", "undershoot %", "overshoot %"]), rows=rows, note=note)]
    if any(x.get("valid") and x.get("trace") for x in t["trials"]):
        out.append(Block("figure", image=f"tracking-{t['id']}", width=620,
                         caption=f"{test_heading(t)}: target path (grey) and the dot (blue), every panel on the same scale."))
    return out


def _trace_blocks(t: dict) -> list[Block]:
    rows = []
    for p, s in t["scores"].items():
        runs = [x for x in t["trials"] if x.get("valid") and x.get("pattern") == p]
        for r in runs:
            rows.append(_tr([f"{_e(p)}, repetition {int(r.get('repetition', 0)) + 1}", _n(r.get("time_s")),
                             _i(r.get("error_count")), _n(r.get("error_magnitude_deg_s"), 2),
                             _n(r.get("mean_excess_deg"), 2), "yes" if r.get("completed") else "no"]))
        if len(runs) != 1:
            # A mean of counts may be fractional: labelled as a mean, one decimal.
            rows.append(_tr([f"{_e(p)}, mean of {_i(s['n'])}", _n(s["time_s"]), _n(s["error_count"]),
                             _n(s["error_magnitude_deg_s"], 2), _n(s["mean_excess_deg"], 2),
                             "yes" if s["completed"] else "no"], bold=True))
    cut = "; ".join(f"{_e(p)} {_i(s['published_cutoff']['errors'])} errors" for p, s in t["scores"].items()
                    if s.get("published_cutoff"))
    note = (f"<p>{_trials_line(t)}</p><p class='foot'>Errors: departures from the band around the pattern "
            "(a count); magnitude: the time-integral of the distance outside the band. Published cut-offs "
            f"of the physical laser test ({_e(cite.SHORT[cite.ERNST_2019])}): {cut}; for orientation only, "
            "this emulation is not validated against them.</p>")
    out = [_heading(test_heading(t)),
           Block("table", caption="<p><b>Pattern tracing</b></p>",
                 head=_head(["pattern", "time s", "errors", "magnitude °·s", "mean excess °", "completed"]),
                 rows=rows, note=note)]
    if any(x.get("valid") and x.get("trace") for x in t["trials"]):
        out.append(Block("figure", image=f"trace-{t['id']}", width=520 if len(t["trials"]) > 1 else 380,
                         caption=f"{test_heading(t)}: the pattern with its band (grey) and the dot's path (blue)."))
    return out


def _training_blocks(t: dict) -> list[Block]:
    return [_heading(test_heading(t)),
            Block("text", f"<p>{_trials_line(t)} The training diary and progress are in "
                          "<code>cervitrack train progress</code>.</p>")]


def _test_summary(t: dict) -> str:
    """One line of a test inside the session history."""
    sc, res = t.get("scores") or {}, t.get("result") or {}
    name = display_name(t.get("preset"), t.get("preset_title") or res.get("preset_title"), t["kind"])
    if t["kind"] in ("jpe", "thp") and sc.get("overall"):
        o = sc["overall"]
        detail = f"AE {_n(o.get('ae_deg'))}° over {_i(o.get('n'))} trials"
    elif t["kind"] == "rom" and sc.get("planes"):
        detail = ", ".join(f"{p.replace('_', ' ')} {v['total_deg']:.0f}°" for p, v in sc["planes"].items())
    elif t["kind"] == "butterfly" and res.get("aa_deg") is not None:
        detail = f"AA {_n(res['aa_deg'], 2)}°, on target {_n(res.get('time_on_target_pct'), 0)} %"
    elif t["kind"] == "trace" and sc:
        detail = ", ".join(f"{p} {_i(s.get('error_count'))} errors" for p, s in sc.items() if isinstance(s, dict))
    else:
        detail = ""
    if res.get("aborted") or res.get("stopped"):
        detail += " (stopped early)"
    return _e(name) + (f": {_e(detail)}" if detail else "")


def build_blocks(data: dict, title: str) -> list[Block]:
    s, p = data["session"], data["patient"]
    who = "unknown"
    if p:
        who = _e(p["id"]) + (f" ({_e(p['name'])})" if p.get("name") else "") + (
            f", born {p['birth_year']}" if p.get("birth_year") else "")
    info = s.get("device_info") or {}
    device = _e(s["device"]) + (f" ({_e(info.get('name', ''))}, {_e(info.get('protocol', ''))}, "
                                f"{_e(info.get('output', ''))})" if info else "")
    cal = s.get("calibration") or {}
    quality = cal.get("quality") or {}
    blocks = [Block("text", f"<h1>{_e(title)}</h1>")]
    if is_simulated(s):
        blocks.append(Block("text", "<table width='100%' cellpadding='6' border='0'><tr><td bgcolor='#b00000'>"
                                    "<font color='white' size='+1'><b>SIMULATED</b>: these results come from the "
                                    "simulated headset and a virtual patient, not from a person.</font>"
                                    "</td></tr></table>"))
    blocks.append(Block("text",
        f"<p><b>Patient:</b> {who}<br><b>Session:</b> {s['id']}, {_e(format_datetime(s['started_utc']))}"
        f"<br><b>Tests:</b> {_e(', '.join(test_heading(t) for t in data['tests']) or 'none stored')}"
        f"<br><b>Device:</b> {device}<br><b>Software:</b> Cervitrack {_e(s['software_version'])}"
        + (f"<br><b>Calibration:</b> quality score {quality.get('score', 0):.0f}/100"
           f"{'' if quality.get('ok', True) else ' (below the quality target)'}" if quality else "")
        + (f"<br><b>Raw trace:</b> {_e(s['raw_trace_path'])}" if s.get("raw_trace_path") else "") + "</p>"
        f"<p><i>{_e(MEASURED_NOT_DIAGNOSED)}</i></p>"))
    sections = {"jpe": _jpe_blocks, "thp": _jpe_blocks, "rom": _rom_blocks, "butterfly": _butterfly_blocks,
                "trace": _trace_blocks}
    for t in data["tests"]:
        blocks += sections.get(t["kind"], _training_blocks)(t)
    if data.get("sessions"):
        rows = [_tr([_e(format_datetime(h["started_utc"])), _i(h["id"]) + (" (this)" if h["id"] == s["id"] else "")
                     + (" SIMULATED" if is_simulated(h) else ""),
                     "<br>".join(_test_summary(x) for x in h["tests"]) or "no test stored"], align={2: "left"})
                for h in data["sessions"]]
        blocks += [_heading("Session history"),
                   Block("table", caption=f"<p><b>Sessions of patient {_e(p['id'] if p else '')}, oldest first</b></p>",
                         head=_head(["date", "session", "tests"]), rows=rows)]
    for kind, hist in data["history"].items():
        if len(hist) >= 2:
            label = "neutral head position" if kind == "jpe" else "target head position"
            blocks += [_heading(f"AE trend, joint position error ({label})", 3),
                       Block("figure", image=f"history-{kind}", width=430,
                             caption="AE per direction across sessions. Changes smaller than the minimal detectable "
                                     "change (MDC95 ≈ 2.77·SEM; about 1.9–7.2° from the RMSE SEM of "
                                     f"{cite.SHORT[cite.LEE_2006]}) may be noise.")]
    refs = _references(data)
    if refs:
        blocks += [_heading("References"),
                   Block("text", "<ol>" + "".join(f"<li>{_e(r)}.</li>" for r in refs) + "</ol>")]
    blocks.append(Block("text", f"<p><b>Safety.</b> {_e(SAFETY)}</p>"))
    return blocks


def _references(data: dict) -> list[str]:
    kinds = {t["kind"] for t in data["tests"]}
    refs = []
    if kinds & {"jpe", "thp"}:
        refs += [cite.REVEL_1994, cite.SMULLIGAN_2025]
        if any(len(h) >= 2 for h in data["history"].values()):
            refs.append(cite.LEE_2006)
    if "rom" in kinds:
        refs += [cite.SWINKELS_2014, cite.NIEDERER_2015]
    if "butterfly" in kinds:
        refs.append(cite.KRISTJANSSON_2004)
    if "trace" in kinds:
        refs.append(cite.ERNST_2019)
    return refs


# ------------------------------------------------------------------------------ HTML
CSS = ("body{font-family:'DejaVu Sans',sans-serif;font-size:10pt;} th{background:#e8e8e8;} "
       "td,th{text-align:center;padding:2px 5px;} h1{font-size:17pt;margin:0 0 6px 0;} "
       "h2{font-size:13pt;margin:12px 0 4px 0;} h3{font-size:11pt;margin:10px 0 4px 0;} "
       "p{margin:3px 0;} .foot{font-size:8.5pt;color:#333333;} .cap{font-size:8.5pt;font-style:italic;}")


def _block_html(b: Block, img_src) -> str:
    if b.kind == "table":
        cont = " (continued)" if b.continued else ""
        caption = b.caption.replace("</b></p>", f"{cont}</b></p>") if cont else b.caption
        return (f"{caption}{TABLE}<thead>{b.head}</thead><tbody>{''.join(b.rows)}</tbody></table>"
                + b.note)
    if b.kind == "figure":
        src = img_src(b.image)
        if not src:
            return ""
        return (f'<p align="center"><img src="{src}" width="{b.width}"></p>'
                f'<p align="center" class="cap">{_e(b.caption)}</p>')
    return b.html


def render_html(data: dict, img_src) -> str:
    """The report as HTML; ``img_src(name)`` gives an image's src attribute."""
    title = report_title([t["kind"] for t in data["tests"]])
    s = data["session"]
    who = data["patient"]["id"] if data["patient"] else "unknown patient"
    parts = [f"<html><head><meta charset='utf-8'><title>Cervitrack: {_e(title)}</title><style>{CSS} "
             "thead{display:table-header-group;} table,img{page-break-inside:avoid;} "
             "h1,h2,h3{page-break-after:avoid;}</style></head><body>",
             f"<p class='foot'>Cervitrack · patient {_e(who)} · session {s['id']}, "
             f"{_e(format_datetime(s['started_utc']))}"
             + (" · <b><font color='#b00000'>SIMULATED</font></b>" if is_simulated(s) else "") + "</p>"]
    parts += [_block_html(b, img_src) for b in build_blocks(data, title)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _png_bytes(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def write_html(data: dict, path: Path) -> None:
    images = build_images(data)
    uris = {k: "data:image/png;base64," + base64.b64encode(_png_bytes(v)).decode() for k, v in images.items()}
    _write_private(path, render_html(data, uris.get).encode("utf-8"))


def _write_private(path: Path, data: bytes) -> None:
    """Write a report file: created 0600 (it holds health data); a file that exists keeps its
    mode (we never change the mode of what we did not create)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# ------------------------------------------------------------------------------ PDF
class _Pager:
    """Lays the blocks out on pages of ``height`` px and ``width`` px (writer pixels)."""

    def __init__(self, writer, images: dict, width: float, height: float):
        self.writer, self.images, self.width, self.height = writer, images, width, height
        self.pages: list[list[tuple[Any, float]]] = [[]]  # (QTextDocument, y px)
        self.y = 0.0

    def doc(self, html_text: str):
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QFont, QTextDocument

        d = QTextDocument()
        d.documentLayout().setPaintDevice(self.writer)
        font = QFont("DejaVu Sans")
        font.setPointSizeF(10)
        d.setDefaultFont(font)
        d.setDefaultStyleSheet(CSS)
        d.setDocumentMargin(0)
        for name, image in self.images.items():
            d.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"img:{name}"), image)
        d.setHtml(html_text)
        d.setTextWidth(self.width)
        return d

    def html(self, b: Block) -> str:
        return _block_html(b, lambda name: f"img:{name}" if name in self.images else None)

    def place(self, d) -> None:
        self.pages[-1].append((d, self.y))
        self.y += d.size().height() + 6

    def new_page(self) -> None:
        if self.pages[-1]:
            self.pages.append([])
            self.y = 0.0

    @property
    def room(self) -> float:
        return self.height - self.y

    def min_start(self, b: Block) -> float:
        """The least height that starts ``b`` on this page."""
        if b.kind == "table":
            full = self.doc(self.html(b)).size().height()
            if full <= self.height * 0.5:
                return full
            return self.doc(self.html(replace(b, rows=b.rows[:3], note=""))).size().height()
        d = self.doc(self.html(b)).size().height()
        return 0.7 * d if b.kind == "figure" else d

    def add(self, blocks: list[Block]) -> None:
        """Place the blocks section by section (a section starts at each level-2 heading): a
        section that fits on a page but not in the room left starts a new page, so a figure
        never lands alone, away from its heading and table."""
        sections: list[list[Block]] = []
        for b in blocks:
            if not sections or (b.keep_with_next and b.html.startswith("<h2")):
                sections.append([])
            sections[-1].append(b)
        for section in sections:
            height = sum(self.doc(self.html(b)).size().height() + 6 for b in section
                         if not (b.kind == "figure" and b.image not in self.images))
            if self.y > 0 and self.room < height <= self.height and not self.fits_shrunk(section):
                self.new_page()
            self.add_blocks(section)

    def fits_shrunk(self, section: list[Block]) -> bool:
        """Whether the section fits the room left with its figures at 70 %."""
        height = sum(self.doc(self.html(replace(b, width=int(b.width * 0.7)) if b.kind == "figure" else b))
                     .size().height() + 6 for b in section
                     if not (b.kind == "figure" and b.image not in self.images))
        return height <= self.room

    def add_blocks(self, blocks: list[Block]) -> None:
        for k, b in enumerate(blocks):
            if b.kind == "figure" and b.image not in self.images:
                continue
            if b.keep_with_next and k + 1 < len(blocks):
                d = self.doc(self.html(b))
                need = d.size().height() + self.min_start(blocks[k + 1])
                if need > self.room and self.y > 0:
                    self.new_page()
                self.place(d)
            elif b.kind == "table":
                self.table(b)
            elif b.kind == "figure":
                self.figure(b)
            else:
                d = self.doc(self.html(b))
                if d.size().height() > self.room and self.y > 0:
                    self.new_page()
                self.place(d)

    def table(self, b: Block) -> None:
        d = self.doc(self.html(b))
        if d.size().height() <= self.room:
            return self.place(d)
        if d.size().height() <= self.height * 0.5 and self.y > 0:
            self.new_page()
            return self.place(d)
        while True:
            d = self.doc(self.html(b))
            if d.size().height() <= self.room:
                return self.place(d)
            # The most rows that fit with the head row (and the caption) on this page.
            lo, hi = 0, len(b.rows)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                part = self.doc(self.html(replace(b, rows=b.rows[:mid], note="")))
                lo, hi = (mid, hi) if part.size().height() <= self.room else (lo, mid - 1)
            if lo < 2 and self.y > 0:
                self.new_page()
                continue
            lo = max(lo, 1)
            self.place(self.doc(self.html(replace(b, rows=b.rows[:lo], note=""))))
            self.new_page()
            b = replace(b, rows=b.rows[lo:], continued=True)

    def figure(self, b: Block) -> None:
        d = self.doc(self.html(b))
        h = d.size().height()
        if h <= self.room:
            return self.place(d)
        for scale in (0.9, 0.8, 0.7):
            small = self.doc(self.html(replace(b, width=int(b.width * scale))))
            if small.size().height() <= self.room:
                return self.place(small)
        self.new_page()
        while d.size().height() > self.room and b.width > 100:
            b = replace(b, width=int(b.width * 0.9))
            d = self.doc(self.html(b))
        self.place(d)


def write_pdf(data: dict, path: Path) -> int:
    """Write the PDF; returns the number of pages."""
    ensure_app()
    from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

    images = build_images(data)
    title = report_title([t["kind"] for t in data["tests"]])
    s, p = data["session"], data["patient"]
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(96)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 12, 15, 12), QPageLayout.Unit.Millimeter))
    writer.setTitle(f"Cervitrack: {title}")
    writer.setCreator("Cervitrack")
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    header_h, footer_h = 40.0, 30.0
    pager = _Pager(writer, images, rect.width(), rect.height() - header_h - footer_h)
    pager.add(build_blocks(data, title))
    pages = [pg for pg in pager.pages if pg]
    who = f"Patient {p['id']}" if p else "Patient unknown"
    when = format_datetime(s["started_utc"])
    simulated = is_simulated(s)
    painter = QPainter(writer)
    small = QFont("DejaVu Sans")
    small.setPointSizeF(8.5)
    bold = QFont(small)
    bold.setBold(True)
    w = rect.width()
    try:
        for n, page in enumerate(pages, 1):
            if n > 1:
                writer.newPage()
            painter.setPen(QColor("#333333"))
            painter.setFont(bold)
            painter.drawText(QRectF(0, 0, w * 0.55, 18), Qt.AlignmentFlag.AlignLeft, f"Cervitrack · {title}")
            painter.setFont(small)
            painter.drawText(QRectF(w * 0.45, 0, w * 0.55, 18), Qt.AlignmentFlag.AlignRight,
                             f"{who} · session {s['id']} · {when}")
            painter.setPen(QPen(QColor("#888888"), 1))
            painter.drawLine(QPointF(0, 24), QPointF(w, 24))
            painter.save()
            painter.translate(0, header_h)
            for doc, y in page:
                painter.save()
                painter.translate(0, y)
                doc.drawContents(painter)
                painter.restore()
            painter.restore()
            fy = rect.height() - footer_h + 8
            painter.setPen(QPen(QColor("#888888"), 1))
            painter.drawLine(QPointF(0, fy - 4), QPointF(w, fy - 4))
            if simulated:
                painter.setPen(QColor("#b00000"))
                painter.setFont(bold)
                painter.drawText(QRectF(0, fy, w * 0.6, 18), Qt.AlignmentFlag.AlignLeft,
                                 "SIMULATED: simulated headset and virtual patient")
            painter.setPen(QColor("#333333"))
            painter.setFont(small)
            painter.drawText(QRectF(w * 0.5, fy, w * 0.5, 18), Qt.AlignmentFlag.AlignRight,
                             f"page {n} of {len(pages)}")
    finally:
        painter.end()
    del writer, pager  # finishes the PDF into the buffer
    buf.close()
    _write_private(path, bytes(buf.data().data()))
    return len(pages)


def write_report(session_id: int, out: str | Path, store: Store | None = None) -> Path:
    """Write the report of a stored session to ``out`` (.html or .pdf)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise ValueError(f"the report file must end in .html or .pdf, got {out.name!r}")
    if not out.parent.exists():
        raise OSError(f"folder {out.parent} does not exist")
    own = store is None
    store = store or Store()
    try:
        data = report_data(store, int(session_id))
    finally:
        if own:
            store.close()
    if suffix == ".pdf":
        write_pdf(data, out)
    else:
        write_html(data, out)
    return out
