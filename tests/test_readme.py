"""The README's two set-up commands are the ones CI runs."""

import re


def _shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_readme_has_demo_and_test_commands(repo_dir):
    blocks = _shell_blocks((repo_dir / "README.md").read_text())
    assert any("python3 -m venv" in b and "cervitrack demo" in b for b in blocks)
    assert any("python3 -m venv" in b and ".[test]" in b and "pytest" in b for b in blocks)


def test_ci_runs_exactly_the_readme_test_command(repo_dir):
    blocks = _shell_blocks((repo_dir / "README.md").read_text())
    test_cmd = next(b for b in blocks if ".[test]" in b)
    ci_lines = [ln for ln in (repo_dir / ".ci" / "run").read_text().splitlines()
                if ln and not ln.startswith("#")]
    assert test_cmd in ci_lines


def test_static_checks_run_once_through_the_readme_test_command(repo_dir):
    # The README's pytest run includes tests/test_static_checks.py, which runs .ci/static;
    # .ci/run calling .ci/static as well would run ruff and mypy twice.
    ci_lines = [ln for ln in (repo_dir / ".ci" / "run").read_text().splitlines()
                if ln and not ln.startswith("#")]
    assert not any(".ci/static" in ln for ln in ci_lines)
    assert '".ci" / "static"' in (repo_dir / "tests" / "test_static_checks.py").read_text()
