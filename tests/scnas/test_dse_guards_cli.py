"""`scnas dse` guards (issue 24): sizes that would run for minutes, garbage accelerator files,
damaged task files, empty list flags and bad seeds give one sentence and exit 2 (or, for a
damaged task part, a note and a recomputed task), before any work."""

from __future__ import annotations

import json

import pytest

import scnas.estimate_run as estimate_run
from scnas.cli import main
from tests.scnas.helpers import cli_error

CX = ["dse", "confuciux", "--model", "lenet5", "--platform", "edge", "--workers", "1", "--budget", "20"]
BD = ["dse", "batchdvfs", "--model", "lenet5", "--workers", "1", "--max-batch", "2", "--trials", "3",
      "--power-cap", "0.5"]
EV = ["dse", "evolver", "--model", "lenet5", "--dataset", "digits", "--episodes", "5"]


def _no_model(*a, **k):
    raise AssertionError("a model was built before the arguments were checked")


@pytest.mark.parametrize("args,match", [
    (["dse", "confuciux", "--budget", "1000000000000"],
     "--budget 1000000000000 must be an integer from 2 to 1,000,000"),
    (["dse", "batchdvfs", "--max-batch", "1000000000"], "--max-batch 1000000000 must be an integer from 1 to 4,096"),
    (["dse", "batchdvfs", "--trials", "1000000000"], "--trials 1000000000 must be an integer from 1 to 10,000"),
    (["dse", "batchdvfs", "--power-cap", ",".join(["1"] * 65)], "give 1 to 64 power caps"),
    (["dse", "confuciux", "--max-pes", "10000000000000"], "max_pes=10000000000000 must be an integer from 1 to"),
    (["dse", "confuciux", "--pe-menu", ",".join(str(i) for i in range(1, 100))], "99 choices, more than 64"),
    (["dse", "evolver", "--episodes", "1000000000"], "--episodes 1000000000 must be an integer from 1 to 100,000"),
    (["dse", "evolver", "--samples", "100000000"], "--samples 100000000 must be an integer from 1 to 1,024"),
])
def test_sizes_that_would_run_for_minutes_are_refused_before_any_work(tmp_path, capsys, monkeypatch, args, match):
    monkeypatch.setattr(estimate_run, "resolve_model", _no_model)
    out = tmp_path / "run"
    assert main(args + ["--out", str(out)]) == 2
    assert match in cli_error(capsys)
    assert not out.exists()


@pytest.fixture
def garbage_accel(tmp_path):
    f = tmp_path / "accel.toml"
    f.write_bytes(bytes(range(256)) * 10)
    return f


@pytest.mark.parametrize("args", [CX, BD, EV, ["estimate", "--model", "lenet5"],
                                  ["search", "--quick", "--dataset", "digits"]])
def test_a_binary_accelerator_file_is_one_sentence_in_every_command(tmp_path, capsys, garbage_accel, args):
    out = tmp_path / "run"
    assert main(args + ["--accel", str(garbage_accel), "--out", str(out)]) == 2
    line = cli_error(capsys)
    assert str(garbage_accel) in line and "not UTF-8" in line
    assert not out.exists()


@pytest.mark.parametrize("args,flag,value", [
    (CX, "--pe-menu", ""), (CX, "--buffer-menu", ""), (CX, "--platform", ""), (CX, "--model", ""),
    (BD, "--power-cap", ""), (BD, "--power-cap", " , "), (EV, "--lengths", ""),
    (EV + ["--accel", "systolic-32x32-ws"], "--bits", ""),
])
def test_an_explicitly_empty_list_flag_is_refused(tmp_path, capsys, args, flag, value):
    out = tmp_path / "run"
    assert main(args + [flag, value, "--out", str(out)]) == 2
    assert f"{flag} is empty; give a comma-separated list" in cli_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("args", [CX, BD, EV])
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_a_seed_out_of_range_is_refused_by_every_dse_command(tmp_path, capsys, monkeypatch, args, seed):
    monkeypatch.setattr(estimate_run, "resolve_model", _no_model)
    out = tmp_path / "run"
    assert main(args + ["--seed", seed, "--out", str(out)]) == 2
    assert f"--seed {seed} must be an integer from 0 to 2^32 - 1" in cli_error(capsys)
    assert not out.exists()


