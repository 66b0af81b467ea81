"""The therapist report: HTML and PDF (no browser), from a stored session.

The PDF is checked as a person reads it: its pages turned to text (pdftotext) and to pixels
(pdftoppm, poppler-utils; .ci/run installs it): page headers and numbers on every page, tables
never split without their header row, titles and trial counts, and the scatter's orientation.
"""

import datetime as dt
import re
import shutil
import subprocess

import numpy as np
import pytest

from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.cli import main
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.report import document
from cervitrack.trainer.report.document import (
    ensure_app,
    format_datetime,
    report_data,
    write_pdf,
    write_report,
)
from cervitrack.trainer.report.plots import COLOURS, scatter_image, tracking_image, wall_point_cm
from cervitrack.trainer.stores.sessions import Store

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="pdftotext/pdftoppm (poppler-utils) are not installed: "
                                                       "`apt-get install -y poppler-utils` (.ci/run does)")


def pdf_pages_text(path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\f") if p.strip()]


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    """A data folder with patient R-1: an earlier JPE session and a session holding a JPE
    (--trials 2), a ROM (--trials 1), a tracking and a tracing test; and a ROM-only session
    of patient R-2 (--trials 1)."""
    home = tmp_path_factory.mktemp("report-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CERVITRACK_HOME", str(home))
        folder = data_dir() / "presets"
        folder.mkdir()
        (folder / "bf-short.toml").write_text(
            'test = "butterfly"\ntitle = "Tracking, short"\n[settings]\nlevels = ["easy", "hard"]\n'
            'repetitions = 1\nduration_s = 8.0\n')
        (folder / "rom-rot.toml").write_text(
            'test = "rom"\ntitle = "ROM, rotation"\n[settings]\n'
            'directions = ["rotation_left", "rotation_right"]\ntrials_per_direction = 3\n')
        assert main(["test", "jpe", "--device", "sim", "--patient", "R-1", "--trials", "1", "--seed", "3"]) == 0
        assert main(["test", "jpe", "--device", "sim", "--patient", "R-1", "--name", "Ann Example",
                     "--birth-year", "1961", "--trials", "2", "--seed", "5"]) == 0
        with Store() as store:
            sid = store.sessions("R-1")[-1]["id"]
        for kind, preset, extra in (("rom", "rom-rot", ["--trials", "1"]), ("butterfly", "bf-short", []),
                                    ("trace", "trace-zigzag", [])):
            assert main(["test", kind, "--device", "sim", "--patient", "R-1", "--preset", preset,
                         "--session", str(sid), "--seed", "5", *extra]) == 0
        assert main(["test", "rom", "--device", "sim", "--patient", "R-2", "--preset", "rom-rot",
                     "--trials", "1", "--seed", "7"]) == 0
        with Store() as store:
            rom_sid = store.sessions("R-2")[-1]["id"]
    return home, sid, rom_sid


@pytest.fixture
def session_id(shared_home, monkeypatch, capsys):
    home, sid, _ = shared_home
    monkeypatch.setenv("CERVITRACK_HOME", str(home))
    capsys.readouterr()
    return sid


@pytest.fixture(scope="module")
def pdf(shared_home, tmp_path_factory):
    home, sid, _ = shared_home
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CERVITRACK_HOME", str(home))
        return write_report(sid, tmp_path_factory.mktemp("pdf") / "r.pdf")


def test_html_report_has_the_tables_figures_sources_and_wording(session_id, tmp_path):
    out = write_report(session_id, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert "R-1 (Ann Example), born 1961" in text and "OHT-sim" in text
    assert text.count("<table border=") == 5  # JPE, ROM, tracking, tracing, session history
    for heading in ("AE °", "CE °", "VE °", "RMSE °", "3D AE °", "max °", "time on target %",
                    "undershoot %", "overshoot %", "errors"):
        assert heading in text
    assert "overall (all trials)" in text and "Trials: 8 recorded, 8 valid" in text
    # Full references: authors, year, title, journal volume(issue):pages; no bare "Eur Spine J 2015;24".
    assert "Revel M, Minguet M, Gregoy P, Vaillant J, Manuel JL (1994)" in text
    assert "Arch Phys Med Rehabil 75(8):895–899" in text
    assert "Niederer D, Vogt L, Wilke J, Rickert M, Banzer W (2015)" in text and "Eur Spine J 24(3):493–502" in text
    assert "Ernst MJ, Williams L, Werner IM, Crawford RJ, Treleaven J (2019)" in text
    assert "Eur Spine J 2015;24" not in text and "shared/reference" not in text
    assert text.count('src="data:image/png;base64,') == 5  # scatter, ROM, traces, tracing, AE trend
    assert "does not diagnose" in text and "Stop any test" in text
    # Readable names, never the preset ids; ISO timestamps never shown.
    assert "Pattern tracing, zigzag" in text and "trace-zigzag" not in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text)
    # The JPE footnote under JPE only; the tracking section has its own.
    tracking = text[text.index("<h2>Tracking, short"):text.index("<h2>Pattern tracing, zigzag")]
    assert "RMSE²" not in tracking and "AA (amplitude accuracy)" in tracking


def test_counts_are_integers_and_sd_needs_two_repetitions(session_id, tmp_path):
    text = write_report(session_id, tmp_path / "r.html").read_text(encoding="utf-8")
    trace_row = re.search(r"<tr><td>zigzag, repetition 1</td>(.*?)</tr>", text).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", trace_row)
    assert re.fullmatch(r"\d+", cells[1])  # the run's error count
    rom = text[text.index("Active range of motion per direction"):]
    rom_row = re.search(r"<tr><td>rotation left</td>(.*?)</tr>", rom).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", rom_row) == ["1", *re.findall(r"\d+\.\d", rom_row)[:2], "n/a"]


@needs_poppler
def test_pdf_pages_have_headers_numbers_and_whole_tables(pdf):
    pages = pdf_pages_text(pdf)
    assert 3 <= len(pages) <= 7
    for n, page in enumerate(pages, 1):
        head = page.strip().splitlines()[0]
        assert "Patient R-1" in head and "Neck sensorimotor tests — report" in head
        assert re.search(r"\d{1,2} \w{3}\.? \d{4}, \d\d:\d\d", head)
        assert f"page {n} of {len(pages)}" in page
        assert "SIMULATED" in page
        # A page that shows a table's rows shows its header row too.
        if re.search(r"^\s*(rotation left|rotation right|flexion|extension)\s+\d+\s+\d", page, re.M):
            assert "direction" in page
    text = "\n".join(pages)
    assert "JPE, neutral head position (2 trials per direction)" in text and "8 trials per direction" not in text
    assert "ROM, rotation (1 repetition per direction)" in text
    assert pdf.read_bytes().count(b"/Subtype /Image") >= 5


@needs_poppler
def test_a_long_table_repeats_its_header_on_every_page(tmp_path):
    """A session history of 70 sessions spans pages: every page that carries history rows
    carries the header row and the "(continued)" caption after the first."""
    session = {"id": 70, "patient_id": "L-1", "started_utc": "2026-12-05T14:03:00+00:00", "device": "sim",
               "device_info": None, "software_version": "test", "calibration": None, "raw_trace_path": None}
    sessions = [{**session, "id": k, "tests": [
        {"kind": "jpe", "preset": "jpe", "preset_title": None, "result": {},
         "scores": {"overall": {"ae_deg": 2.0 + k / 100, "n": 24}}}]} for k in range(1, 71)]
    data = {"session": session, "patient": {"id": "L-1"}, "tests": [], "history": {}, "sessions": sessions}
    out = tmp_path / "long.pdf"
    write_pdf(data, out)
    pages = pdf_pages_text(out)
    with_rows = [p for p in pages if "JPE, neutral head position: AE" in p]
    assert len(with_rows) >= 2
    for k, page in enumerate(with_rows):
        assert re.search(r"^\s*date\s+session\s+tests\s*$", page, re.M), page
        assert ("(continued)" in page) == (k > 0)
    shown = re.findall(r"AE (\d\.\d\d?)° over 24 trials", "\n".join(pages))
    assert len(shown) == 70  # every row once: none lost or repeated at a page break


@needs_poppler
def test_every_page_renders_and_the_rom_only_report_is_titled_for_rom(shared_home, tmp_path, monkeypatch):
    home, _, rom_sid = shared_home
    monkeypatch.setenv("CERVITRACK_HOME", str(home))
    out = write_report(rom_sid, tmp_path / "rom.pdf")
    pages = pdf_pages_text(out)
    assert all("Range of motion — report" in p.splitlines()[0] for p in pages)
    assert "cervical proprioception test report" not in "\n".join(pages)
    assert "n/a" in pages[0] and "SD °" in pages[0]
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == len(pages)
    from PySide6.QtGui import QImage

    ensure_app()
    for png in pngs:
        img = QImage(str(png))
        arr = np.frombuffer(img.convertToFormat(QImage.Format.Format_Grayscale8).constBits(), np.uint8)
        assert (arr < 128).mean() > 0.005  # ink on every page: none blank


def _error_of(axial_deg, flexion_deg):
    """The stored ``error_deg`` of a trial whose return pose is off by these anatomical angles,
    computed as the JPE engine does (relative rotation, then the anatomical angles)."""
    q_ref = kinematics.pose_from_angles_deg(0.0, 0.0, 0.0)
    q_ret = kinematics.pose_from_angles_deg(axial_deg, flexion_deg, 0.0)
    angles = kinematics.head_angles_deg(quat.relative(q_ref, q_ret))
    return {k: float(angles[k]) for k in ("axial", "flexion", "lateral", "global")}


def _centroid(img, colour, max_y):
    from PySide6.QtGui import QColor, QImage

    rgb = img.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.width(), 4)[:max_y]
    c = QColor(colour)
    mask = ((abs(arr[..., 2].astype(int) - c.red()) < 6) & (abs(arr[..., 1].astype(int) - c.green()) < 6)
            & (abs(arr[..., 0].astype(int) - c.blue()) < 6))
    ys, xs = np.nonzero(mask)
    assert len(xs) > 50, f"no {colour} dot drawn"
    return xs.mean(), ys.mean()


