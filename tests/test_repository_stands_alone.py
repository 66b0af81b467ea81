"""A clone of the repository stands alone: nothing cites or reads the steering folder beside it.

Docs, docstrings and comments cite primary sources (papers, datasheets, specifications); test
data lives in tests/data (issue 15, item 6).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The reference sheets of the steering folder, which a clone does not have.
SHEETS = re.compile(r"\.\./shared|(?:clinical-protocols|sensor-protocols|fusion-and-angles|"
                    r"ecosystem-and-style)\.md")


def tracked_text_files():
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in names:
        if name.endswith((".py", ".md", ".toml", ".txt", ".cfg")) or name.startswith(".ci/"):
            yield REPO / name


def test_no_file_cites_the_reference_sheets_or_reads_the_folder_beside_the_clone():
    offenders = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SHEETS.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:80]}")
    assert offenders == []
