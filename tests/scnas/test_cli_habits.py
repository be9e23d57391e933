"""CLI habits (issue 30): no bar codes in piped logs and a --quiet, defaults and help on every
option, --version, the teacher cache under $SCNAS_HOME, estimate's refusal of changed settings,
and no top-level `benchmarks` package."""

from __future__ import annotations

import argparse
import ast
import io
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from setuptools import find_packages
from tqdm import tqdm

from sc_accel import progress
from scnas import config
from scnas.cli import build_parser, main
from scnas.commands import teacher as teacher_cmd
from scnas.commands.bench import BENCHMARKS
from scnas.commands.common import DefaultsFormatter
from tests.scnas.helpers import cli_error

ROOT = Path(__file__).resolve().parents[2]
CODES = re.compile(r"\r|\x1b")  # carriage returns and ANSI escape sequences


def _scnas(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m scnas ARGV` with stdout and stderr piped (not a terminal)."""
    proc = subprocess.run([sys.executable, "-m", "scnas", *argv], capture_output=True, text=True, timeout=600,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return proc


# ---- 1. progress: lines when piped, nothing with --quiet ----

def test_piped_commands_write_summary_lines_and_no_bar_codes(tmp_path, teacher):
    train = _scnas("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", "t", cwd=tmp_path)
    assert not CODES.search(train.stdout + train.stderr)
    assert re.search(r"^epoch 1/1: loss [\d.]+, test accuracy [\d.]+ \([\d.]+ s\)$", train.stdout, re.M)
    emulate = ["emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32,64", "--limit", "30",
               "--out", "e"]
    run = _scnas(*emulate, cwd=tmp_path)
    assert not CODES.search(run.stdout + run.stderr)
    lines = run.stderr.splitlines()
    assert re.fullmatch(r"settings: 2/2 \([\d.]+ (s|min)\)", lines[-1]) and len(lines) == 3  # one per setting, one in all


def test_quiet_prints_only_the_results(tmp_path, teacher):
    train = _scnas("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", "t", "--quiet",
                   cwd=tmp_path)
    lines = train.stdout.splitlines()
    assert train.stderr == "" and len(lines) == 1 and lines[0].startswith("lenet5 on digits: test accuracy ")
    emulate = _scnas("--quiet", "emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32",
                     "--limit", "30", "--out", "e", cwd=tmp_path)
    loud = _scnas("emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32", "--limit", "30",
                  "--out", "e2", cwd=tmp_path)
    assert emulate.stderr == "" and loud.stderr != ""
    assert len(emulate.stdout.splitlines()) == len(loud.stdout.splitlines())  # the results are all that is left


def test_quiet_goes_before_or_after_the_command():
    parse = build_parser().parse_args
    assert parse(["--quiet", "data"]).quiet and parse(["data", "--quiet"]).quiet and parse(["-q", "data"]).quiet
    assert not parse(["data"]).quiet
    assert parse(["dse", "evolver", "--quiet"]).quiet


@pytest.fixture
def stderr_tty(monkeypatch):
    """sys.stderr as a terminal (True) or a pipe (False); returns the buffer written to."""
    def make(tty: bool) -> io.StringIO:
        buf = io.StringIO()
        buf.isatty = lambda: tty  # type: ignore[method-assign]
        monkeypatch.setattr(sys, "stderr", buf)
        return buf
    yield make
    progress.set_quiet(False)


def test_one_switch_picks_bars_lines_or_nothing(stderr_tty):
    stderr_tty(True)
    b = progress.bar(range(3), desc="x")
    assert isinstance(b, tqdm)
    b.close()
    err = stderr_tty(False)
    b = progress.bar(total=4, desc="epoch 3/10", initial=1)
    b.update(3)
    b.set_postfix(loss="0.410")
    b.close()
    b.close()  # a second close says nothing more
    assert re.fullmatch(r"epoch 3/10: 4/4, loss 0\.410 \([\d.]+ s\)\n", err.getvalue())
    assert list(progress.bar(iter("ab"), desc="it")) == ["a", "b"]
    assert err.getvalue().splitlines()[-1].startswith("it: 2 (")  # iterated to the end: closes itself
    err = stderr_tty(False)
    list(progress.bar(range(3), desc="mine", summary=False))
    list(progress.bar(range(3), desc="off", disable=True))
    progress.set_quiet(True)
    list(progress.bar(range(3), desc="quiet"))
    progress.say("resuming")
    assert err.getvalue() == ""


# ---- 2. help: a text on every option, defaults shown, the benchmarks listed ----

def _parsers(p: argparse.ArgumentParser, name: str = "scnas"):
    yield name, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub_name, sub in a.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


COMMANDS = list(_parsers(build_parser()))


@pytest.mark.parametrize("name,parser", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_has_help_and_shows_its_default(name, parser):
    fmt = parser._get_formatter()
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        assert a.help, f"{name} {a.option_strings or a.dest} has no help text"
        if name != "scnas" and a.option_strings and a.nargs != 0 and a.default is not None:
            assert "(default" in fmt._expand_help(a).lower(), f"{name} {a.option_strings} hides its default"


def test_help_pages_show_defaults_and_the_benchmarks(capsys):
    for argv in (["train", "--help"], ["bench", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    out = capsys.readouterr().out
    assert re.search(r"--epochs EPOCHS\s+training epochs.*?\(default: \d+\)", out, re.S)
    bench = out[out.index("usage: scnas bench"):]
    assert all(re.search(rf"^  {name}\s+\S", bench, re.M) for name in BENCHMARKS.names())


def test_the_formatter_leaves_flags_and_written_defaults_alone():
    p = argparse.ArgumentParser(formatter_class=DefaultsFormatter)
    p.add_argument("--flag", action="store_true", help="a flag")
    p.add_argument("--said", default=3, help="three (default 3)")
    p.add_argument("--list", nargs="+", default=["a", "b%"], help="items")
    text = " ".join(p.format_help().split())
    assert "a flag (default" not in text and "(default 3) (default" not in text and "items (default: a b%)" in text


# ---- 3. --version ----

def _setup_version() -> str:
    call = next(n for n in ast.walk(ast.parse((ROOT / "setup.py").read_text())) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "setup")
    return next(k.value.value for k in call.keywords if k.arg == "version")


def test_version_prints_the_installed_version(capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"scnas {metadata.version('scnas')}"

    def missing(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(config.metadata, "version", missing)
    assert config.version() == _setup_version()


# ---- 4. the teacher cache ----

def test_a_teacher_trained_under_scnas_home_is_found_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("SCNAS_HOME", str(tmp_path / "home"))
    argv = ["emulate", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--stream-length", "32",
            "--limit", "20"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert main(argv + ["--out", "e"]) == 0
    cached = tmp_path / "home" / "teachers" / "lenet5-digits" / "model.pt"
    assert cached.is_file() and not (tmp_path / "a" / "runs").exists()
    stamp = cached.stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("the cached teacher was trained again")
    monkeypatch.setattr(teacher_cmd, "train", no_training)
    monkeypatch.chdir(tmp_path / "b")
    assert main(argv + ["--out", "e"]) == 0
    assert cached.stat().st_mtime_ns == stamp


def test_a_teacher_in_runs_teachers_is_still_read_and_teacher_dir_overrides(tmp_path, monkeypatch, teacher):
    monkeypatch.setenv("SCNAS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert teacher_cmd.cached_teacher("lenet5", "digits") == tmp_path / "home" / "teachers" / "lenet5-digits"
    shutil.copytree(teacher, tmp_path / "runs" / "teachers" / "lenet5-digits")
    assert teacher_cmd.cached_teacher("lenet5", "digits") == Path("runs/teachers/lenet5-digits")
    assert teacher_cmd.cached_teacher("lenet5", "digits", "elsewhere") == Path("elsewhere/lenet5-digits")
    monkeypatch.delenv("SCNAS_HOME")
    assert teacher_cmd.teacher_home() == Path.home() / ".cache" / "scnas" / "teachers"


def test_the_demo_keeps_its_teacher_beside_the_runs_it_reports():
    demo = (ROOT / "Makefile").read_text().split("\ndemo:")[1].split("\n\n")[0].replace("\\\n", " ")
    commands = [line for line in demo.splitlines() if "scnas " in line]
    assert any("scnas report runs/teachers/" in c for c in commands)
    for c in commands:
        if re.search(r"scnas (emulate|search|recast)", c):
            assert "--teacher-dir runs/teachers" in c, c


# ---- 5. estimate refuses another run's settings ----

def test_estimate_refuses_a_run_made_with_other_settings_and_reruns_the_same(tmp_path, capsys):
    out = tmp_path / "est"
    argv = ["estimate", "--model", "lenet5", "--accel", "sc-64x64-L64", "--out", str(out)]
    assert main(argv) == 0
    assert main(argv) == 0  # the same settings: fine
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capsys.readouterr()
    assert main(argv[:4] + ["systolic-32x32-ws"] + argv[5:]) == 2
    assert "accels[0] 'sc-64x64-L64' -> 'systolic-32x32-ws'" in cli_error(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # no stray CSV or TOML


# ---- 6. benchmarks live in scnas ----

def test_no_top_level_benchmarks_package_is_installed():
    call = next(n for n in ast.walk(ast.parse((ROOT / "setup.py").read_text())) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "find_packages")
    include = ast.literal_eval(call.keywords[0].value)
    found = find_packages(str(ROOT), include=include)
    assert "scnas.benchmarks" in found and not [p for p in found if p.split(".")[0] not in
                                                 ("scnas", "sc_accel", "recast", "nas", "reports")]
    assert not (ROOT / "benchmarks").exists()
