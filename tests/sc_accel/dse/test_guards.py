"""Guards of the accelerator searches (issue 24): sizes that would run for minutes, values
that were silently accepted and inputs that crashed deep inside are refused with one
sentence, before any work."""

from __future__ import annotations

import dataclasses
import math

import pytest

import sc_accel.dse.assign as assign_mod
from sc_accel.dse import PLATFORMS, AllocationProblem, DSEInputError, DVFSProblem, Platform, assign_resources
from sc_accel.dse import tune_batch_dvfs
from sc_accel.dse.batchdvfs import bayesian_dvfs
from sc_accel.dse.evolver import EvolverProblem, QLearner, Thresholds, evolve
from sc_accel.errors import InvalidInputError
from sc_accel.hw import presets
from sc_accel.hw.config import HardwareConfigError, LayerPrecision
from sc_accel.hw.estimate import estimate
from sc_accel.hw.workload import workload
from scnas.dse_run import platform_from, run_batchdvfs, run_confuciux
from scnas.zoo import create_model


def _no_work(*a, **k):
    raise AssertionError("the search started before the inputs were checked")


# ---- 1. sizes that would run for minutes: refused before any work ----------------------------------

def test_huge_budget_is_refused_before_any_search(lenet_layers, kcp, monkeypatch, tmp_path):
    monkeypatch.setattr(assign_mod, "confuciux", _no_work)
    with pytest.raises(DSEInputError, match="budget=1000000000000 must be an integer from 2 to 1,000,000"):
        assign_resources(lenet_layers, None, kcp, PLATFORMS["edge"], budget=10**12)
    model = create_model("lenet5", 1, 10, 28)
    with pytest.raises(DSEInputError, match="1,000,000"):
        run_confuciux({"lenet5": (model, (1, 1, 28, 28))}, kcp, [PLATFORMS["edge"]], tmp_path / "r", budget=10**12,
                      progress=False)
    assert not (tmp_path / "r").exists()


def test_huge_max_batch_and_trials_are_refused_before_any_estimate(lenet_layers, kcp, monkeypatch, tmp_path):
    monkeypatch.setattr(DVFSProblem, "score", _no_work)
    with pytest.raises(DSEInputError, match="max_batch=1000000000 must be an integer from 1 to 4,096"):
        DVFSProblem(lenet_layers, kcp, max_batch=10**9)
    with pytest.raises(DSEInputError, match="max_batch=1000000000"):
        tune_batch_dvfs(lenet_layers, kcp, 1.0, max_batch=10**9)
    with pytest.raises(DSEInputError, match="trials=1000000000 must be an integer from 1 to 10,000"):
        tune_batch_dvfs(lenet_layers, kcp, 1.0, max_batch=4, trials=10**9)
    model = (create_model("lenet5", 1, 10, 28), (1, 1, 28, 28))
    for kw, match in (({"max_batch": 10**9}, "4,096"), ({"trials": 10**9}, "10,000"),
                      ({"caps": [1.0] * 65}, "1 to 64 power caps")):
        with pytest.raises(DSEInputError, match=match):
            run_batchdvfs(model, "lenet5", kcp, kw.pop("caps", [1.0]), tmp_path / "r", progress=False, **kw)
    assert not (tmp_path / "r").exists()


def test_oversized_menus_and_caps_are_refused():
    base = dict(name="p", max_pes=64, max_buffer_bytes=1024, pe_menu=(8,), buffer_menu=(128,))
    with pytest.raises(DSEInputError, match="65 choices, more than 64"):
        Platform(**{**base, "pe_menu": tuple(range(1, 66))})
    with pytest.raises(DSEInputError, match="positive integers up to 68,719,476,736"):
        Platform(**{**base, "buffer_menu": (10**30,)})
    with pytest.raises(DSEInputError, match="max_pes=10000000000000 must be an integer from 1 to 16,777,216"):
        platform_from("edge", max_pes=10**13)


