"""`scnas train` and `scnas emulate` end to end on the bundled digits data (small, fast)."""

from __future__ import annotations

import json

import pytest
import torch

from reports import curves, plot_emulation
from scnas.cli import main
from scnas.config import read_toml, write_toml
from scnas.zoo import MODELS, create_model


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("shape", [(1, 28), (3, 32), (1, 8)])
def test_zoo_models_build_for_each_input_shape(name, shape):
    c, size = shape
    m = create_model(name, c, 7, size).eval()
    with torch.no_grad():
        assert m(torch.rand(2, c, size, size)).shape == (2, 7)


def test_train_resumes_and_emulate_writes_results_plots_and_resumes(tmp_path, capsys):
    run = tmp_path / "teacher"
    assert main(["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", str(run)]) == 0
    assert main(["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "2", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "resuming lenet5 from epoch 2" in out
    hist = json.loads((run / "results.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [1, 2]
    assert read_toml(run / "config.toml")["epochs"] == 2

    emu = tmp_path / "emu"
    args = ["emulate", "--model", str(run), "--dataset", "digits", "--stream-length", "32,128",
            "--sng", "lfsr,sobol", "--limit", "60", "--out", str(emu)]
    assert main(args) == 0
    res = json.loads((emu / "results.json").read_text())
    assert len(res["settings"]) == 4 and 0.0 <= res["float_accuracy"] <= 1.0
    assert {s["config"]["stream_length"] for s in res["settings"]} == {32, 128}
    assert all(set(s["layer_error"]) for s in res["settings"])
    assert (emu / "accuracy_vs_length.png").stat().st_size > 1000
    assert (emu / "layer_errors.csv").read_text().startswith("setting,stream_length,layer,relative_rmse,module")
    assert res["layer_modules"]["features_0"] == "features.0"  # lenet5's first conv, named by module path
    assert set(res["settings"][0]["layer_error"]) <= set(res["layer_modules"]) | {"output"}
    before = (emu / "results.json").read_text()
    assert main(args) == 0  # every setting is done: nothing recomputed, file unchanged
    assert (emu / "results.json").read_text() == before


@pytest.mark.parametrize("args,msg", [
    (["--stream-length", "64,abc"], "--stream-length value 'abc' is not a valid int"),
    (["--stream-length", "0"], "stream length"),
    (["--sng", "xorshift"], "sng"),
    (["--upscale", "maybe"], "--upscale value 'maybe'"),
    (["--model", "/nonexistent/model.pt"], "no trained model at"),
    (["--limit", "0"], "--limit 0 must be a positive"),
])
def test_emulate_bad_input_exits_2_with_one_sentence(args, msg, capsys, tmp_path):
    assert main(["emulate", "--dataset", "digits", "--out", str(tmp_path / "e")] + args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scnas: error:") and msg in err and "\n" not in err


def test_train_unknown_model_exits_2(capsys, tmp_path):
    assert main(["train", "--model", "alexnet", "--dataset", "digits", "--out", str(tmp_path)]) == 2
    assert "unknown model 'alexnet'" in capsys.readouterr().err


def test_plots_from_a_hand_written_results_file(tmp_path):
    cfg = {"sng": "lfsr", "share": 1, "upscale": True, "maxpool": "or", "mode": "bit"}
    res = {"model": "m", "dataset": "d", "n_images": 10, "float_accuracy": 0.9,
           "fixed_point": {"bits": 8, "accuracy": 0.89},
           "settings": [{"config": {**cfg, "stream_length": L}, "accuracy": a, "layer_error": {"c": e}}
                        for L, a, e in ((64, 0.5, 0.2), (256, 0.8, 0.1), (1024, 0.88, 0.05))]}
    (tmp_path / "results.json").write_text(json.dumps(res))
    files = plot_emulation(tmp_path / "results.json")
    assert [f.name for f in files] == ["accuracy_vs_length.png", "error_vs_length.png", "layer_error.png"]
    assert all(f.stat().st_size > 0 for f in files)
    assert curves(res, "error")["lfsr share=1 upscale max=or bit"] == [(64, 0.2), (256, 0.1), (1024, 0.05)]


def test_toml_round_trip(tmp_path):
    d = {"a": 1, "b": [1, 2], "c": "x", "d": True, "e": 0.5, "t": {"k": "v"}}
    write_toml(d, tmp_path / "c.toml")
    assert read_toml(tmp_path / "c.toml") == d
