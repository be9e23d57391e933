"""`scnas COMMAND --config RUN/config.toml`: rerun a run from its saved settings, flags overriding."""

from __future__ import annotations

import json

import pytest

from scnas.cli import main
from scnas.config import read_toml, write_toml
from tests.scnas.helpers import cli_error

TRAIN = ["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1"]


def _numbers(run) -> dict:
    """results.json of a train run without its timings."""
    res = json.loads((run / "results.json").read_text())
    res["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in res["history"]]
    return res


def _untimed(settings: list[dict]) -> list[dict]:
    """An emulate run's settings without their timings."""
    return [{k: v for k, v in s.items() if not k.endswith(("seconds", "_per_s"))} for s in settings]


def _settings(run) -> dict:
    return {k: v for k, v in read_toml(run / "config.toml").items() if k != "run"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A train run made with a non-default batch size and learning rate."""
    run = tmp_path_factory.mktemp("cfg") / "a"
    assert main(TRAIN + ["--batch-size", "64", "--lr", "0.003", "--out", str(run)]) == 0
    return run


def test_train_rerun_from_config_gives_the_same_numbers(trained, tmp_path):
    assert main(["train", "--config", str(trained / "config.toml"), "--out", str(tmp_path / "b")]) == 0
    assert _numbers(tmp_path / "b") == _numbers(trained)
    assert _settings(tmp_path / "b") == _settings(trained)
    assert _settings(trained)["batch_size"] == 64  # the file's options, not the defaults
    argv = read_toml(tmp_path / "b" / "config.toml")["run"]["argv"]
    assert "--config" not in argv and argv.count("--out") == 1  # the resolved command line, rerunnable as is


def test_a_flag_overrides_one_setting(trained, tmp_path, capsys):
    assert main(["train", "--config", str(trained), "--out", str(tmp_path / "c"), "--seed", "3"]) == 0
    new, old = _settings(tmp_path / "c"), _settings(trained)
    assert new["seed"] == 3 and {**new, "seed": old["seed"]} == old
    assert "--seed 3" in read_toml(tmp_path / "c" / "config.toml")["run"]["argv"]


def test_emulate_rerun_from_config_gives_the_same_accuracies(teacher, tmp_path):
    first = tmp_path / "e1"
    assert main(["emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32", "--limit", "50",
                 "--seed", "4", "--out", str(first)]) == 0
    assert main(["emulate", "--config", str(first / "config.toml"), "--out", str(tmp_path / "e2")]) == 0
    a, b = (json.loads((d / "results.json").read_text()) for d in (first, tmp_path / "e2"))
    assert _untimed(a["settings"]) == _untimed(b["settings"])
    assert (a["float_accuracy"], a["n_images"]) == (b["float_accuracy"], 50)
    assert b["settings"][0]["config"]["seed"] == 4


def test_a_config_of_another_command_is_refused(trained, tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["emulate", "--config", str(trained / "config.toml"), "--out", str(out)]) == 2
    assert "is the config.toml of a `scnas train` run, not of `scnas emulate`" in cli_error(capsys)
    assert not out.exists()


def test_a_config_of_another_dse_search_is_refused(tmp_path, capsys):
    write_toml({"command": "dse", "search": "confuciux", "budget": 10}, tmp_path / "config.toml")
    assert main(["dse", "evolver", "--config", str(tmp_path / "config.toml")]) == 2
    assert "`scnas dse confuciux` run, not of `scnas dse evolver`" in cli_error(capsys)


def test_a_file_that_names_no_command_is_refused(tmp_path, capsys):
    write_toml({"model": "lenet5"}, tmp_path / "config.toml")
    assert main(["train", "--config", str(tmp_path / "config.toml")]) == 2
    assert "names no scnas command" in cli_error(capsys)


def test_unknown_recorded_options_are_refused(tmp_path, capsys):
    write_toml({"command": "train", "run": {"argv": "scnas train --model lenet5 --frobnicate 3"}},
               tmp_path / "config.toml")
    assert main(["train", "--config", str(tmp_path / "config.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "does not know (--frobnicate 3)" in cli_error(capsys)
    assert not (tmp_path / "o").exists()


def test_without_a_command_line_the_settings_become_options(trained, tmp_path, capsys):
    """A run made from Python records no argv: its settings with an option are used, the rest named."""
    saved = read_toml(trained / "config.toml")
    write_toml({**saved, "run": {"argv": "(Python API)"}}, tmp_path / "config.toml")
    assert main(["train", "--config", str(tmp_path / "config.toml"), "--out", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "rebuilt from its settings" in err and "weight_decay" in err  # TrainConfig field with no option
    assert _settings(tmp_path / "d") == _settings(trained)
    assert _numbers(tmp_path / "d") == _numbers(trained)


def test_estimate_rerun_from_config_and_a_list_option_overridden(tmp_path):
    """--accel takes several values: the file's list is replaced whole by the flag given."""
    first, again, one = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main(["estimate", "--model", "lenet5", "--accel", "systolic-32x32-ws", "sc-64x64-L256",
                 "--out", str(first)]) == 0
    assert main(["estimate", "--config", str(first / "config.toml"), "--out", str(again)]) == 0
    est = [json.loads((r / "results.json").read_text())["estimates"] for r in (first, again)]
    assert est[0] == est[1] and len(est[0]) == 2
    assert main(["estimate", "--config", str(first), "--accel", "systolic-32x32-ws", "--out", str(one)]) == 0
    assert [e["accel"]["name"] for e in json.loads((one / "results.json").read_text())["estimates"]] == \
        ["systolic-32x32-ws"]
    assert read_toml(one / "config.toml")["run"]["argv"].count("--accel systolic-32x32-ws --out") == 1
