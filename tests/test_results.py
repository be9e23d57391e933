"""The README's co-design tables are the committed runs' tables. scripts/codesign_table.py on
results/codesign/<model> (the results.json and config.toml of every run a table claims, copied
by scripts/keep_results.py) prints, line for line, the table lines the README holds between
`<!-- table: results/codesign/<model> -->` and `<!-- end table -->`: a table cannot drift from
its runs, claim a run that was not kept, or leave a kept run out. The kept teacher is the one
those runs were made from (its content hash is theirs)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path

import pytest

from reports.runs import find_runs, load_runs
from scnas.sweep import model_hash
from scnas.train import load_model

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
MODELS = sorted(d for d in (RESULTS / "codesign").iterdir() if d.is_dir()) if (RESULTS / "codesign").is_dir() else []


def printed_table(model_dir: Path) -> list[str]:
    """The table lines scripts/codesign_table.py prints for model_dir."""
    spec = importlib.util.spec_from_file_location("codesign_table", ROOT / "scripts" / "codesign_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        mod.main(str(model_dir))
    return [line for line in out.getvalue().splitlines() if line.startswith("|")]


def readme_table(model_dir: Path) -> list[str]:
    """The table lines of the README's block for model_dir."""
    text = (ROOT / "README.md").read_text()
    start = f"<!-- table: results/codesign/{model_dir.name} -->"
    assert text.count(start) == 1, f"the README has no single {start} block"
    block = text.split(start, 1)[1].split("<!-- end table -->", 1)[0]
    return [line for line in block.splitlines() if line.startswith("|")]


def test_lenet5_runs_are_committed():
    assert (RESULTS / "codesign" / "lenet5").is_dir(), "results/codesign/lenet5 holds the README's LeNet-5 runs"


@pytest.mark.parametrize("model_dir", MODELS, ids=[d.name for d in MODELS])
def test_readme_table_is_the_committed_runs(model_dir):
    printed = printed_table(model_dir)
    assert len(printed) >= 6  # two headers, two rules, a row of each table at least
    assert readme_table(model_dir) == printed


@pytest.mark.parametrize("model_dir", MODELS, ids=[d.name for d in MODELS])
def test_the_committed_teacher_is_the_runs_source(model_dir):
    teacher = RESULTS / "teachers" / f"{model_dir.name}-fashion-mnist"
    assert (teacher / "model.pt").is_file(), f"the teacher of results/codesign/{model_dir.name} is not kept in {teacher}"
    runs, _ = load_runs(find_runs([model_dir]))
    sources = {r.results.get("source_sha256") for r in runs if r.kind == "finetune"}
    others = {r.config.get("model_sha256") or r.results.get("identity", {}).get("model_sha256")
              for r in runs if r.kind != "finetune"}  # estimate (config.toml), emulate (results.json)
    assert {r.kind for r in runs} >= {"finetune", "estimate", "emulate"}
    assert sources | others == {model_hash(load_model(teacher)[0])}
