"""`scnas dse evolver`: the paper's zero reward under the accuracy threshold by default and
--shaping as a checked option that a resume compares; --finetune-epochs fine-tunes the chosen
policy through `scnas finetune`'s code into RUN/finetune and resumes after a kill."""

from __future__ import annotations

import json

import pytest

import scnas.finetune as finetune_mod
from reports.schema import problems
from scnas.cli import main
from scnas.config import read_toml
from tests.scnas.helpers import cli_error


def _ev(teacher, out, *extra) -> list[str]:
    return ["dse", "evolver", "--model", str(teacher), "--dataset", "digits", "--lengths", "16,64",
            "--episodes", "12", "--eval-images", "60", "--final-images", "60", "--calib", "60",
            "--acc-drop", "30", "--out", str(out), *extra]


def _results(out) -> dict:
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "inf"])
def test_a_shaping_outside_zero_to_one_is_refused_in_one_sentence(teacher, tmp_path, capsys, value):
    out = tmp_path / "ev"
    assert main(_ev(teacher, out, "--shaping", value)) == 2
    err = cli_error(capsys)
    assert f"--shaping {float(value)!r} must be a number in [0, 1]" in err and "Traceback" not in err
    assert not out.exists() or not (out / "results.json").exists()


def test_the_shaping_is_recorded_and_a_rerun_with_another_is_refused_by_name(teacher, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(_ev(teacher, out)) == 0
    res = _results(out)
    assert res["thresholds"]["shaping"] == 0.0 and read_toml(out / "config.toml")["shaping"] == 0.0
    capsys.readouterr()
    assert main(_ev(teacher, out, "--shaping", "0.1")) == 2
    assert "other settings (shaping)" in cli_error(capsys)
    assert _results(out) == res
    other = tmp_path / "ev2"
    assert main(_ev(teacher, other, "--shaping", "0.1")) == 0
    assert _results(other)["thresholds"]["shaping"] == 0.1


def test_finetune_epochs_is_refused_on_a_binary_array_and_when_negative(teacher, tmp_path, capsys):
    assert main(_ev(teacher, tmp_path / "a", "--accel", "systolic-32x32-ws", "--finetune-epochs", "1")) == 2
    assert "--finetune-epochs fine-tunes for SC stream lengths" in cli_error(capsys)
    assert main(_ev(teacher, tmp_path / "b", "--finetune-epochs", "-1")) == 2
    assert "--finetune-epochs -1 must be an integer from 0" in cli_error(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_chosen_policy_is_fine_tuned_for_its_own_lengths_and_a_killed_fine_tune_resumes(
        teacher, tmp_path, capsys, monkeypatch):
    whole = tmp_path / "whole"
    assert main(_ev(teacher, whole, "--finetune-epochs", "2")) == 0
    res = _results(whole)
    assert problems("dse", res) == []
    ev, ft = res["evolver"], res["finetune"]
    assert ev["layers"], "the search chose no policy; the test needs one"
    # the fine-tune trained for the chosen per-layer lengths, read from RUN/policy_sc.toml
    chosen = {x["layer"]: x["stream_length"] for x in ev["layers"]}
    policy = read_toml(whole / "policy_sc.toml")
    assert {n: d["stream_length"] for n, d in policy["layers"].items()} == chosen
    fres = json.loads((whole / "finetune" / "results.json").read_text())
    assert {n: d["stream_length"] for n, d in fres["sc_config"]["layers"].items()} == chosen
    assert fres["sc_config"]["seed"] == 0 and fres["sc_config"]["sng"] == ev["sc_config"]["sng"]
    assert (whole / "finetune" / "model.pt").stat().st_size > 0
    # post-training accuracy on the same test images and calibration as the search's own report
    assert ft["n_test_images"] == 60 and ft["epochs"] == 2
    assert ft["bit_accuracy_post_training"] == fres["bit_accuracy_before"] == pytest.approx(ev["bit_accuracy"])
    assert ft["bit_accuracy_finetuned"] == fres["bit_accuracy_after"]
    assert "after post-training" in capsys.readouterr().out

    # killed in the second epoch of the fine-tune: the rerun reuses the search and does only that epoch
    real, calls = finetune_mod._epoch, []

    def dies(sur, opt, cfg, epoch, *a):
        calls.append(epoch)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(sur, opt, cfg, epoch, *a)

    part = tmp_path / "part"
    monkeypatch.setattr(finetune_mod, "_epoch", dies)
    assert main(_ev(teacher, part, "--finetune-epochs", "2")) == 130
    assert (part / "finetune" / "checkpoint.pt").is_file() and "finetune" not in _results(part)
    ck = json.loads((part / "checkpoint.json").read_text())
    assert ck["learner"]["episode"] == 12  # the search had finished
    calls.clear()
    monkeypatch.setattr(finetune_mod, "_epoch", lambda sur, opt, cfg, epoch, *a: calls.append(epoch) or real(
        sur, opt, cfg, epoch, *a))
    assert main(_ev(teacher, part, "--finetune-epochs", "2")) == 0
    assert calls == [1]  # only the second epoch ran again
    assert _results(part) == res
    part_f = json.loads((part / "finetune" / "results.json").read_text())
    assert part_f["model_sha256"] == fres["model_sha256"]  # the same weights as the uninterrupted run

    # a rerun asking for another number of fine-tune epochs is refused before anything is written,
    # and a rerun without the flag keeps the fine-tune already in results.json
    capsys.readouterr()
    assert main(_ev(teacher, whole, "--finetune-epochs", "1")) == 2
    assert "holds a fine-tune of 2 epoch(s) (--finetune-epochs)" in cli_error(capsys)
    assert _results(whole) == res
    assert main(_ev(teacher, whole)) == 0
    assert _results(whole)["finetune"] == res["finetune"]