def test_huge_episodes_and_samples_are_refused(tiny_problem_args):
    with pytest.raises(DSEInputError, match="samples=100000000 must be an integer from 1 to 1,024"):
        EvolverProblem(*tiny_problem_args, samples=10**8)
    p = EvolverProblem(*tiny_problem_args)
    with pytest.raises(DSEInputError, match="episodes=1000000000 must be an integer from 1 to 100,000"):
        evolve(p, episodes=10**9)


# ---- 2. inputs that crashed deep inside --------------------------------------------------------------

@pytest.mark.parametrize("kw,error,match", [
    ({"model": None}, InvalidInputError, "model must be a torch.nn.Module"),
    ({"accel": "spatial-16x16-kcp"}, HardwareConfigError, "accel must be an AccelConfig"),
    ({"input_shape": None}, InvalidInputError, "input_shape=None must be"),
    ({"platform": "edge"}, DSEInputError, "platform must be a Platform"),
    ({"model": [1, 2]}, InvalidInputError, "must hold WorkLayer records"),
])
def test_assign_resources_refuses_wrong_types(kcp, kw, error, match):
    args = {"model": create_model("lenet5", 1, 10, 28), "input_shape": (1, 1, 28, 28), "accel": kcp,
            "platform": PLATFORMS["edge"], **kw}
    with pytest.raises(error, match=match):
        assign_resources(**args, budget=10)


def test_tune_batch_dvfs_refuses_an_empty_layer_list_and_a_str_accel(lenet_layers, kcp):
    with pytest.raises(InvalidInputError, match="the list of layers is empty"):
        tune_batch_dvfs([], kcp, 1.0, max_batch=2, trials=2)
    with pytest.raises(HardwareConfigError, match="accel must be an AccelConfig"):
        tune_batch_dvfs(lenet_layers, "spatial-16x16-kcp", 1.0, max_batch=2, trials=2)
    with pytest.raises(InvalidInputError, match="model must be a torch.nn.Module"):
        estimate(None, (1, 1, 28, 28), kcp)


# ---- 3. values that were silently accepted ------------------------------------------------------------

@pytest.mark.parametrize("field,value", [("max_pes", math.nan), ("max_pes", 10.5), ("max_pes", math.inf),
                                         ("max_buffer_bytes", math.nan), ("max_buffer_bytes", 2.5),
                                         ("max_pes", True)])
def test_platform_refuses_non_integer_caps(field, value):
    with pytest.raises(DSEInputError, match=f"{field}={value!r} must be an integer"):
        dataclasses.replace(PLATFORMS["edge"], **{field: value})


@pytest.mark.parametrize("area", [math.inf, math.nan, -1.0, "big"])
def test_platform_refuses_an_infinite_or_bad_area_cap(area):
    with pytest.raises(DSEInputError, match="must be a positive finite area"):
        dataclasses.replace(PLATFORMS["edge"], max_area_um2=area)


def test_platform_from_takes_zero_as_given_not_as_the_default():
    with pytest.raises(DSEInputError, match="max_pes=0 must be an integer"):
        platform_from("edge", max_pes=0)


@pytest.mark.parametrize("trials", [0, -3, 2.5])
def test_trials_below_one_are_refused(lenet_layers, kcp, trials):
    with pytest.raises(DSEInputError, match="trials="):
        tune_batch_dvfs(lenet_layers, kcp, 1.0, max_batch=2, trials=trials)
    with pytest.raises(DSEInputError, match="trials="):
        bayesian_dvfs(DVFSProblem(lenet_layers, kcp, max_batch=2), 1.0, trials=trials)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_bad_seeds_are_refused(lenet_layers, kcp, seed, monkeypatch):
    monkeypatch.setattr(assign_mod, "confuciux", _no_work)
    with pytest.raises(DSEInputError, match="seed=.* must be an integer from 0 to 2\\^32 - 1"):
        assign_resources(lenet_layers, None, kcp, PLATFORMS["edge"], budget=10, seed=seed)
    with pytest.raises(DSEInputError, match="seed=.* must be an integer from 0 to 2\\^32 - 1"):
        tune_batch_dvfs(lenet_layers, kcp, 1.0, max_batch=2, trials=2, seed=seed)