@pytest.fixture
def unknown_precision_accel(tmp_path):
    f = tmp_path / "sc.toml"
    f.write_text('name = "sc-p"\nkind = "sc"\nrows = 16\ncols = 16\ndataflow = "kcp"\n'
                 "[precision.nosuchlayer]\nstream_length = 64\n")
    return f


@pytest.mark.parametrize("search", ["confuciux", "batchdvfs", "evolver"])
def test_an_unknown_precision_layer_is_refused_by_all_three_searches_before_writing(
        tmp_path, capsys, unknown_precision_accel, teacher, search):
    args = {"confuciux": CX, "batchdvfs": BD,
            "evolver": ["dse", "evolver", "--model", str(teacher), "--dataset", "digits", "--episodes", "1",
                        "--eval-images", "40", "--final-images", "40", "--calib", "40"]}[search]
    out = tmp_path / "run"
    assert main(args + ["--accel", str(unknown_precision_accel), "--out", str(out)]) == 2
    assert "name layers ['nosuchlayer'] that the model does not have" in cli_error(capsys)
    assert not out.exists()


def _part(out, name):
    return out / "tasks" / f"{name}.json"


def _damage(kind: str, good: dict) -> bytes:
    if kind == "garbage":
        return bytes(range(256)) * 4
    if kind == "truncated":
        return json.dumps(good).encode()[:40]
    if kind == "missing keys":
        return json.dumps({k: v for k, v in good.items() if k != "rows"}).encode()
    if kind == "wrong type":
        rows = [dict(good["rows"][0], pes="many")] + good["rows"][1:]
        return json.dumps({**good, "rows": rows}).encode()
    if kind == "other task":
        return json.dumps({**good, "platform": "cloud"}).encode()
    return b"[]"  # valid JSON, not a mapping


@pytest.mark.parametrize("kind", ["garbage", "truncated", "missing keys", "wrong type", "other task", "list"])
def test_a_damaged_confuciux_task_file_is_recomputed_with_a_note(tmp_path, capsys, kind):
    out = tmp_path / "run"
    assert main(CX + ["--out", str(out)]) == 0
    whole = json.loads((out / "results.json").read_text())
    f = _part(out, "edge-lenet5")
    f.write_bytes(_damage(kind, json.loads(f.read_text())))
    capsys.readouterr()
    assert main(CX + ["--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{f} is damaged" in err and "recomputing that task" in err and "Traceback" not in err
    assert json.loads((out / "results.json").read_text()) == whole
    json.loads(f.read_text())  # rewritten whole


def test_a_damaged_batchdvfs_task_file_is_recomputed_with_a_note(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(BD + ["--out", str(out)]) == 0
    whole = json.loads((out / "results.json").read_text())
    f = _part(out, "cap-0.5W")
    good = json.loads(f.read_text())
    f.write_text(json.dumps({**good, "rows": [{**good["rows"][0], "batch": "2"}]}))
    capsys.readouterr()
    assert main(BD + ["--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{f} is damaged" in err and "rows[0].batch" in err and "Traceback" not in err
    assert json.loads((out / "results.json").read_text()) == whole


def test_a_damaged_evolver_checkpoint_starts_the_search_over(tmp_path, capsys, teacher):
    args = ["dse", "evolver", "--model", str(teacher), "--dataset", "digits", "--lengths", "16,64",
            "--episodes", "6", "--eval-images", "40", "--final-images", "40", "--calib", "40", "--acc-drop", "30",
            "--out", str(tmp_path / "ev")]
    assert main(args) == 0
    whole = json.loads((tmp_path / "ev" / "results.json").read_text())
    ck = tmp_path / "ev" / "checkpoint.json"
    saved = json.loads(ck.read_text())
    for bad in (b"{not json", json.dumps({**saved, "learner": {**saved["learner"], "q": [[1.0]]}}).encode()):
        ck.write_bytes(bad)
        capsys.readouterr()
        assert main(args) == 0
        err = capsys.readouterr().err
        assert f"{ck} is damaged" in err and "starts over" in err and "Traceback" not in err
        assert json.loads((tmp_path / "ev" / "results.json").read_text()) == whole
