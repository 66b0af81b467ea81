"""`cervitrack app` and `cervitrack demo --screenshot`: offscreen PNGs and clear errors."""

from PySide6 import QtGui

from cervitrack.trainer.cli import main


def test_app_renders_a_view_offscreen(tmp_path, capsys):
    path = tmp_path / "device.png"
    assert main(["app", "--device", "sim", "--view", "device", "--screenshot", str(path)]) == 0
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (1200, 860)
    assert "saved" in capsys.readouterr().out


def test_demo_screenshot_shows_the_test_on_the_wall(tmp_path):
    path = tmp_path / "demo.png"
    assert main(["demo", "--trials", "1", "--screenshot", str(path)]) == 0
    assert not QtGui.QImage(str(path)).isNull()


def test_bad_arguments_give_one_line_errors(tmp_path, capsys):
    (tmp_path / "taken.jsonl").write_text("{}\n")
    for argv, message in (
        (["app", "--events", str(tmp_path / "taken.jsonl")], "already exists; add --force"),
        (["app", "--device", "sim", "--view", "nothing", "--screenshot", str(tmp_path / "x.png")], "unknown view"),
        (["app", "--view", "wall", "--screenshot", str(tmp_path / "x.png")], "need --device"),
        (["app", "--test", "jpe"], "need --device"),
        (["app", "--device", "bogus:x"], "unknown device kind"),
        (["app", "--device", "sim", "--test", "nothing"], "unknown test"),
        (["app"], "no display found"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("cervitrack: error: ") and message in err and "\n" not in err
