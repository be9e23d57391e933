"""`scnas dse confuciux`: run directory, table, plots, resume after a kill, exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

import scnas.dse_run as dse_run
from reports.schema import problems
from scnas.cli import main
from tests.scnas.helpers import cli_error

ARGS = ["dse", "confuciux", "--model", "lenet5", "--platform", "edge,cloud", "--workers", "1", "--budget", "60"]


def _results(out) -> dict:
    return json.loads((out / "results.json").read_text())


def test_confuciux_run_writes_table_history_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    res = _results(out)
    assert problems("dse", res) == []
    methods = [r["method"] for r in res["table"] if r["platform"] == "edge"]
    assert methods == ["baseline-dla", "RL", "RL+GA", "RL (unmasked)", "RL+GA (unmasked)", "random", "GA", "SA",
                       "optimum (DP)"]
    caps = {"edge": (256, 4096), "cloud": (4096, 8192)}
    for r in res["table"]:
        within = r["pes"] <= caps[r["platform"]][0] and r["buffer_bytes"] <= caps[r["platform"]][1]
        if r["method"] in ("baseline-dla", "RL", "RL+GA", "optimum (DP)"):  # masked or exact: always feasible
            assert r["feasible"] and within, r
        elif not r["feasible"]:  # the unmasked baselines may end over budget or with a tile that does not fit
            assert r["method"] in ("random", "GA", "SA", "RL (unmasked)", "RL+GA (unmasked)"), r
    opt = {r["platform"]: r["value"] for r in res["table"] if r["method"] == "optimum (DP)"}
    on_menu = [r for r in res["table"] if "RL+GA" not in r["method"] and r["method"] != "baseline-dla"]
    assert all(r["value"] >= opt[r["platform"]] * (1 - 1e-12) for r in on_menu)  # the DP is exact over the menus
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
        calls.append(task.platform.name)
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
    assert main(BD + ["--out", str(out)]) == 2  # another search on the same directory names the one it holds
    assert "holds a confuciux search with other settings" in cli_error(capsys)


@pytest.mark.parametrize("extra,match", [
    (["--pe-menu", "8,x"], "--pe-menu value 'x' is not a valid int"),
    (["--platform", "moon"], "unknown platform 'moon'"),
    (["--budget", "0"], "--budget 0 must be a positive integer"),
    (["--max-pes", "10"], "below the smallest design of 5 layers"),
    (["--accel", "systolic-32x32-ws"], "systolic array of one fixed shape"),
    (["--model", "nosuchnet"], "nosuchnet"),
    (["--max-area", "-5"], "--max-area -5.0 must be a positive area in um^2"),
    (["--max-area", "1"], "the area cap (1 um^2) is below the smallest design's area"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path, capsys, extra, match):
    out = tmp_path / "run"
    assert main(ARGS + extra + ["--out", str(out)]) == 2
    assert match in cli_error(capsys)
    assert not (out / "results.json").exists() and not (out / "tasks").exists()


BD = ["dse", "batchdvfs", "--model", "lenet5", "--workers", "1", "--max-batch", "8", "--trials", "10",
      "--power-cap", "0.3,0.8"]


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


def _ev(teacher, out, *extra) -> list[str]:
    return ["dse", "evolver", "--model", str(teacher), "--dataset", "digits", "--lengths", "16,64,256",
            "--episodes", "40", "--eval-images", "80", "--final-images", "80", "--calib", "80",
            "--acc-drop", "30", "--out", str(out), *extra]


def test_evolver_run_writes_policy_table_and_plots_and_resumes_after_a_kill(teacher, tmp_path, capsys, monkeypatch):
    from sc_accel.dse.evolver import EvolverProblem

    whole = tmp_path / "ev"
    assert main(_ev(teacher, whole)) == 0
    res = _results(whole)
    assert problems("dse", res) == []
    ev = res["evolver"]
    assert ev["policies"] >= 40 and 0 <= ev["skipped"] <= ev["policies"]
    assert [x["layer"] for x in ev["layers"]] == ["features_0", "features_3", "classifier_0", "classifier_2",
                                                  "classifier_4"]
    assert all(x["stream_length"] in (16, 64, 256) for x in ev["layers"])
    assert ev["proxy_accuracy"] > res["thresholds"]["accuracy"]
    assert ev["latency_norm"] < 0.5 and ev["energy_norm"] < 0.5 and 0 <= ev["bit_accuracy"] <= 1
    assert res["uniform"] is None or len({x["stream_length"] for x in res["uniform"]["layers"]}) == 1
    assert "Q-learning" in capsys.readouterr().out
    assert (whole / "convergence.png").stat().st_size > 0
    # killed after the checkpoint at episode 25: the rerun resumes and ends with the same results
    real, calls = EvolverProblem.evaluate, []

    def dies(self, policy):
        calls.append(policy)
        if len(calls) == 30:
            raise KeyboardInterrupt
        return real(self, policy)

    part = tmp_path / "part"
    monkeypatch.setattr(EvolverProblem, "evaluate", dies)
    assert main(_ev(teacher, part)) == 130
    assert (part / "checkpoint.json").is_file() and not (part / "results.json").exists()
    monkeypatch.setattr(EvolverProblem, "evaluate", real)
    assert main(_ev(teacher, part)) == 0
    a, b = _results(whole), _results(part)
    assert a == b


@pytest.mark.parametrize("extra,match", [
    (["--lengths", "16,x"], "--lengths value 'x' is not a valid int"),
    (["--accel", "systolic-32x32-ws", "--bits", "8/0"], "bit pair (8, 0) must be (activation, weight) bits"),
    (["--episodes", "0"], "--episodes 0 must be a positive integer"),
    (["--latency-th", "2"], "threshold latency=2.0 must be a number in [0, 1]"),
    (["--lengths", "0,16"], "stream lengths [0] are not integers from 1 to 2^20"),
])
def test_evolver_bad_input(teacher, tmp_path, capsys, extra, match):
    out = tmp_path / "ev"
    assert main(_ev(teacher, out, *extra)) == 2
    assert match in cli_error(capsys)
    assert not (out / "results.json").exists()


def test_evolver_on_a_binary_array_picks_bit_pairs(teacher, tmp_path, capsys):
    out = tmp_path / "evb"
    args = ["dse", "evolver", "--model", str(teacher), "--dataset", "digits", "--accel", "systolic-32x32-ws",
            "--bits", "4/4,8/4,8/8", "--episodes", "30", "--eval-images", "80", "--final-images", "80",
            "--calib", "80", "--acc-drop", "30", "--out", str(out)]
    assert main(args) == 0
    res = _results(out)
    assert problems("dse", res) == [] and res["proxy_calibration"] == []
    for x in res["evolver"]["layers"]:
        assert (x["bits"], x["weight_bits"]) in ((4, 4), (8, 4), (8, 8))
    assert "/" in capsys.readouterr().out
    assert main(args[:-1] + [str(tmp_path / "bad")] + ["--bits", "8x4"]) == 2
    assert "--bits value '8x4' is not an activation/weight pair" in cli_error(capsys)


def test_a_resume_with_another_input_shape_is_refused_by_name(tmp_path, capsys):
    """The layer shapes are part of the settings: the same model name at another input size is
    another search."""
    out = tmp_path / "run"
    args = ["dse", "confuciux", "--model", "lenet5", "--platform", "edge", "--budget", "20", "--agents", "masked",
            "--workers", "1", "--out", str(out)]
    assert main(args) == 0
    before = (out / "results.json").read_text()
    capsys.readouterr()
    assert main(args + ["--input-shape", "1,1,32,32"]) == 2
    assert "other settings (workloads)" in capsys.readouterr().err
    assert (out / "results.json").read_text() == before
