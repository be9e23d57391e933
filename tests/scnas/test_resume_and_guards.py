"""Issue 24's resume honesty and guards outside the kernels: a longer `train` really trains,
`estimate` refuses a directory made with other settings, training stops at the first
non-finite loss and leaves no model, and recast/search refuse what they cannot use (API and
CLI) in one sentence before any training."""

from __future__ import annotations

import fcntl
import json

import numpy as np
import pytest
import torch

from scnas.cli import main
from tests.scnas.helpers import cli_error

TRAIN = ["train", "--model", "lenet5", "--dataset", "digits"]


def test_a_resumed_longer_train_really_trains(tmp_path, capsys):
    run = tmp_path / "t"
    assert main([*TRAIN, "--epochs", "1", "--out", str(run)]) == 0
    short = torch.load(run / "model.pt", weights_only=True)["state_dict"]
    assert main([*TRAIN, "--epochs", "3", "--out", str(run)]) == 0
    assert "extending the learning-rate schedule to 3 epochs" in capsys.readouterr().out
    longer = torch.load(run / "model.pt", weights_only=True)["state_dict"]
    assert any(not torch.equal(short[k], longer[k]) for k in short)
    hist = json.loads((run / "results.json").read_text())["history"]
    assert len(hist) == 3 and hist[2]["loss"] < hist[1]["loss"] < hist[0]["loss"]


def test_the_cosine_schedule_is_rebuilt_for_the_new_length():
    from scnas.train import TrainConfig, cosine_lr

    cfg = TrainConfig(lr=1.0, epochs=2)
    assert cosine_lr(cfg.lr, 0, 100) == 1.0 and cosine_lr(cfg.lr, 100, 100) == pytest.approx(0.0)
    # the step the 1-epoch run ended on is mid-schedule once the run is stretched to 2 epochs
    assert cosine_lr(cfg.lr, 50, 100) == pytest.approx(0.5)


def test_training_stops_at_a_non_finite_loss_and_leaves_no_model(tmp_path, capsys):
    run = tmp_path / "t"
    assert main([*TRAIN, "--epochs", "1", "--lr", "1e30", "--out", str(run)]) == 2
    msg = cli_error(capsys, whole=False)
    assert "the loss became" in msg and "learning rate" in msg
    assert not (run / "model.pt").exists()


def _estimate(out, accel="sc-64x64-L64"):
    return ["estimate", "--model", "lenet5", "--accel", accel, "--out", str(out)]


def test_estimate_refuses_a_directory_made_with_other_settings(tmp_path, capsys):
    out = tmp_path / "e"
    assert main(_estimate(out)) == 0
    assert main(_estimate(out)) == 0  # the same settings: rerun in place
    files = {f: f.read_bytes() for f in out.iterdir() if f.name != ".lock"}
    capsys.readouterr()
    assert main(_estimate(out, "systolic-32x32-ws")) == 2
    assert "other settings (accels[0] 'sc-64x64-L64' -> 'systolic-32x32-ws', accel_configs[0]" in cli_error(capsys)
    assert {f: f.read_bytes() for f in out.iterdir() if f.name != ".lock"} == files


def test_claim_settings_names_every_change_and_ignores_free_keys(tmp_path):
    from scnas.config import claim_settings

    claim_settings(tmp_path, {"command": "x", "a": 1, "b": [1, 2], "workers": 1}, free=("workers",))
    before = (tmp_path / "config.toml").read_bytes()
    with pytest.raises(ValueError, match=r"\(a 1 -> 2, c None -> 'new'\)"):
        claim_settings(tmp_path, {"command": "x", "a": 2, "b": [1, 2], "c": "new"}, free=("workers",))
    assert (tmp_path / "config.toml").read_bytes() == before
    claim_settings(tmp_path, {"command": "x", "a": 1, "b": (1, 2), "workers": 4}, free=("workers",))


# ---- recast API --------------------------------------------------------------------------

def _data(n=64, c=1, side=8, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, c, side, side), dtype=np.float32), rng.integers(0, classes, n)


@pytest.fixture(scope="module")
def resnet():
    from scnas.zoo import create_model

    return create_model("resnet20", 1, 10, 8)


def _nan_pixel():
    x, y = _data()
    x[3, 0, 2, 2] = np.nan
    return x, y


