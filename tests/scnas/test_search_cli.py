"""`scnas search --quick` end to end on digits: results.json in the report layout, a model.pt
loadable like a train run's that the emulator and the estimator accept, a rerun that resumes,
and bad input refused with exit 2 before anything is trained."""

from __future__ import annotations

import json
import math

import pytest
import torch

from reports.schema import problems
from sc_accel.hw import estimate, presets
from sc_accel.metrics import top1_accuracy
from scnas.cli import main
from scnas.data import load_dataset
from scnas.scoring import sc_accuracy
from scnas.train import load_model
from tests.scnas.helpers import cli_error

QUICK = ["search", "--quick", "--workers", "1", "--sc-limit", "20", "--sc-length", "64"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    assert main(QUICK + ["--sc-aware", "16", "--sc-aware-epochs", "1", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_quick_search_writes_results_model_and_plots(quick_run):
    out, res = quick_run
    assert problems("search", res) == []
    assert res["method"] == "inheritednas-latency" and res["dataset"] == "digits"
    assert [s["name"] for s in res["stages"]] == ["stage 1 (8 ch, 8x8)", "stage 2 (16 ch, 4x4)"]
    assert all(s["ops"] and s["edges"] for s in res["stages"])
    assert len(res["candidates"]) >= 1 and res["history"]["stages"]
    assert res["search_seconds"] > 0 and 0 <= res["final"]["sc_accuracy"] <= 1
    for f in ("model.pt", "genotype.json", "config.toml", "pareto.png", "ops_run.png", "network_run.png"):
        assert (out / f).is_file(), f
    tuned = json.loads((out / "sc-aware" / "results.json").read_text())  # --sc-aware 16: the searched network
    assert tuned["sc_config"]["stream_length"] == 16 and tuned["n_test_images"] > 0
    assert tuned["model"].startswith("nas-") and problems("finetune", tuned) == []
    assert torch.load(out / "sc-aware" / "model.pt", weights_only=True)["kind"] == "nas-model"


def test_model_pt_loads_like_a_train_run_and_scores_the_same(quick_run):
    out, res = quick_run
    model, meta = load_model(out)
    ds = load_dataset("digits")
    assert meta["kind"] == "nas-model" and meta["genotype"] == res["genotype"]
    assert top1_accuracy(model, ds.x_test, ds.y_test) == res["final"]["accuracy"]
    total = estimate(model, (1, 1, 8, 8), presets()["systolic-32x32-ws"]).total
    assert math.isclose(total["latency_s"], res["final"]["latency_s"], rel_tol=1e-12)
    assert math.isclose(res["final"]["table_latency_s"], total["latency_s"], rel_tol=1e-9)  # tables = estimator
    assert sc_accuracy(model, ds, 64, 20) == res["final"]["sc_accuracy"]  # the emulator takes it, bit-true


def test_rerun_resumes_from_the_checkpoints(quick_run, capsys):
    out, res = quick_run
    assert main(QUICK + ["--out", str(out)]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["genotype"] == res["genotype"] and again["final"]["accuracy"] == res["final"]["accuracy"]
    assert again["wall_seconds_this_call"] < res["wall_seconds_this_call"]  # nothing was retrained


@pytest.mark.parametrize("change, named", [(["--accel", "spatial-16x16-kcp"], "accel 'systolic-32x32-ws' -> "),
                                           (["--lambda", "2"], "lam 0.5 -> 2"),
                                           (["--sc-length", "128"], "sc_length 64 -> 128")])
def test_a_rerun_with_other_settings_is_refused_and_changes_nothing(quick_run, change, named, capsys):
    out, _ = quick_run
    files = {f: f.read_bytes() for f in out.iterdir() if f.is_file() and f.name != ".lock"}
    capsys.readouterr()
    assert main(QUICK + change + ["--out", str(out)]) == 2
    assert named in cli_error(capsys)
    assert {f: f.read_bytes() for f in out.iterdir() if f.is_file() and f.name != ".lock"} == files


def test_report_reads_the_search_run(quick_run, tmp_path):
    from reports.report import build_report

    rep = build_report([quick_run[0]], tmp_path / "report")
    assert rep.warnings == [] and {r.kind for r in rep.runs} == {"search"}
    assert any(f.name.startswith("nas-network") for f, _ in rep.figures)


@pytest.mark.parametrize("extra,match", [(["--lambda", "-1"], "lambda=-1.0 must be"),
                                         (["--ops", "skip,conv9"], "unknown op 'conv9'"),
                                         (["--channels", "8,x"], "--channels value 'x'"),
                                         (["--warmup-epochs", "5"], "warmup"),
                                         (["--workers", "0"], "--workers 0"),
                                         (["--search-images", "20"], "search_images=20 gives"),
                                         (["--eval-images", "1500"], "too few beside the 1500 held out"),
                                         (["--accel", "tpu-v9"], "unknown accelerator"),
                                         (["--teacher", "lenet5"], "no stem, blocks and head"),
                                         (["--teacher", "resnet20"], "teacher's stages")])
def test_bad_input_is_one_sentence_and_exit_2(extra, match, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(QUICK + ["--out", str(out), "--teacher-dir", str(tmp_path / "teachers")] + extra) == 2
    assert match in cli_error(capsys)
    assert not (out / "results.json").exists() and not (tmp_path / "teachers").exists()  # nothing trained


def test_another_commands_run_directory_is_refused(tmp_path, capsys):
    (tmp_path / "config.toml").write_text('command = "train"\n')
    assert main(QUICK + ["--out", str(tmp_path)]) == 2
    assert "run directory of `scnas train`" in cli_error(capsys)


def test_method_label_names_a_lambda_other_than_the_default():
    from nas import SearchConfig
    from scnas.search_run import method_label

    assert method_label(SearchConfig()) == "inheritednas-latency"
    assert method_label(SearchConfig(penalty="flops", lam=2.0)) == "inheritednas-flops-lambda2"
    assert method_label(SearchConfig(method="random", lam=0.25)) == "random-lambda0.25"
    assert method_label(SearchConfig(method="darts", lam=2.0)) == "darts"  # darts has no penalty
