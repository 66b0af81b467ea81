"""The packages import each other only downward, as docs/architecture.md draws them.

Every ``import`` in the source folders is read with :mod:`ast` (top-level and function-level
imports alike) and mapped to the package it names. A package may import itself and the packages
listed for it here, nothing else of ours. The table is the specification: change it only
together with docs/architecture.md § Import directions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"firmware_bridge": "firmware_bridge", "signal": "signal", "calibration": "calibration",
           "trainer": "trainer"}

#: package -> the packages of ours it may import (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "signal": set(),
    "calibration": {"signal"},
    "firmware_bridge": {"signal"},
    "trainer.paths": set(),
    "trainer.audio": set(),
    "trainer.clinical": {"signal", "calibration", "trainer.paths"},
    "trainer.stores": {"calibration", "trainer.paths"},
    "trainer.live": {"firmware_bridge", "signal", "calibration", "trainer.clinical"},
    "trainer.simulation": {"firmware_bridge", "signal", "calibration", "trainer.clinical",
                           "trainer.live"},
    "trainer.report": {"signal", "trainer.clinical", "trainer.stores"},
    "trainer.recording": {"firmware_bridge", "signal", "calibration", "trainer.clinical",
                          "trainer.live", "trainer.simulation", "trainer.stores", "trainer.paths"},
    "trainer.training": {"firmware_bridge", "signal", "calibration", "trainer.clinical",
                         "trainer.live", "trainer.simulation", "trainer.stores", "trainer.paths",
                         "trainer.audio"},
    "trainer.gui": {"firmware_bridge", "signal", "calibration", "trainer.clinical", "trainer.live",
                    "trainer.simulation", "trainer.stores", "trainer.paths", "trainer.recording",
                    "trainer.report", "trainer.training", "trainer.audio"},
    "trainer.commands": {"firmware_bridge", "signal", "calibration", "trainer.clinical",
                         "trainer.live", "trainer.simulation", "trainer.stores", "trainer.paths",
                         "trainer.recording", "trainer.report", "trainer.training", "trainer.gui",
                         "trainer.audio"},
    "trainer.cli": {"trainer.commands"},
}


def package_of(module: str) -> str | None:
    """``cervitrack.trainer.clinical.jpe`` -> ``trainer.clinical``; None if not ours."""
    parts = module.split(".")
    if parts[0] != "cervitrack" or len(parts) < 2:
        return None
    if parts[1] != "trainer":
        return parts[1]
    return "trainer." + parts[2] if len(parts) > 2 else "trainer"


def source_modules():
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield path, "cervitrack." + ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def violations():
    bad = []
    for path, module in source_modules():
        own = package_of(module)
        if own == "trainer":  # trainer/__init__.py: the namespace, no code
            continue
        assert own in ALLOWED, f"{module}: package {own} has no row in ALLOWED"
        for line, target in imports_of(path, module):
            other = package_of(target)
            # ``from cervitrack.trainer import commands`` names the namespace first: skip it.
            if other is None or other == own or other == "trainer":
                continue
            if other not in ALLOWED[own]:
                bad.append(f"{path.relative_to(REPO)}:{line}: {own} imports {target}")
    return bad


def test_every_package_imports_only_downward():
    assert violations() == []


def test_the_ground_floor_imports_only_numpy_scipy_vqf_and_the_standard_library():
    import sys

    allowed_third_party = {"numpy", "scipy", "vqf"}
    for path in sorted((REPO / "signal").rglob("*.py")):
        for _line, target in imports_of(path, "cervitrack.signal.x"):
            top = target.split(".")[0]
            if top in ("", "cervitrack", "__future__"):
                assert not target.startswith("cervitrack.") or target.startswith(
                    "cervitrack.signal"), f"{path.name} imports {target}"
                continue
            assert top in allowed_third_party or top in sys.stdlib_module_names, (
                f"{path.name} imports {target}")


@pytest.mark.parametrize("source, expected", [
    ("from cervitrack.trainer.gui import style\n", "trainer.clinical imports"),
    ("import cervitrack.firmware_bridge.protocols\n", "trainer.clinical imports"),
])
def test_the_check_catches_an_upward_import(tmp_path, source, expected):
    fake = tmp_path / "clinical_fake.py"
    fake.write_text(source)
    own = "trainer.clinical"
    found = [t for _l, t in imports_of(fake, "cervitrack.trainer.clinical.fake")]
    assert any(package_of(t) not in ALLOWED[own] | {own} for t in found), expected
