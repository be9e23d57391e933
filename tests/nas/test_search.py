"""The search phases on tiny data: two-point distillation learns, a killed search resumes to
the same result, random search keeps its best candidate, and bad input is one sentence."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import nas.common
from nas import SearchConfig, search
from nas.cost import build_tables
from nas.network import SuperStage, build_network
from nas.search import SearchContext, _stage_task
from nas.stages import search_stage, stage_job
from nas.teacher import StageMismatchError, cut_teacher
from sc_accel.runner import run_tasks
from sc_accel.errors import InvalidInputError
from tests.nas.conftest import TINY_OPS, random_genotype

TINY = SearchConfig(channels=(4, 8), ops=TINY_OPS, train_images=0, search_images=400, eval_images=200, batch_size=32,
                    coarse_epochs=1, teacher_epochs=1, search_epochs=2, warmup_epochs=1, retrain_epochs=1,
                    random_candidates=2, distil_steps=20)


def _stage_tasks(space, digits, tmp_path, epochs=4, lam=0.0):
    torch.manual_seed(0)
    teacher = build_network(random_genotype(space, 7), 1, 10)
    x = torch.as_tensor(digits[0][:256])
    for m in teacher.modules():  # BN statistics of the data, so the teacher's maps are not near zero
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a cumulative average: one pass sets them
    with torch.no_grad():
        teacher.train()(x)
    cut = cut_teacher(teacher, space, 1, 8)
    tables = build_tables(space, 1, 10, 8, "systolic-32x32-ws")
    cfg = dataclasses.replace(TINY, channels=space.channels, ops=space.ops, search_epochs=epochs, lam=lam,
                              cells_per_stage=space.cells_per_stage)
    coarse = type("Coarse", (), {"stages": [SuperStage(space, s) for s in range(2)],
                                 "genotype": lambda self: random_genotype(space, 8)})()
    ctx = SearchContext(coarse, cut, x, x, torch.as_tensor(digits[1][:256]), cfg, tables, tmp_path, progress=False)
    return [_stage_task(s, ctx) for s in range(2)]


def test_two_point_distillation_loss_falls(space, digits, tmp_path):
    for task in _stage_tasks(space, digits, tmp_path):
        hist = search_stage(task)["history"]
        mse = [h["mse"] for h in hist]
        assert all(b < a for a, b in zip(mse, mse[1:])), mse  # it falls every epoch
        assert hist[-1]["rel_mse"] < min(1.0, hist[0]["rel_mse"])  # and beats predicting zeros


def test_stage_tasks_give_the_same_result_inline_in_processes_and_on_ray(space, digits, tmp_path):
    import ray

    def run(where, **kw):
        tasks = _stage_tasks(space, digits, tmp_path / where, epochs=2, lam=0.5)
        return run_tasks(stage_job, tasks, **kw)

    inline, pool = run("inline", workers=1), run("pool", workers=2)
    try:
        on_ray = run("ray", ray="local")
    finally:
        ray.shutdown()
    for a in (pool, on_ray):
        for x, y in zip(inline, a):
            assert x["cells"] == y["cells"] and x["history"] == [
                {**h, "seconds": x["history"][i]["seconds"]} for i, h in enumerate(y["history"])]
            assert all(torch.equal(x["state"][k], y["state"][k]) for k in x["state"])


def _strip_seconds(h):
    if isinstance(h, dict):
        return {k: _strip_seconds(v) for k, v in h.items() if k != "seconds"}
    if isinstance(h, list):
        return [_strip_seconds(v) for v in h]
    return h


@pytest.mark.parametrize("method", ["inheritednas", "random"])
def test_killed_search_resumes_to_the_uninterrupted_result(digits, tmp_path, monkeypatch, method):
    cfg = dataclasses.replace(TINY, method=method)
    whole = search(digits, cfg, out=tmp_path / "whole", progress=False)
    calls = {"n": 0}
    real = nas.common.save_checkpoint

    def dying(state, path, settings):
        real(state, path, settings)
        calls["n"] += 1
        if calls["n"] == 4:  # after the coarse search, the cell network and the first stage epoch
            raise KeyboardInterrupt

    for mod in ("nas.common", "nas.coarse", "nas.stages", "nas.random_search"):
        monkeypatch.setattr(f"{mod}.save_checkpoint", dying)
    with pytest.raises(KeyboardInterrupt):
        search(digits, cfg, out=tmp_path / "killed", progress=False)
    monkeypatch.undo()
    resumed = search(digits, cfg, out=tmp_path / "killed", progress=False)
    assert resumed.genotype == whole.genotype
    assert _strip_seconds(resumed.history) == _strip_seconds(whole.history)
    sa, sb = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [c["accuracy"] for c in resumed.candidates] == [c["accuracy"] for c in whole.candidates]


def test_random_search_keeps_the_best_candidate_by_its_objective(digits, tmp_path):
    res = search(digits, dataclasses.replace(TINY, method="random", random_candidates=3), out=tmp_path,
                 progress=False)
    assert len(res.candidates) == 3
    best = min(res.candidates, key=lambda c: c["objective"])
    assert res.genotype.to_dict() == best["genotype"]
    assert all(0.0 <= c["accuracy"] <= 1.0 and c["latency_s"] > 0 for c in res.candidates)


def test_search_settings_changed_on_resume_are_named(digits, tmp_path):
    search(digits, dataclasses.replace(TINY, method="darts"), out=tmp_path, progress=False)
    with pytest.raises(InvalidInputError, match="coarse_epochs 1 -> 2"):
        search(digits, dataclasses.replace(TINY, method="darts", coarse_epochs=2), out=tmp_path, progress=False)


@pytest.mark.parametrize("kw,match", [({"lam": -0.1}, "lambda=-0.1 must be"), ({"ops": ("skip", "sep9")},
                                                                             "unknown op 'sep9'"),
                                      ({"method": "enas"}, "method 'enas'"), ({"penalty": "area"}, "penalty"),
                                      ({"warmup_epochs": 3}, "warmup"), ({"prune_threshold": 1.5}, "prune")])
def test_bad_settings_are_one_sentence(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        SearchConfig(**kw)


def test_teacher_whose_stages_do_not_match_is_refused(space, digits):
    from scnas.zoo import create_model

    with pytest.raises(StageMismatchError, match="no stem, blocks and head"):
        cut_teacher(create_model("lenet5", 1, 10, 8), space, 1, 8)
    with pytest.raises(StageMismatchError, match=r"teacher's stages .* \[\(16, 8\), \(32, 4\), \(64, 2\)\]"):
        cut_teacher(create_model("resnet20", 1, 10, 8), space, 1, 8)
    with pytest.raises(StageMismatchError):
        search(digits, TINY, teacher=create_model("resnet20", 1, 10, 8), progress=False)


def test_zoo_resnet_is_a_teacher_when_the_space_has_its_stages(digits, tmp_path):
    from scnas.zoo import create_model

    cfg = dataclasses.replace(TINY, channels=(16, 32, 64), search_epochs=2)
    res = search(digits, cfg, teacher=create_model("resnet20", 1, 10, 8), out=tmp_path, progress=False)
    assert res.notes["stem_head_from_teacher"]  # the zoo ResNet's stem and head fit the CellNet's
    assert res.model(torch.as_tensor(digits[0][:3])).shape == (3, 10)


def test_search_phases_leave_the_callers_generator_alone(space, digits, tmp_path):
    """Models are built under `seeded(...)`: the caller's torch generator is as it was."""
    task = _stage_tasks(space, digits, tmp_path / "stage", epochs=2)[0]
    before = torch.get_rng_state()
    search_stage(task)
    search(digits, dataclasses.replace(TINY, method="random"), out=tmp_path / "random", progress=False)
    assert torch.equal(torch.get_rng_state(), before)