def test_scatter_shows_the_wall_as_the_patient_sees_it():
    """Screen x = the patient's right, up = up: an extension error (head up, flexion < 0) is
    drawn above the centre; a rightward rotation error (axial < 0) right of the centre."""
    ensure_app()
    trials = [{"direction": "extension", "valid": True, "error_deg": _error_of(0.0, -4.0)},
              {"direction": "rotation_right", "valid": True, "error_deg": _error_of(-4.0, 0.0)}]
    size = 900
    img = scatter_image(trials, size=size)
    centre = 90 + (size - 180) / 2
    ex, ey = _centroid(img, COLOURS["extension"], size)
    rx, ry = _centroid(img, COLOURS["rotation_right"], size)
    assert ey < centre - 50 and abs(ex - centre) < 10  # above the centre
    assert rx > centre + 50 and abs(ry - centre) < 10  # right of the centre


def test_butterfly_panels_share_one_scale():
    ensure_app()
    small = {"target_deg": [[-1.0, 0.0], [1.0, 0.0]], "cursor_deg": [[-1.0, 0.0], [1.0, 0.0]]}
    big = {"target_deg": [[-8.0, 0.0], [8.0, 0.0]], "cursor_deg": [[-8.0, 0.0], [8.0, 0.0]]}
    runs = [{"level": "easy", "repetition": 0, "aa_deg": 0.5, "time_on_target_pct": 90.0, "trace": small},
            {"level": "hard", "repetition": 0, "aa_deg": 0.5, "time_on_target_pct": 90.0, "trace": big}]
    img = tracking_image(runs, width=1200)
    from PySide6.QtGui import QImage

    rgb = img.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.width(), 4)
    blue = (arr[..., 0] > 150) & (arr[..., 2] < 80) & (arr[..., 1] < 130)  # the cursor's #1f5fbf
    widths = []
    for left in (0, 600):
        xs = np.nonzero(blue[:, left:left + 600].any(axis=0))[0]
        widths.append(xs.max() - xs.min())
    assert widths[1] / widths[0] == pytest.approx(8.0, rel=0.15)  # 16° vs 2° on one scale


