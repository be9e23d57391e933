"""Each option that feeds a dataclass field or a function parameter defaults to that field's or
parameter's value, so the two cannot drift apart."""

from __future__ import annotations

import argparse
import inspect
from dataclasses import fields

import pytest

from nas import SearchConfig
from recast import RecastConfig
from sc_accel.nn import SCConfig
from scnas.cli import build_parser
from scnas.commands.common import parse_list
from scnas.commands.emulate import with_defaults
from scnas.finetune import FinetuneConfig
from scnas.commands.search import search_config
from scnas.dse_run import run_batchdvfs, run_confuciux, run_evolver
from scnas.recast_run import run_recast
from scnas.search_run import run_search
from scnas.sweep import run_sweep
from scnas.train import TrainConfig


def _parsed(*argv: str) -> dict:
    return vars(build_parser().parse_args(list(argv)))


def _field_defaults(cls: type) -> dict:
    return {f.name: f.default for f in fields(cls)}


def _param_defaults(fn) -> dict:
    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}


def test_emulate_settings_default_to_a_fine_tuned_models_own():
    rec = SCConfig(stream_length=48, sng="sobol", share=4, maxpool="selector", seed=7)
    args = vars(with_defaults(argparse.Namespace(**_parsed("emulate", "--sng", "lfsr")), rec))
    assert (args["stream_length"], args["sng"], args["share"], args["maxpool"], args["seed"]) == \
        ("48", "lfsr", "4", "selector", 7)  # a flag given wins


@pytest.mark.parametrize("argv, cls", [(["train"], TrainConfig), (["recast"], RecastConfig),
                                       (["finetune"], FinetuneConfig)])
def test_config_options_default_to_the_dataclass(argv, cls):
    args, want = _parsed(*argv), _field_defaults(cls)
    shared = set(args) & set(want)
    assert shared >= {"lr", "batch_size", "seed"}
    assert {k: args[k] for k in shared} == {k: want[k] for k in shared}


def test_teacher_epochs_default_to_train_config():
    for argv in (["emulate"], ["recast"], ["search"], ["dse", "evolver"]):
        assert _parsed(*argv)["epochs"] == TrainConfig().epochs


def test_search_without_flags_is_search_config():
    assert search_config(build_parser().parse_args(["search"])) == SearchConfig()


def test_emulate_settings_default_to_sc_config():
    """Left out, a setting is SCConfig's default (with_defaults, once the model is known to record none)."""
    args, sc = vars(with_defaults(argparse.Namespace(**_parsed("emulate")), None)), SCConfig()
    for name, kind in (("sng", str), ("share", int), ("decorrelate", str), ("upscale", bool), ("maxpool", str),
                       ("mode", str), ("encoding", str)):
        assert parse_list(args[name], kind, name) == [getattr(sc, name)]
    assert args["seed"] == sc.seed and args["calib"] == _param_defaults(run_sweep)["calib_n"]


@pytest.mark.parametrize("argv, fn, renamed", [
    (["recast"], run_recast, {}), (["search"], run_search, {"sc_limit": None, "workers": None}),
    (["dse", "confuciux"], run_confuciux, {"workers": None, "agents": None}), (["dse", "batchdvfs"], run_batchdvfs, {"workers": None}),
    (["dse", "evolver"], run_evolver, {"calib": "calib_images"})])
def test_run_options_default_to_the_function(argv, fn, renamed):
    """renamed: option -> parameter of another name (None: a default of the CLI's own, see its help)."""
    args, want = _parsed(*argv), _param_defaults(fn)
    pairs = {k: renamed.get(k, k) for k in args if renamed.get(k, k) in want}
    assert pairs
    assert {k: args[k] for k, p in pairs.items()} == {k: want[p] for k, p in pairs.items()}