@pytest.mark.parametrize("make, match", [
    (lambda m: ("resnet20", "plain", _data()), "teacher must be a torch.nn.Module, not str"),
    (lambda m: (m, ["plain"] * 9, _data()), "a plan given as a list holds 'plain'"),
    (lambda m: (m, "plain", (_data()[0], np.full(64, 10))), "the labels reach 10 but the teacher has 10 outputs"),
    (lambda m: (m, "plain", (_data()[0], np.full(64, -1))), "class indices must be from 0"),
    (lambda m: (m, "plain", _data(c=3)), "the teacher cannot run on images of shape (3, 8, 8)"),
    (lambda m: (m, "plain", _nan_pixel()), "hold 1 NaN or infinite value"),
    (lambda m: (m, "plain", (_data()[0], np.full(64, 1.5))), "not whole numbers"),
])
def test_recast_api_refuses_bad_input_in_one_sentence(resnet, make, match, tmp_path):
    from recast import recast

    teacher, plan, data = make(resnet)
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        recast(teacher, plan, data, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_recast_api_refuses_an_out_that_is_a_file(resnet, tmp_path):
    from recast import recast

    (tmp_path / "f").write_text("mine")
    with pytest.raises(ValueError, match="is a file; give a directory"):
        recast(resnet, "plain", _data(), out=tmp_path / "f", progress=False)
    assert (tmp_path / "f").read_text() == "mine"


def test_recast_stops_at_a_non_finite_loss(resnet, tmp_path):
    from recast import RecastConfig, recast

    with pytest.raises(ValueError, match="the loss became .* learning rate is likely too high"):
        recast(resnet, "plain", _data(), RecastConfig(lr=1e30), progress=False)


# ---- search API --------------------------------------------------------------------------

def _search_cfg(channels=(4, 8)):
    from nas import SearchConfig

    return SearchConfig(channels=channels, train_images=128, search_images=96, eval_images=32, batch_size=32,
                        coarse_epochs=1, teacher_epochs=1, search_epochs=2, distil_steps=1, retrain_epochs=0)


def _labels(values):
    x, _ = _data(256)
    return x, np.resize(np.asarray(values), 256)


@pytest.mark.parametrize("data, kwargs, match", [
    (lambda: _data(256, side=2), {"channels": (4, 8, 16)}, "images 2 pixels wide are too small for 3 stages"),
    (lambda: (np.zeros((256, 1, 8, 6), np.float32), _data(256)[1]), {}, "square images; these are 8x6"),
    (lambda: (np.full((256, 1, 8, 8), np.inf, np.float32), _data(256)[1]), {}, "NaN or infinite values"),
    (lambda: _labels([0, 1, 10 ** 9]), {}, "class indices must be from 0 to 99999"),
    (lambda: _labels([0, -1]), {}, "class indices must be from 0"),
    (lambda: _labels([0.0, 1.5]), {}, "not whole numbers"),
    (lambda: _data(256), {"workers": 0}, "workers=0 must be an integer from 1"),
    (lambda: _data(256), {"teacher": "resnet20"}, "teacher must be a torch.nn.Module or None"),
])
def test_search_api_refuses_bad_input_in_one_sentence(data, kwargs, match, tmp_path):
    from nas import search

    cfg = _search_cfg(kwargs.pop("channels", (4, 8)))
    with pytest.raises(ValueError, match=match):
        search(data(), cfg, out=tmp_path / "s", progress=False, **kwargs)
    assert not list((tmp_path / "s").glob("*.pt")) if (tmp_path / "s").exists() else True


@pytest.mark.parametrize("where", ["out", "coarse_dir"])
def test_search_api_refuses_a_file_as_a_directory(where, tmp_path):
    from nas import search

    (tmp_path / "f").write_text("mine")
    kwargs = {"out": tmp_path / "s", where: tmp_path / "f"}
    with pytest.raises(ValueError, match=f"{where} .* is a file; give a directory"):
        search(_data(256), _search_cfg(), progress=False, **kwargs)
    assert (tmp_path / "f").read_text() == "mine"


def test_search_accepts_whole_float_labels(tmp_path):
    """Labels 3.0 are class 3 (loaders that give float labels still work)."""
    from nas.common import as_tensors

    x, y = _data(8)
    _, labels = as_tensors(x, y.astype(np.float64))
    assert labels.dtype == torch.int64 and labels.tolist() == y.tolist()


# ---- search and recast CLI: refused before any training -----------------------------------

QUICK = ["search", "--quick", "--workers", "1"]


def test_coarse_dir_that_is_a_file_or_another_commands_run_is_refused(tmp_path, capsys):
    (tmp_path / "f").write_text("mine")
    assert main([*QUICK, "--coarse-dir", str(tmp_path / "f"), "--out", str(tmp_path / "s")]) == 2
    assert "--coarse-dir" in cli_error(capsys) and (tmp_path / "f").read_text() == "mine"
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "config.toml").write_text('command = "train"\n')
    assert main([*QUICK, "--coarse-dir", str(tmp_path / "t"), "--out", str(tmp_path / "s2")]) == 2
    assert "is a run directory of `scnas train`; give `scnas search` another --coarse-dir" in cli_error(capsys)