def _sc_with_unknown_precision():
    acc = presets()["sc-64x64-L256"]
    return acc.with_(precision={"nosuchlayer": LayerPrecision(stream_length=64)})


def test_unknown_precision_layer_is_refused_by_every_search_alike(lenet_layers, tiny_problem_args):
    """The check the estimator made (after a whole ConfuciuX search, or at BatchDVFS's first
    estimate; Evolver dropped the names) is one shared check, made when each problem is built."""
    acc = _sc_with_unknown_precision()
    match = "name layers \\['nosuchlayer'\\] that the model does not have"
    with pytest.raises(HardwareConfigError, match=match):
        AllocationProblem(lenet_layers, acc, PLATFORMS["edge"])
    with pytest.raises(HardwareConfigError, match=match):
        DVFSProblem(lenet_layers, acc, max_batch=2)
    m, layers, _, *rest = tiny_problem_args
    with pytest.raises(HardwareConfigError, match=match):
        EvolverProblem(m, layers, acc, *rest)


# ---- damaged evolver checkpoints -------------------------------------------------------------------------

def test_damaged_learner_and_caches_are_refused_and_change_nothing(tiny_problem_args):
    p = EvolverProblem(*tiny_problem_args)
    ql = evolve(p, episodes=6, seed=0)
    saved = {"learner": ql.to_dict(), **p.cache_state()}
    QLearner.from_dict(saved["learner"]).check(p, 6)  # a sound one passes
    for bad in ({"q": [[0.0]]}, {"episode": 99}, {"top": [[1.0, [9, 9, 9]]]}, {"best_policy": ["x"]},
                {"history": []}):
        with pytest.raises(DSEInputError, match="learner does not fit this search"):
            QLearner.from_dict({**saved["learner"], **bad}).check(p, 6)
    with pytest.raises((TypeError, ValueError, KeyError)):
        QLearner.from_dict({**saved["learner"], "rng_state": {"state": 1}}).check(p, 6)
    before = p.cache_state()
    forged = {**saved, "cost_cache": {**saved["cost_cache"], "0,0|99": [1.0, 2.0]}}
    for d in (forged, {**saved, "accuracy_cache": {"x": 1}}, {**saved, "counts": {}}):
        with pytest.raises(DSEInputError, match="caches do not fit this search"):
            p.load_cache_state(d)
        assert p.cache_state() == before


@pytest.fixture(scope="module")
def tiny_problem_args(tiny):
    """Arguments of a two-layer EvolverProblem on 8x8 images (milliseconds to build)."""
    m, x, y = tiny
    x, y = x[:32], y[:32]
    return m, workload(m, (1, 1, 8, 8)), presets()["sc-64x64-L256"], x, y, x, Thresholds(0.5), (16, 64)


@pytest.mark.parametrize("kwargs", [{"word_bits": 10 ** 6}, {"acc_bits": 10 ** 6}])
def test_datapath_widths_beyond_64_bits_are_refused(kwargs):
    from sc_accel.hw import AccelConfig

    with pytest.raises(ValueError, match="beyond the supported"):
        AccelConfig(name="x", kind="systolic", rows=8, cols=8, **kwargs)


def test_layer_precision_word_bits_beyond_64_are_refused():
    from sc_accel.hw.config import LayerPrecision

    with pytest.raises(ValueError, match="precision.word_bits=1000000 is beyond the supported 64 bits"):
        LayerPrecision(word_bits=10 ** 6)


@pytest.mark.parametrize("shape", [("1", 1, 8, 8), (1.5, 1, 8, 8), (1, 1, 8.0, 8), (True, 1, 8, 8)])
def test_workload_refuses_shapes_that_are_not_whole_numbers(shape):
    from sc_accel.hw import workload
    from scnas.zoo import create_model

    with pytest.raises(ValueError, match="must be \\(batch, channels, height, width\\)"):
        workload(create_model("lenet5", 1, 10, 8), shape)
