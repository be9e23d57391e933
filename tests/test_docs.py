"""The README and docs/*.md as a newcomer uses them: every ```python block runs as written, every
`scnas ...` line of a ```sh block is a command the parser accepts, and every relative link and
image points at a file that exists."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from scnas.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK_TIMEOUT_S = 300


def fenced_blocks(path: Path, lang: str) -> list[tuple[int, str]]:
    """(first line number, text) of every ```lang block of a Markdown file ("" for unlabelled ones)."""
    blocks, current, start, label = [], None, 0, ""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if current is None:
            if line.strip().startswith("```"):
                current, start, label = [], number + 1, line.strip()[3:].strip()
        elif line.strip() == "```":
            if label == lang:
                blocks.append((start, "\n".join(current) + "\n"))
            current = None
        else:
            current.append(line)
    assert current is None, f"{path.name}: the block from line {start} is not closed"
    return blocks


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


PYTHON_BLOCKS = [(_name(p), line, code) for p in PAGES for line, code in fenced_blocks(p, "python")]


def shell_commands(text: str) -> list[str]:
    """The `scnas ...` commands of a shell block, continuation lines joined."""
    logical, pending = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [c.strip() for c in logical if c.strip().startswith("scnas ")]


def command_problem(command: str) -> str | None:
    """Why `command` is not a runnable scnas command line, or None when the parser takes it."""
    try:
        argv = shlex.split(command, comments=True)
    except ValueError as e:
        return f"cannot be split into words ({e})"
    prose = [w for w in argv if "(" in w or ")" in w]
    if prose:
        return f"holds prose, not arguments: {' '.join(prose)}"
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv[1:])
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "the parser exits"
    return None


def test_pages_hold_python_blocks_for_every_package():
    readme = "\n".join(code for name, _, code in PYTHON_BLOCKS if name == "README.md")
    for package in ("sc_accel.streams", "sc_accel.nn", "sc_accel.hw", "recast", "nas", "reports"):
        assert re.search(rf"^from {re.escape(package)}[. ]", readme, re.M), f"README has no example of {package}"


def test_readme_starts_with_make_demo_and_make_test():
    first = fenced_blocks(ROOT / "README.md", "sh")[0][1]
    assert first.splitlines()[0].startswith("make demo") and first.splitlines()[1].startswith("make test")


@pytest.mark.parametrize("page,line,code", PYTHON_BLOCKS, ids=[f"{n}:{ln}" for n, ln, _ in PYTHON_BLOCKS])
def test_python_block_runs(page, line, code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(code)
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT_S)
    assert done.returncode == 0, f"{page}, block at line {line} failed:\n{done.stderr[-3000:]}"


def test_shell_blocks_name_real_commands():
    problems, seen = [], 0
    for page in PAGES:
        for line, text in fenced_blocks(page, "sh"):
            for command in shell_commands(text):
                seen += 1
                why = command_problem(command)
                if why:
                    problems.append(f"{_name(page)}, block at line {line}: {command!r}: {why}")
    assert seen >= 10
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("command", [
    "scnas estimate --model lenet5 --compare (same accelerators)",
    "scnas estimate --model lenet5 (same)",
    "scnas no-such-command --out runs/x",
    "scnas emulate --no-such-option 3",
])
def test_command_check_refuses_prose_and_unknown_commands(command):
    assert command_problem(command) is not None


def test_command_check_takes_comments_and_continuations():
    text = "scnas estimate --model lenet5 \\\n    --accel systolic-32x32-ws --out runs/est   # a comment\n"
    [command] = shell_commands(text)
    assert command_problem(command) is None


def test_every_shell_block_line_is_fenced_as_sh():
    """A scnas command in an unlabelled block would escape the check above."""
    for page in PAGES:
        for _, text in fenced_blocks(page, ""):
            assert not shell_commands(text), f"{_name(page)}: label the block holding {text.splitlines()[0]!r} ```sh"


def test_relative_links_and_images_exist():
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                missing.append(f"{_name(page)} -> {target}")
    assert not missing, "\n".join(missing)