def test_dates_are_shown_in_the_locale_format(monkeypatch):
    import time

    from PySide6.QtCore import QLocale

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert format_datetime("2026-12-05T14:03:00+00:00", locale=QLocale("en_GB")) == "5 Dec 2026, 14:03"
        assert format_datetime("2026-12-05T14:03:00+00:00", with_time=False, locale=QLocale("en_GB")) == "5 Dec 2026"
        assert "Dez" in format_datetime("2026-12-05T14:03:00+00:00", locale=QLocale("de_DE"))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    local = dt.datetime(2026, 12, 5, 14, 3, tzinfo=dt.UTC).astimezone()
    assert format_datetime("2026-12-05T14:03:00+00:00", locale=QLocale("en_GB")).endswith(f"{local:%H:%M}")


def test_titles_name_the_test_kind():
    assert document.report_title(["jpe"]) == "Joint position error test — report"
    assert document.report_title(["jpe", "thp"]) == "Joint position error test — report"
    assert document.report_title(["rom"]) == "Range of motion — report"
    assert document.report_title(["jpe", "rom"]) == "Neck sensorimotor tests — report"
    assert document.is_simulated({"device": "sim"}) and not document.is_simulated({"device": "ble:AA"})
    assert not document.is_simulated({"device": "sim", "simulated": 0})