def test_coarse_dir_of_a_running_search_is_refused(tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    with open(busy / ".lock", "a+") as lock:  # what a running command holds
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main([*QUICK, "--coarse-dir", str(busy), "--out", str(tmp_path / "s")]) == 2
    assert "another scnas command is writing to" in cli_error(capsys)
    assert not (tmp_path / "s" / "config.toml").exists()


@pytest.mark.parametrize("argv", [
    [*QUICK, "--sc-length", str(2 ** 40)],
    [*QUICK, "--sc-length", str(2 ** 30)],
    ["recast", "--teacher", "resnet20", "--plan", "plain", "--dataset", "digits", "--sc-length", str(2 ** 30)],
])
def test_an_sc_length_that_cannot_run_is_refused_before_training(argv, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(argv + ["--teacher-dir", str(tmp_path / "teachers")] * ("recast" in argv) + ["--out", str(out)]) == 2
    msg = cli_error(capsys, whole=False)
    assert ("stream length" in msg or "needs about" in msg) and not out.exists()
    assert not (tmp_path / "teachers").exists()  # not even the teacher was trained



def test_emulate_config_lists_every_setting_its_results_hold(teacher, tmp_path):
    import tomllib

    out = tmp_path / "e"
    base = ["emulate", "--model", str(teacher), "--dataset", "digits", "--limit", "20", "--out", str(out)]
    assert main([*base, "--stream-length", "32"]) == 0
    assert main([*base, "--stream-length", "64"]) == 0
    cfg = tomllib.loads((out / "config.toml").read_text())
    held = [s["config"]["stream_length"] for s in json.loads((out / "results.json").read_text())["settings"]]
    assert cfg["settings"] == held == [32, 64]


# ---- a user's directory, deep and binary files, one-line errors ---------------------------

def _user_dir(d):
    d.mkdir()
    (d / "results.json").write_text('{"mine": 1}')
    (d / "model.pt").write_bytes(b"my weights")
    return {f: f.read_bytes() for f in d.iterdir()}


@pytest.mark.parametrize("command", ["train", "estimate", "emulate"])
def test_a_users_directory_without_config_is_refused_and_kept(command, teacher, tmp_path, capsys):
    argv = {"train": [*TRAIN, "--epochs", "1"],
            "estimate": ["estimate", "--model", "lenet5", "--accel", "sc-64x64-L64"],
            "emulate": ["emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32"]}[command]
    before = _user_dir(tmp_path / "mine")
    assert main(argv + ["--out", str(tmp_path / "mine")]) == 2
    assert "holds files but no readable scnas config.toml" in cli_error(capsys, whole=False)
    assert {f: f.read_bytes() for f in (tmp_path / "mine").iterdir()} == before


@pytest.mark.parametrize("content", [b"\x00\xff" * 50, b"a = " + b"[" * 5000 + b"]" * 5000])
def test_a_run_directory_whose_config_is_unreadable_is_not_overwritten(content, tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.toml").write_bytes(content)
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path / "r")]) == 2
    assert "holds files but no readable scnas config.toml" in cli_error(capsys)
    assert (tmp_path / "r" / "config.toml").read_bytes() == content


