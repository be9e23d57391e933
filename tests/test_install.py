"""The README's `pip install -e .` route, offline: a copy of the repository installed editable into a
fresh virtual environment, and a wheel built from it.

The fresh environment is made by this test's Python without pip or system site-packages; a .pth
file puts the test environment's site-packages on its path, so the build tools (setuptools, wheel,
pip) and the dependencies (torch, numba, ...) come from there and nothing is downloaded
(`--no-index --no-deps --no-build-isolation`). (`--system-site-packages` would expose the base
interpreter's packages instead, which need not hold a setuptools able to build an editable wheel.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scnas", "sc_accel", "recast", "nas", "reports")
NOT_COPIED = shutil.ignore_patterns(".venv*", ".git", "runs", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "build", "dist")
PIP = ("-m", "pip", "--disable-pip-version-check", "--no-input")
OFFLINE = ("--no-deps", "--no-build-isolation", "--no-index")


def _run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_FIND_LINKS", "VIRTUAL_ENV")}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The working tree without environments, run directories or build outputs."""
    dst = tmp_path_factory.mktemp("install") / "scnas-src"
    shutil.copytree(ROOT, dst, ignore=NOT_COPIED)
    return dst


def test_editable_install_gives_the_scnas_command(repo_copy, tmp_path):
    env_dir = tmp_path / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], tmp_path)
    python = env_dir / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path)
    Path(purelib.stdout.strip(), "scnas-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    _run([str(python), *PIP, "install", *OFFLINE, "-e", str(repo_copy)], tmp_path)

    # every package imports from the copy, not from the checkout the tests run in
    where = _run([str(python), "-c", "import importlib; print('\\n'.join(importlib.import_module(p).__file__ "
                                     f"for p in {PACKAGES!r}))"], tmp_path).stdout.split()
    assert [Path(w).parent for w in where] == [repo_copy / p for p in PACKAGES]
    script = env_dir / "bin" / "scnas"
    assert script.exists(), "no scnas console script"
    usage = _run([str(script), "--help"], tmp_path).stdout
    for command in ("emulate", "estimate", "recast", "search", "dse", "report"):
        assert command in usage


def test_wheel_holds_every_package_and_the_console_script(repo_copy, tmp_path):
    _run([sys.executable, *PIP, "wheel", *OFFLINE, "-w", str(tmp_path), str(repo_copy)], tmp_path)
    [wheel] = tmp_path.glob("scnas-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    assert "sc_accel/nn/__init__.py" in names and "scnas/commands/__init__.py" in names  # subpackages too
    assert not any(n.startswith("tests/") for n in names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "scnas = scnas.cli:main" in text.replace("scnas=scnas", "scnas = scnas")
