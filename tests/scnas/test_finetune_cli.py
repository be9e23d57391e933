"""`scnas finetune`: SC-aware fine-tuning end to end on digits (a teacher trained here)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import scnas.finetune as ft
from scnas.cli import main
from scnas.config import read_toml
from tests.scnas.helpers import cli_error


@pytest.fixture(scope="module")
def good_teacher(tmp_path_factory) -> Path:
    """LeNet-5 trained 20 epochs on digits (about 92% float; SC at L = 16 loses much of it)."""
    run = tmp_path_factory.mktemp("ft-teacher") / "t"
    assert main(["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "20", "--out", str(run)]) == 0
    return run


def _ft(teacher: Path, out: Path, *extra: str) -> list[str]:
    return ["finetune", "--model", str(teacher), "--dataset", "digits", "--out", str(out), *extra]


def test_finetune_raises_bit_true_accuracy_beyond_the_test_sets_binomial_noise(good_teacher, tmp_path):
    """At L = 16 the untuned model loses much of its accuracy bit-true; two bit-mode epochs must
    win it back by more than 3 standard deviations of the difference of two accuracies on the
    n test images, sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n)."""
    out = tmp_path / "ft"
    assert main(_ft(good_teacher, out, "--stream-length", "16", "--mode", "bit", "--epochs", "2")) == 0
    res = json.loads((out / "results.json").read_text())
    p1, p2, n = res["bit_accuracy_before"], res["bit_accuracy_after"], res["n_test_images"]
    assert n == 359
    assert p2 - p1 > 3 * math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n), (p1, p2)
    assert [h["mode"] for h in res["history"]] == ["bit", "bit"]


def test_model_records_its_sc_config_and_emulate_uses_it(good_teacher, tmp_path):
    out = tmp_path / "ft"
    assert main(_ft(good_teacher, out, "--stream-length", "32", "--sng", "sobol", "--epochs", "2",
                    "--train-limit", "400", "--seed", "3")) == 0
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["sc_config"]["stream_length"] == 32 and saved["sc_config"]["sng"] == "sobol"
    assert saved["sc_config"]["seed"] == 3 and saved["arch"] == "lenet5"
    res = json.loads((out / "results.json").read_text())
    assert [h["mode"] for h in res["history"]] == ["moments", "bit"]  # the last epoch runs bit-true
    emu = tmp_path / "emu"
    assert main(["emulate", "--model", str(out), "--dataset", "digits", "--out", str(emu)]) == 0
    settings = json.loads((emu / "results.json").read_text())["settings"]
    assert [(s["config"]["stream_length"], s["config"]["sng"], s["config"]["seed"]) for s in settings] == \
        [(32, "sobol", 3)]
    assert settings[0]["accuracy"] == res["bit_accuracy_after"]  # the same bits as the fine-tune measured
    emu2 = tmp_path / "emu2"  # flags given still win
    assert main(["emulate", "--model", str(out), "--dataset", "digits", "--stream-length", "64", "--sng", "lfsr",
                 "--limit", "50", "--out", str(emu2)]) == 0
    s2 = json.loads((emu2 / "results.json").read_text())["settings"]
    assert [(s["config"]["stream_length"], s["config"]["sng"], s["config"]["seed"]) for s in s2] == [(64, "lfsr", 3)]


def test_resume_after_a_kill_gives_the_same_weights(good_teacher, tmp_path, monkeypatch):
    args = ("--stream-length", "16", "--epochs", "3", "--bit-epochs", "1", "--train-limit", "300", "--limit", "100")
    whole = tmp_path / "whole"
    assert main(_ft(good_teacher, whole, *args)) == 0
    real, calls = ft._epoch, []

    def dies_in_epoch_two(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after epoch 1's checkpoint
        return real(*a, **k)

    broken = tmp_path / "broken"
    monkeypatch.setattr(ft, "_epoch", dies_in_epoch_two)
    assert main(_ft(good_teacher, broken, *args)) == 130
    assert (broken / "checkpoint.pt").is_file() and not (broken / "model.pt").exists()
    monkeypatch.setattr(ft, "_epoch", real)
    assert main(_ft(good_teacher, broken, *args)) == 0
    a = torch.load(whole / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(broken / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((d / "results.json").read_text()) for d in (whole, broken))
    assert ra["bit_accuracy_after"] == rb["bit_accuracy_after"]


def test_changed_settings_are_refused_by_name(good_teacher, tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(_ft(good_teacher, out, "--stream-length", "16", "--epochs", "1", "--train-limit", "200",
                    "--limit", "50")) == 0
    before = (out / "config.toml").read_bytes()
    capsys.readouterr()
    assert main(_ft(good_teacher, out, "--stream-length", "32", "--epochs", "1", "--train-limit", "200",
                    "--limit", "50")) == 2
    line = cli_error(capsys)
    assert "stream_length" in line and "16" in line and "32" in line
    assert (out / "config.toml").read_bytes() == before
    assert read_toml(out / "config.toml")["command"] == "finetune"


@pytest.mark.parametrize("extra, says", [
    (("--stream-length", "0"), "stream"),
    (("--sng", "magic"), "sng='magic' is not one of"),
    (("--mode", "exact"), "--mode 'exact' is not one of moments, bit"),
    (("--epochs", "2", "--bit-epochs", "3"), "--bit-epochs 3 must be an integer from 0 to 2 (at most --epochs)"),
    (("--limit", "0"), "--limit 0 must be an integer from 1"),
    (("--sc-config", "nonexistent.toml"), "nonexistent.toml"),
    (("--calib-percentile", "101"), "--calib-percentile '101' is not from 50 to 100"),
    (("--distill", "1.5"), "--distill 1.5 is not a weight from 0 to 1"),
    (("--distill", "nan"), "--distill nan is not a weight from 0 to 1"),
    (("--distill", "1.00000001"), "--distill 1.00000001 is not a weight from 0 to 1"),
    (("--train-limit", "1"), "--train-limit 1 must be an integer from 2"),
    (("--calib-percentile", "most"), "--calib-percentile 'most' is neither a number from 50 to 100 nor auto"),
])
def test_bad_values_end_in_one_sentence_and_write_nothing(good_teacher, tmp_path, capsys, extra, says):
    out = tmp_path / "ft"
    assert main(_ft(good_teacher, out, *extra)) == 2
    assert says in cli_error(capsys)
    assert not out.exists()


def test_a_model_the_converter_rejects_is_refused_before_anything_is_written(tmp_path):
    from scnas.data import load_dataset

    class Sig(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = torch.nn.Conv2d(1, 2, 3)

        def forward(self, v):
            return torch.sigmoid(self.c(v)).flatten(1)

    from sc_accel.graph import UnsupportedOpError
    out = tmp_path / "ft"
    with pytest.raises(UnsupportedOpError, match="sigmoid"):
        ft.finetune(Sig().eval(), load_dataset("digits"), ft.FinetuneConfig(), out, {"arch": "sig"})
    assert not out.exists()


def test_a_damaged_checkpoint_is_one_sentence_and_a_finished_rerun_keeps_its_results(good_teacher, tmp_path,
                                                                                   capsys):
    out = tmp_path / "ft"
    args = _ft(good_teacher, out, "--stream-length", "16", "--epochs", "2", "--train-limit", "200", "--limit", "50")
    assert main(args) == 0
    before = json.loads((out / "results.json").read_text())
    assert main(args) == 0  # done: rewritten from the checkpoint, with the fitted noise scales
    again = json.loads((out / "results.json").read_text())
    assert again["noise_scale"] == before["noise_scale"] and set(again["noise_scale"]) >= {"features_0"}
    good = torch.load(out / "checkpoint.pt", weights_only=True)
    for change in ({"history": "x"}, {"epoch": 99}, {"model": {"nonsense": torch.zeros(1)}},
                   {"best": {**good["best"], "val": float("nan")}}, {"best": {**good["best"], "val": "x"}},
                   {"best": {**good["best"], "model": {"nonsense": torch.zeros(1)}}},
                   {"before": {**good["before"], "bit": "x"}}, {"best": {**good["best"], "calib_percentile": 7}}):
        torch.save({**good, **change}, out / "checkpoint.pt")
        capsys.readouterr()
        assert main(args) == 2
        assert "is damaged" in cli_error(capsys, whole=False)


def test_layers_the_model_lacks_are_refused_before_anything_is_written(good_teacher, tmp_path, capsys):
    cfg = tmp_path / "sc.toml"
    cfg.write_text("stream_length = 32\n[layers.nosuchlayer]\nstream_length = 16\n")
    out = tmp_path / "ft"
    assert main(_ft(good_teacher, out, "--sc-config", str(cfg))) == 2
    assert "nosuchlayer" in cli_error(capsys, whole=False) and not out.exists()


def test_sc_aware_epochs_without_a_fine_tune_is_refused(capsys, tmp_path):
    assert main(["recast", "--sc-aware-epochs", "5", "--dataset", "digits", "--out", str(tmp_path / "r")]) == 2
    assert "--sc-aware-epochs needs --sc-aware" in cli_error(capsys)


def test_the_percentile_and_the_epoch_kept_are_chosen_on_held_out_training_images(good_teacher, tmp_path,
                                                                                  monkeypatch):
    """auto: every percentile of the grid is scored bit-true on the last fifth of the (limited)
    training set, which no gradient step sees; the best wins (ties to the larger), the model
    records it, and the epoch kept is the first with the highest held-out score (0: the source)."""
    from scnas.commands.finetune import AUTO_PERCENTILES
    seen, real = [], ft._epoch

    def spy(sur, opt, cfg, epoch, x, *rest):
        seen.append(len(x))
        return real(sur, opt, cfg, epoch, x, *rest)

    monkeypatch.setattr(ft, "_epoch", spy)
    out = tmp_path / "ft"
    assert main(_ft(good_teacher, out, "--stream-length", "16", "--mode", "bit", "--epochs", "3",
                    "--train-limit", "600", "--limit", "120")) == 0
    res = json.loads((out / "results.json").read_text())
    assert seen == [480, 480, 480] and res["val_images"] == 120
    scores = {float(p): a for p, a in res["calib_search"]["bit_accuracy"].items()}
    assert sorted(scores) == sorted(AUTO_PERCENTILES) and res["calib_search"]["images"] == 120
    top = max(scores.values())
    assert res["calib_search"]["chosen"] == max(p for p, a in scores.items() if a == top)
    pcts = [res["calib_search"]["chosen"]] + [h["calib_percentile"] for h in res["history"]]  # chosen again per epoch
    assert all(p in AUTO_PERCENTILES for p in pcts)
    assert res["val_bit_accuracy_before"] == top
    vals = [top] + [h["val_bit_accuracy"] for h in res["history"]]
    assert res["kept_epoch"] == vals.index(max(vals)) and res["val_bit_accuracy_after"] == max(vals)
    assert res["sc_config"]["calib_percentile"] == pcts[res["kept_epoch"]]  # the kept epoch's percentile
    kept = res["bit_accuracy_after"]
    assert "bit_accuracy" not in res["history"][0]  # the test set chooses nothing
    emu = tmp_path / "emu"  # model.pt holds the kept epoch's weights and the chosen percentile
    assert main(["emulate", "--model", str(out), "--dataset", "digits", "--limit", "120", "--out", str(emu)]) == 0
    assert json.loads((emu / "results.json").read_text())["settings"][0]["accuracy"] == kept


def test_a_given_percentile_is_used_without_a_search(good_teacher, tmp_path):
    for extra, want in ((("--calib-percentile", "99"), 99.0), (("--sc-config", "FILE"), 98.0)):
        cfg = tmp_path / "sc.toml"
        cfg.write_text("calib_percentile = 98.0\n")
        out = tmp_path / f"ft{want}"
        args = [str(cfg) if a == "FILE" else a for a in extra]
        assert main(_ft(good_teacher, out, "--stream-length", "16", "--epochs", "1", "--train-limit", "200",
                        "--limit", "50", *args)) == 0
        res = json.loads((out / "results.json").read_text())
        assert res["sc_config"]["calib_percentile"] == want and "calib_search" not in res


def test_the_distillation_term_is_the_softened_kl_from_the_source_model():
    """weight 0: plain cross-entropy; a student that matches its teacher adds no KL, so weight 1
    gives 0; otherwise (1 - w) CE + w T^2 KL(teacher_T || student_T), computed here by hand."""
    torch.manual_seed(0)
    teacher = torch.nn.Linear(6, 4).eval()
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    logits = torch.randn(8, 4)
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert torch.equal(ft._loss(logits, y, x, None, 0.7), ce)
    assert ft._loss(teacher(x).detach(), y, x, teacher, 1.0).abs().item() < 1e-6
    t = ft.DISTILL_T
    p = torch.softmax(teacher(x).detach() / t, 1)
    kl = (p * (p.log() - torch.log_softmax(logits / t, 1))).sum(1).mean()
    want = 0.3 * ce + 0.7 * t * t * kl
    assert torch.allclose(ft._loss(logits, y, x, teacher, 0.7), want, rtol=1e-5)
