"""The CLI starts fast: the command table matches the command modules, and light commands
import none of the heavy libraries (numpy, scipy, Qt). bench/startup.py measures the times."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

from cervitrack.trainer import commands

CERVITRACK = Path(sys.executable).with_name("cervitrack")
HEAVY = ("numpy", "scipy", "PySide6", "pyqtgraph", "vqf")


class _Recorder:
    """Subparsers that remember each add_parser call (name, help) and pass it on."""

    def __init__(self, sub) -> None:
        self.sub = sub
        self.calls: list[tuple[str, str | None]] = []

    def add_parser(self, name, **kwargs):
        self.calls.append((name, kwargs.get("help")))
        return self.sub.add_parser(name, **kwargs)


def test_the_command_table_matches_every_command_module():
    modules = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))
    registered = {}
    for name in modules:
        recorder = _Recorder(argparse.ArgumentParser().add_subparsers())
        importlib.import_module(f"{commands.__name__}.{name}").register(recorder)
        assert len(recorder.calls) == 1, f"{name}.register added {len(recorder.calls)} parsers"
        command, help_text = recorder.calls[0]
        assert commands.module_name(command) == f"{commands.__name__}.{name}"
        registered[command] = help_text
    assert registered == commands.COMMANDS


def _modules_after(argv: list[str], tmp_path) -> tuple[int, set[str], str]:
    """Run ``cervitrack ARGV`` in a fresh interpreter; (exit code, top-level modules imported, stdout)."""
    code = (
        "import sys\n"
        "from cervitrack.trainer.cli import main\n"
        "try:\n"
        f"    rc = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code or 0\n"
        "sys.stdout.flush()\n"
        "import json\n"
        "print(json.dumps([rc, sorted({m.split('.')[0] for m in sys.modules})]), file=sys.stderr)\n"
    )
    env = dict(os.environ, CERVITRACK_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    rc, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return rc, set(modules), done.stdout


def test_version_and_help_import_no_numpy_scipy_or_qt(tmp_path):
    for argv, shows in ((["--version"], "cervitrack "), (["--help"], "train-progress")):
        rc, modules, out = _modules_after(argv, tmp_path)
        assert rc == 0 and shows in out
        assert modules.isdisjoint(HEAVY), (argv, sorted(modules & set(HEAVY)))


def test_sessions_imports_no_scipy_or_qt(tmp_path):
    rc, modules, out = _modules_after(["sessions"], tmp_path)
    assert rc == 0 and "No sessions stored yet" in out
    assert modules.isdisjoint({"scipy", "PySide6", "pyqtgraph"}), sorted(modules)


def test_every_command_help_imports_no_scipy_or_qt(tmp_path):
    """``cervitrack COMMAND --help`` needs only the command's parser: its heavy imports wait
    for the command to run."""
    for command in commands.COMMANDS:
        rc, modules, out = _modules_after([command, "--help"], tmp_path)
        assert rc == 0 and f"usage: cervitrack {command}" in out
        assert modules.isdisjoint({"scipy", "PySide6", "pyqtgraph", "vqf"}), (command, sorted(modules))


def test_the_installed_command_shows_a_command_s_full_help_and_rejects_unknown_ones(tmp_path):
    env = dict(os.environ, CERVITRACK_HOME=str(tmp_path / "home"))
    done = subprocess.run([str(CERVITRACK), "test", "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "--preset NAME" in done.stdout and "thp-20" in done.stdout  # the test command's own options
    done = subprocess.run([str(CERVITRACK), "nothing"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "invalid choice: 'nothing'" in done.stderr and "Traceback" not in done.stderr
