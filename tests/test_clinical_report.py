"""The therapist report: HTML and PDF (no browser), from a stored session."""

import re

import pytest

from cervitrack.trainer.cli import main
from cervitrack.trainer.paths import data_dir
from cervitrack.trainer.report.document import report_data, write_report
from cervitrack.trainer.report.plots import scatter_image, wall_point_cm
from cervitrack.trainer.stores.sessions import Store


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    """A data folder with one session of patient R-1 holding a JPE, a ROM, a tracking and a
    tracing test (short versions), made once for this module."""
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
            'directions = ["rotation_left", "rotation_right"]\ntrials_per_direction = 1\n')
        assert main(["test", "jpe", "--device", "sim", "--patient", "R-1", "--name", "Ann Example",
                     "--birth-year", "1961", "--trials", "1", "--seed", "5"]) == 0
        with Store() as store:
            sid = store.sessions("R-1")[-1]["id"]
        for kind, preset in (("rom", "rom-rot"), ("butterfly", "bf-short"), ("trace", "trace-zigzag")):
            assert main(["test", kind, "--device", "sim", "--patient", "R-1", "--preset", preset,
                         "--session", str(sid), "--seed", "5"]) == 0
    return home, sid


@pytest.fixture
def session_id(shared_home, monkeypatch, capsys):
    home, sid = shared_home
    monkeypatch.setenv("CERVITRACK_HOME", str(home))
    capsys.readouterr()
    return sid


def test_html_report_has_the_tables_figures_sources_and_wording(session_id, tmp_path):
    out = write_report(session_id, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert "R-1 (Ann Example), born 1961" in text and "OHT-sim" in text
    assert text.count("<table") == 5  # JPE, ROM, tracking, tracing, JPE history
    for heading in ("AE °", "CE °", "VE °", "RMSE °", "3D AE °", "max °", "time on target %",
                    "undershoot %", "overshoot %", "errors"):
        assert heading in text
    assert "Flag threshold <b>4.5°</b>" in text and "Revel et al. 1994" in text
    assert "Swinkels" in text and "Niederer" in text and "No numeric norm table" in text
    assert "Ernst et al. 2019" in text
    assert text.count('src="data:image/png;base64,') == 5  # scatter, ROM, traces, tracing, history
    assert "does not diagnose" in text and "Stop any test" in text


def test_pdf_report_is_written_without_a_browser(session_id, tmp_path):
    out = write_report(session_id, tmp_path / "r.pdf")
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 2 <= pages <= 6
    assert pdf.count(b"/Subtype /Image") >= 5


def test_report_data_holds_every_test_and_the_history(session_id):
    with Store() as store:
        data = report_data(store, session_id)
    assert [t["kind"] for t in data["tests"]] == ["jpe", "rom", "butterfly", "trace"]
    assert [h["session_id"] for h in data["history"]["jpe"]] == [session_id]


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
    from cervitrack.trainer.report.document import ensure_app

    ensure_app()
    img = scatter_image([{"direction": "flexion", "valid": True,
                          "error_deg": {"axial": 0.0, "flexion": 3.0, "lateral": 0.0}}])
    assert img.width() == 900 and img.height() > 900
