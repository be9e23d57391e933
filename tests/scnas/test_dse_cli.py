"""`scnas dse confuciux`: run directory, table, plots, resume after a kill, exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

import scnas.dse_run as dse_run
from reports.schema import problems
from scnas.cli import main
from tests.scnas.helpers import cli_error

ARGS = ["dse", "confuciux", "--model", "lenet5", "--platform", "edge,cloud", "--budget", "60"]


def _results(out) -> dict:
    return json.loads((out / "results.json").read_text())


def test_confuciux_run_writes_table_history_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    res = _results(out)
    assert problems("dse", res) == []
    methods = [r["method"] for r in res["table"] if r["platform"] == "edge"]
    assert methods == ["baseline-dla", "RL", "RL+GA", "random", "GA", "SA", "optimum (DP)"]
    caps = {"edge": (256, 4096), "cloud": (4096, 8192)}
    for r in res["table"]:
        within = r["pes"] <= caps[r["platform"]][0] and r["buffer_bytes"] <= caps[r["platform"]][1]
        if r["method"] in ("baseline-dla", "RL", "RL+GA", "optimum (DP)"):  # masked or exact: always feasible
            assert r["feasible"] and within, r
        elif not r["feasible"]:  # the unmasked baselines may end over budget or with a tile that does not fit
            assert r["method"] in ("random", "GA", "SA"), r
    opt = {r["platform"]: r["value"] for r in res["table"] if r["method"] == "optimum (DP)"}
    assert all(r["value"] >= opt[r["platform"]] * (1 - 1e-12) for r in res["table"])
    assert {h["method"].split(": ")[0] for h in res["history"]} == {"edge/lenet5", "cloud/lenet5"}
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["cloud-lenet5.json", "edge-lenet5.json"]
    for f in ("convergence.png", "confuciux.png", "config.toml"):
        assert (out / f).stat().st_size > 0
    text = capsys.readouterr().out
    assert "edge     lenet5       RL+GA" in text and "optimum (DP)" in text


def test_killed_run_resumes_to_the_same_results(tmp_path, monkeypatch):
    """A kill after the first task keeps its file; the rerun does only the second and ends
    with the results of an uninterrupted run."""
    whole = tmp_path / "whole"
    assert main(ARGS + ["--out", str(whole)]) == 0
    calls = []
    real = dse_run.assign_job

    def dies_on_second(task):
        calls.append(task["platform"]["name"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(dse_run, "assign_job", dies_on_second)
    part = tmp_path / "part"
    assert main(ARGS + ["--out", str(part)]) == 130
    assert [p.name for p in (part / "tasks").iterdir()] == ["edge-lenet5.json"]
    assert not (part / "results.json").exists()
    calls.clear()
    assert main(ARGS + ["--out", str(part)]) == 0
    assert calls == ["cloud"]  # only the missing task ran
    a, b = _results(whole), _results(part)
    assert a == b


def test_rerun_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    capsys.readouterr()
    assert main(ARGS[:-1] + ["80", "--out", str(out)]) == 2
    assert "other settings (budget)" in cli_error(capsys)


@pytest.mark.parametrize("extra,match", [
    (["--pe-menu", "8,x"], "--pe-menu value 'x' is not a valid int"),
    (["--platform", "moon"], "unknown platform 'moon'"),
    (["--budget", "0"], "--budget 0 must be a positive integer"),
    (["--max-pes", "10"], "below the smallest design of 5 layers"),
    (["--accel", "systolic-32x32-ws"], "systolic array of one fixed shape"),
    (["--model", "nosuchnet"], "nosuchnet"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path, capsys, extra, match):
    out = tmp_path / "run"
    assert main(ARGS + extra + ["--out", str(out)]) == 2
    assert match in cli_error(capsys)
    assert not (out / "results.json").exists() and not (out / "tasks").exists()


BD = ["dse", "batchdvfs", "--model", "lenet5", "--max-batch", "8", "--trials", "10", "--power-cap", "0.3,0.8"]


def test_batchdvfs_run_writes_table_and_plots(tmp_path, capsys):
    out = tmp_path / "bd"
    assert main(BD + ["--out", str(out)]) == 0
    res = _results(out)
    assert problems("dse", res) == []
    assert [(r["power_cap_w"], r["method"]) for r in res["batchdvfs"]] == [
        (c, m) for c in (0.3, 0.8) for m in ("exhaustive", "binary search", "bayesian (TPE)")]
    for r in res["batchdvfs"]:
        assert r["batch"] is None or r["power_w"] <= r["power_cap_w"]
    assert len(res["operating_points"]) == 11
    assert (out / "convergence.png").stat().st_size > 0 and (out / "batchdvfs_bd.png").stat().st_size > 0
    assert "bayesian (TPE)" in capsys.readouterr().out
    # a rerun finds every cap done and rewrites the same results
    assert main(BD + ["--out", str(out)]) == 0
    assert _results(out) == res


@pytest.mark.parametrize("extra,match", [
    (["--power-cap", "0.5,-1"], "power cap -1.0 must be a positive number of watts"),
    (["--power-cap", "a"], "--power-cap value 'a' is not a valid float"),
    (["--max-batch", "0"], "--max-batch 0 must be a positive integer"),
])
def test_batchdvfs_bad_input(tmp_path, capsys, extra, match):
    out = tmp_path / "bd"
    assert main(BD + extra + ["--out", str(out)]) == 2
    assert match in cli_error(capsys)
    assert not (out / "results.json").exists()
