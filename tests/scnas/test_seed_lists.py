"""`--seed 0,1,2`: one sub-run per seed in OUT/seed-N, each a normal (resumable) run directory."""

from __future__ import annotations

import json

import pytest

from scnas import sweep
from scnas.cli import main
from scnas.config import read_toml
from tests.scnas.helpers import cli_error


def _emulate(teacher, out) -> list[str]:
    return ["emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32", "--limit", "40",
            "--seed", "0,5", "--out", str(out)]


def test_emulate_seed_list_makes_one_run_per_seed_and_resumes(teacher, tmp_path, capsys, monkeypatch):
    out = tmp_path / "emu"
    assert main(_emulate(teacher, out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed-0", "seed-5"]
    cfgs = {s: read_toml(out / f"seed-{s}" / "config.toml") for s in (0, 5)}
    assert {s: c["seed"] for s, c in cfgs.items()} == {0: 0, 5: 5}
    shared = [{k: v for k, v in c.items() if k not in ("seed", "run")} for c in cfgs.values()]
    assert shared[0] == shared[1]  # the sub-runs differ only in their seed, so a report groups them
    assert f"--seed 5 --out {out / 'seed-5'}" in cfgs[5]["run"]["argv"]  # --config reruns that seed alone
    res = {s: json.loads((out / f"seed-{s}" / "results.json").read_text()) for s in (0, 5)}
    assert {s: r["settings"][0]["config"]["seed"] for s, r in res.items()} == {0: 0, 5: 5}
    text = capsys.readouterr().out
    assert "seed 0: " in text and "seed 5: " in text and "over 2 seeds: " in text
    before = {s: (out / f"seed-{s}" / "results.json").read_text() for s in (0, 5)}

    def no_work(*a, **k):
        raise AssertionError("a finished setting was emulated again")

    monkeypatch.setattr(sweep, "_evaluate", no_work)
    assert main(_emulate(teacher, out)) == 0  # every sub-run is finished: nothing is done twice
    assert {s: (out / f"seed-{s}" / "results.json").read_text() for s in (0, 5)} == before


def test_train_seed_list_resumes_and_a_single_seed_keeps_the_layout(tmp_path, capsys):
    args = ["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--seed", "1,2", "--out",
            str(tmp_path / "t")]
    assert main(args) == 0
    assert [read_toml(tmp_path / "t" / f"seed-{s}" / "config.toml")["seed"] for s in (1, 2)] == [1, 2]
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.count("lenet5 has trained its 1 epoch already; nothing to redo") == 2
    one = tmp_path / "one"
    assert main(args[:-3] + ["7", "--out", str(one)]) == 0
    assert (one / "config.toml").is_file() and read_toml(one / "config.toml")["seed"] == 7
    assert main(args[:-1] + [str(one)]) == 2  # a seed list never nests inside a one-seed run
    assert "is the run directory of one seed" in cli_error(capsys, whole=False)


@pytest.mark.parametrize("command", [
    ["train", "--model", "lenet5", "--dataset", "digits"],
    ["emulate", "--model", "lenet5", "--dataset", "digits"],
    ["recast", "--teacher", "resnet20", "--dataset", "digits"],
    ["search", "--quick"],
])
@pytest.mark.parametrize("seeds,msg", [
    ("0,,1", "has an empty item"), ("a", "value 'a' is not an integer"), ("0,-1", "--seed -1 is negative"),
    ("0,1,0", "repeats seed 0"), ("", "has an empty item"),
])
def test_bad_seed_lists_are_refused_before_anything_is_written(command, seeds, msg, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(command + [f"--seed={seeds}", "--out", "o", "--teacher-dir" if command[0] != "train" else
                           "--data-dir", "t"]) == 2
    assert msg in cli_error(capsys)
    assert list(tmp_path.iterdir()) == []