def test_report_data_holds_every_test_and_the_history(session_id):
    with Store() as store:
        data = report_data(store, session_id)
    assert [t["kind"] for t in data["tests"]] == ["jpe", "rom", "butterfly", "trace"]
    assert [h["session_id"] for h in data["history"]["jpe"]] == [session_id - 1, session_id]
    assert [len(s["tests"]) for s in data["sessions"]] == [1, 4]


def test_report_cli_errors_are_one_line(session_id, tmp_path, capsys):
    assert main(["report", "999", "--out", str(tmp_path / "r.pdf")]) == 2
    assert "no session 999" in capsys.readouterr().err
    assert main(["report", str(session_id), "--out", str(tmp_path / "r.docx")]) == 2
    assert ".html or .pdf" in capsys.readouterr().err
    assert main(["report", str(session_id), "--out", str(tmp_path / "nowhere" / "r.pdf")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_trials_land_on_the_wall_where_the_laser_would():
    # 2° rotation to the left moves the dot 90·tan 2° = 3.14 cm to the left; 3° flexion
    # (chin down) moves it 90·tan 3° = 4.72 cm down.
    x, y = wall_point_cm({"axial": 2.0, "flexion": 0.0, "lateral": 0.0})
    assert (x, y) == pytest.approx((3.143, 0.0), abs=0.01)
    x, y = wall_point_cm({"axial": 0.0, "flexion": 3.0, "lateral": 0.0})
    assert (x, y) == pytest.approx((0.0, -4.717), abs=0.01)


def test_cli_tables_show_counts_as_integers_and_sd_na_for_one_repetition(session_id):
    from cervitrack.trainer.clinical.results import format_table

    with Store() as store:
        tests = {t["kind"]: t for t in store.tests(session_id)}
    rom = format_table({**tests["rom"]["result"], "trials": tests["rom"]["trials"]})
    assert re.search(r"^rotation_left\s+1\s+[\d.]+\s+[\d.]+\s+n/a$", rom, re.M)
    trace = format_table({**tests["trace"]["result"], "trials": tests["trace"]["trials"]})
    assert re.search(r"^zigzag\s+1\s+[\d.]+\s+\d+\s+[\d.]+", trace, re.M)
