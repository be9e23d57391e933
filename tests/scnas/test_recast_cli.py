"""`scnas recast` end to end on digits: results.json in the report layout, a loadable student,
resume from the run directory, and bad plans refused with exit 2 before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reports.schema import problems
from sc_accel.metrics import top1_accuracy
from scnas.cli import main
from scnas.data import load_dataset
from scnas.recast_run import remeasure_cpu_latency, run_models
from scnas.train import load_model
from tests.scnas.helpers import cli_error

ARGS = ["recast", "--teacher", "resnet20", "--dataset", "digits", "--epochs", "1", "--train-limit", "256",
        "--finetune-epochs", "1", "--sc-length", "32", "--sc-limit", "40"]


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("teachers"))


def test_recast_run_writes_results_student_and_plots(tmp_path, teacher_dir, capsys):
    out = tmp_path / "run"
    assert main(ARGS + ["--plan", "half-width", "--baselines", "--teacher-dir", teacher_dir, "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert problems("recast", res) == []
    roles = [m["role"] for m in res["models"]]
    assert roles == ["teacher", "student", "baseline", "baseline", "baseline"]
    assert [m.get("baseline") for m in res["models"][2:]] == ["scratch", "kd", "pruned"]
    teacher, student = res["models"][:2]
    assert student["params"] < 0.5 * teacher["params"] and student["macs"] < 0.5 * teacher["macs"]
    assert res["models"][4]["params"] <= student["params"]  # pruned to the student's size
    assert len(res["block_history"]) == 9 and all(np.isfinite(h["loss"]) for h in res["block_history"])
    for f in ("student.pt", "accuracy_vs_latency.png", "reduction_vs_speedup.png", "matching_loss.png"):
        assert (out / f).is_file()
    model, meta = load_model(out)  # the run directory's student.pt, rebuilt around its teacher
    ds = load_dataset("digits")
    assert top1_accuracy(model, ds.x_test, ds.y_test) == pytest.approx(student["accuracy"])
    assert model(torch.as_tensor(ds.x_test[:2])).shape == (2, 10)
    # a rerun on the same directory resumes from the finished checkpoint: same student and history
    assert main(ARGS + ["--plan", "half-width", "--baselines", "--teacher-dir", teacher_dir, "--out", str(out)]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["block_history"] == res["block_history"]
    assert again["models"][1]["accuracy"] == student["accuracy"]
    # a rerun with other settings is refused by name before anything is written (the last flag wins)
    files = {f: f.read_bytes() for f in out.iterdir() if f.is_file() and f.name != ".lock"}
    capsys.readouterr()
    for change, named in ((["--plan", "plain"], "plan 'half-width' -> 'plain'"),
                          (["--plan", "half-width", "--train-limit", "300"], "train_images 256 -> 300"),
                          (["--plan", "half-width", "--sc-length", "64"], "sc_length 32 -> 64")):
        assert main(ARGS + change + ["--baselines", "--teacher-dir", teacher_dir, "--out", str(out)]) == 2
        assert named in cli_error(capsys)
        assert {f: f.read_bytes() for f in out.iterdir() if f.is_file() and f.name != ".lock"} == files
    # every model of the run is rebuilt from its checkpoint (same accuracy) and re-timed in one pass
    models, shape = run_models(out)
    assert shape == (1, 1, 8, 8)
    assert ([top1_accuracy(m, ds.x_test, ds.y_test) for m in models]
            == pytest.approx([m["accuracy"] for m in res["models"]]))
    timed = remeasure_cpu_latency([out], repeats=3)[0]
    assert timed["cpu_latency"]["repeats"] == 3 and all(m["cpu_latency_s"] > 0 for m in timed["models"])
    assert json.loads((out / "results.json").read_text()) == timed


@pytest.mark.parametrize("plan,match", [("hexagonal", "neither a preset"), ("missing.toml", "does not exist")])
def test_bad_plan_exits_2_and_writes_nothing(tmp_path, teacher_dir, capsys, plan, match):
    out = tmp_path / "run"
    assert main(ARGS + ["--plan", plan, "--teacher-dir", teacher_dir, "--out", str(out)]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


def test_plan_file_with_the_wrong_block_count_exits_2(tmp_path, teacher_dir, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('[[block]]\ntype = "plain"\n')
    assert main(ARGS + ["--plan", str(plan), "--teacher-dir", teacher_dir, "--out", str(tmp_path / "run")]) == 2
    assert "lists 1 blocks but the teacher has 9" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_teacher_without_blocks_exits_2(tmp_path, teacher_dir, capsys):
    args = [a if a != "resnet20" else "lenet5" for a in ARGS]
    assert main(args + ["--teacher-dir", teacher_dir, "--out", str(tmp_path / "run")]) == 2
    assert "no `stem`, `blocks` and `head`" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_model_without_blocks_recasts_by_named_modules(tmp_path, teacher_dir, capsys):
    """vgg_small is a bare Sequential: the plan names its blocks; the student reloads from its run."""
    plan = tmp_path / "plan.toml"
    plan.write_text('type = "dwsep"\nmodules = ["3", "4"]\n')
    out = tmp_path / "run"
    args = [a if a != "resnet20" else "vgg_small" for a in ARGS]
    assert main(args + ["--plan", str(plan), "--baselines", "--teacher-dir", teacher_dir, "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert len(res["block_history"]) == 2 and [m.get("baseline") for m in res["models"][2:]] == ["scratch", "kd",
                                                                                                   "pruned"]
    model, meta = load_model(out)
    assert meta["modules"] == ["3", "4"]
    ds = load_dataset("digits")
    assert top1_accuracy(model, ds.x_test, ds.y_test) == pytest.approx(res["models"][1]["accuracy"])
    plan.write_text('type = "dwsep"\nmodules = ["3", "9"]\n')  # 9 is a flatten: not a chain of blocks
    bad = tmp_path / "bad"
    assert main(args + ["--plan", str(plan), "--teacher-dir", teacher_dir, "--out", str(bad)]) == 2
    assert "feed each other directly" in capsys.readouterr().err
    assert not bad.exists()


def test_a_non_finite_loss_stops_on_a_line_of_its_own_and_leaves_no_student(tmp_path, teacher_dir, capsys):
    out = tmp_path / "nan"
    assert main(ARGS + ["--plan", "plain", "--lr", "1e30", "--teacher-dir", teacher_dir, "--out", str(out)]) == 2
    last = capsys.readouterr().err.rstrip("\n").split("\n")[-1]
    # what the terminal shows last: the progress bar was cleared, the sentence starts its own line
    assert last.split("\r")[-1].startswith("scnas: error: the loss became") and "Traceback" not in last
    assert not (out / "student.pt").exists()


def test_recast_then_sc_aware_fine_tune_of_the_student(tmp_path, teacher_dir, capsys):
    """--sc-aware L fine-tunes the recast student into RUN/sc-aware, a finetune run whose model
    loads like the student and records the SCConfig; a bad length is refused before training."""
    out = tmp_path / "run"
    assert main(ARGS + ["--plan", "half-width", "--teacher-dir", teacher_dir, "--sc-aware", "0", "--out",
                        str(out)]) == 2
    assert "stream" in cli_error(capsys) and not out.exists()
    assert main(ARGS + ["--plan", "half-width", "--teacher-dir", teacher_dir, "--sc-aware", "16",
                        "--sc-aware-epochs", "1", "--out", str(out)]) == 0
    res = json.loads((out / "sc-aware" / "results.json").read_text())
    assert res["sc_config"]["stream_length"] == 16 and [h["mode"] for h in res["history"]] == ["bit"]
    model, meta = load_model(out / "sc-aware")
    assert meta["kind"] == "recast-student" and meta["sc_config"]["stream_length"] == 16
    # the student's own weights unless a trained epoch beat them on the held-out images
    assert (res["kept_epoch"] == 0) == (res["source_sha256"] == res["model_sha256"])


@pytest.mark.parametrize("flag,value", [("--reinit-next", "sometimes"), ("--train-stem", "maybe"),
                                        ("--lr-schedule", "cosine"), ("--lr-gamma", "0"),
                                        ("--lr-step-fraction", "1.5")])
def test_a_bad_reference_option_exits_2_with_one_sentence(tmp_path, teacher_dir, capsys, flag, value):
    out = tmp_path / "run"
    try:
        code = main(ARGS + ["--plan", "plain", flag, value, "--teacher-dir", teacher_dir, "--out", str(out)])
    except SystemExit as e:  # argparse's refusals (choices, types) leave through Parser.error
        code = e.code
    assert code == 2
    assert value in cli_error(capsys) and not out.exists()


def test_the_reference_options_reach_the_run_and_a_changed_one_is_refused_by_name(tmp_path, teacher_dir, capsys):
    out = tmp_path / "run"
    ref = ["--reinit-next", "always", "--train-stem", "on", "--lr-schedule", "step", "--lr-gamma", "0.5"]
    assert main(ARGS + ["--plan", "plain", *ref, "--teacher-dir", teacher_dir, "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert {k: res["config"][k] for k in ("reinit_next", "train_stem", "lr_schedule", "lr_gamma")} == {
        "reinit_next": "always", "train_stem": True, "lr_schedule": "step", "lr_gamma": 0.5}
    student, _ = load_model(out)
    teacher, _ = load_model(f"{teacher_dir}/resnet20-digits")
    assert not torch.equal(student.stem[0].weight, teacher.stem[0].weight)  # the stem was trained
    capsys.readouterr()
    for change, named in ((["--train-stem", "off"], "train_stem True -> False"),
                          (["--reinit-next", "width-change"], "reinit_next 'always' -> 'width-change'"),
                          (["--lr-schedule", "constant"], "lr_schedule 'step' -> 'constant'")):
        kept = ref[:6] if "constant" in change else ref  # --lr-gamma acts only with the step schedule
        argv = ARGS + ["--plan", "plain", *kept, *change, "--teacher-dir", teacher_dir, "--out", str(out)]
        assert main(argv) == 2
        assert named in cli_error(capsys)


@pytest.mark.parametrize("flag", ["--lr-gamma", "--lr-step-fraction"])
def test_a_step_schedule_option_without_the_step_schedule_is_refused(tmp_path, capsys, flag):
    out = tmp_path / "r"
    assert main(["recast", "--dataset", "digits", flag, "0.5", "--out", str(out)]) == 2
    assert f"{flag} acts only with --lr-schedule step" in cli_error(capsys)
    assert not out.exists()