@pytest.mark.parametrize("flag", ["--accel", "--sc-config"])
def test_a_deeply_nested_settings_file_is_one_sentence(flag, tmp_path, capsys):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    argv = ["estimate", "--model", "lenet5", "--accel", "sc-64x64-L64", flag, str(deep), "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    assert "nested too deeply" in cli_error(capsys)


def test_argument_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--epochs", "x"])
    assert e.value.code == 2
    assert cli_error(capsys) == "scnas: error: argument --epochs: invalid int value: 'x'; see `scnas train --help`."


def test_a_changed_accelerator_file_is_named_by_its_field(tmp_path, capsys):
    from scnas.accel import load_accel, save_accel

    acc = tmp_path / "mine.toml"
    save_accel(load_accel("systolic-32x32-ws"), acc)
    out = tmp_path / "e"
    assert main(["estimate", "--model", "lenet5", "--accel", str(acc), "--out", str(out)]) == 0
    acc.write_text(acc.read_text().replace("rows = 32", "rows = 16"))
    capsys.readouterr()
    assert main(["estimate", "--model", "lenet5", "--accel", str(acc), "--out", str(out)]) == 2
    assert "accel_configs[0].rows 32 -> 16" in cli_error(capsys)


@pytest.mark.parametrize("argv, named", [([*TRAIN, "--epochs", "1000000000000"], "epochs=1000000000000"),
                                         ([*QUICK, "--search-epochs", "1000000000000"], "search_epochs=")])
def test_epoch_counts_that_would_run_for_years_are_refused(argv, named, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "r")]) == 2
    msg = cli_error(capsys)
    assert named in msg and "from 1 to 10,000" in msg


def test_brief_keeps_messages_short_and_whole_words():
    from sc_accel.errors import brief

    e = RuntimeError("can't allocate memory: you tried to allocate 34359738368 bytes for a tensor of size x\nmore")
    text = brief(e)
    assert text.startswith("RuntimeError: can't allocate memory") and text.endswith("...") and "\n" not in text
    assert len(text) <= len("RuntimeError: ") + 83 and "more" not in text
    assert brief(KeyError()) == "KeyError"


def test_workers_and_teacher_dir_are_checked_before_anything_is_written(tmp_path, capsys):
    assert main([*QUICK, "--workers", "1000000", "--out", str(tmp_path / "s")]) == 2
    assert "--workers 1000000 must be from 1 to 1024" in cli_error(capsys) and not (tmp_path / "s").exists()
    (tmp_path / "f").write_text("mine")
    argv = ["recast", "--teacher", "resnet20", "--plan", "plain", "--dataset", "digits"]
    assert main(argv + ["--teacher-dir", str(tmp_path / "f"), "--out", str(tmp_path / "r")]) == 2
    assert "--teacher-dir" in cli_error(capsys) and (tmp_path / "f").read_text() == "mine"


def test_deep_dotted_keys_in_a_runs_config_are_one_sentence(tmp_path, capsys):
    out = tmp_path / "e"
    assert main(_estimate(out)) == 0
    cfg = out / "config.toml"
    cfg.write_text(cfg.read_text().replace("[run]", "x." * 20000 + "y = 1\n\n[run]", 1))
    before = cfg.read_bytes()
    capsys.readouterr()
    assert main(_estimate(out)) == 2
    assert "is nested too deeply to be a scnas config.toml" in cli_error(capsys)
    assert cfg.read_bytes() == before


def test_an_unusable_out_is_refused_before_a_zoo_teacher_is_trained(tmp_path, capsys):
    before = _user_dir(tmp_path / "mine")
    teachers = tmp_path / "teachers"
    assert main(["dse", "evolver", "--dataset", "digits", "--teacher-dir", str(teachers),
                 "--out", str(tmp_path / "mine")]) == 2
    assert "holds files but no readable scnas config.toml" in cli_error(capsys)
    assert not teachers.exists() and {f: f.read_bytes() for f in (tmp_path / "mine").iterdir()} == before


def test_a_search_teacher_file_without_stages_is_refused_before_training(teacher, tmp_path, capsys):
    out = tmp_path / "s"
    assert main([*QUICK, "--teacher", str(teacher / "model.pt"), "--out", str(out)]) == 2
    assert "has no stem, blocks and head" in cli_error(capsys, whole=False)
    assert not list(out.glob("*.pt")) if out.exists() else True


def test_an_emulate_setting_that_cannot_fit_writes_nothing(teacher, tmp_path, capsys):
    out = tmp_path / "e"
    argv = ["emulate", "--model", str(teacher), "--dataset", "digits", "--limit", "10", "--out", str(out)]
    assert main([*argv, "--stream-length", f"32,{2 ** 32}"]) == 2
    assert "needs about" in cli_error(capsys) and not out.exists()


def test_an_estimate_the_model_cannot_run_writes_nothing(teacher, tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["estimate", "--model", str(teacher / "model.pt"), "--accel", "sc-64x64-L64", "--input-shape",
                 "1,3,8,8", "--out", str(out)]) == 2
    assert "cannot run on inputs shaped (3, 8, 8)" in cli_error(capsys) and not out.exists()
