"""Packaging: the four folders are subpackages of `cervitrack`; no top-level `signal` exists."""

import subprocess
import sys
import tomllib
import venv
import zipfile

import pytest


def _declared_packages(repo_dir):
    config = tomllib.loads((repo_dir / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"]), config["package-dir"]


def test_every_package_folder_is_declared(repo_dir):
    packages, package_dir = _declared_packages(repo_dir)
    found = set()
    for top, folder in package_dir.items():
        for init in (repo_dir / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(repo_dir / folder)
            found.add(".".join([top, *rel.parts]) if rel.parts else top)
    assert found == packages


def test_no_package_maps_to_a_top_level_signal(repo_dir):
    packages, package_dir = _declared_packages(repo_dir)
    assert all(p == "cervitrack" or p.startswith("cervitrack.") for p in packages)
    assert package_dir["cervitrack.signal"] == "signal"


@pytest.mark.slow
def test_wheel_installs_subpackages_and_keeps_stdlib_signal(repo_dir, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(repo_dir)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(dist.glob("cervitrack-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert not any(n.startswith("signal/") for n in names)
    assert "cervitrack/signal/__init__.py" in names
    # The voice clips travel with the package: every phrase has its WAV.
    from cervitrack.trainer.audio import phrases
    assert {f"cervitrack/trainer/audio/clips/{phrases.clip_key(f)}.wav" for f in phrases.FRAGMENTS} <= set(names)
    assert "cervitrack/trainer/audio/clips/manifest.json" in names
    # A fresh venv that sees the test environment's dependencies but only the wheel's code.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    deps = subprocess.run([sys.executable, "-c", "import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    code = (
        f"import sys; sys.path.append({deps!r})\n"
        "import signal, cervitrack, cervitrack.signal, cervitrack.firmware_bridge, "
        "cervitrack.calibration, cervitrack.trainer\n"
        "assert hasattr(signal, 'SIGINT'), signal.__file__\n"
        "assert 'site-packages' in cervitrack.signal.__file__\n"
        "print(cervitrack.__file__)\n"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert str(env_dir) in out.stdout


def test_editable_install_keeps_stdlib_signal(tmp_path):
    code = ("import signal, cervitrack.signal\n"
            "assert hasattr(signal, 'SIGINT')\n"
            "assert cervitrack.signal.__name__ == 'cervitrack.signal'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_cli_version():
    out = subprocess.run([sys.executable, "-m", "cervitrack", "--version"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.startswith("cervitrack ")
