"""Block-wise recasting: every block type into every other, the matching loss, resume after a
kill, and bad plans refused before anything is written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import recast.procedure as proc
from recast import BLOCKS, BlockPlan, RecastConfig, RecastNet, create_block, recast
from recast.baselines import fresh_copy, train_baseline
from sc_accel.errors import InvalidInputError


def _teacher(kind: str, n_blocks: int = 2) -> RecastNet:
    """A small stem -> blocks -> head network of one block type (8 -> 8 -> 16 channels)."""
    torch.manual_seed(0)
    stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    shapes = [(8, 8, 1), (8, 16, 2), (16, 16, 1)][:n_blocks]
    blocks = [create_block(kind, c, o, s) for c, o, s in shapes]
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(shapes[-1][1], 10))
    return RecastNet(stem, blocks, head).eval()


def _data(n: int = 24, size: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, size, size)).astype(np.float32), rng.integers(0, 10, n)


QUICK = RecastConfig(epochs_per_block=1, finetune_epochs=0, batch_size=12)


@pytest.mark.parametrize("source", BLOCKS.names())
def test_every_source_type_recasts_one_block_into_every_target(source):
    teacher = _teacher(source)
    x, y = _data()
    for target in BLOCKS.names():
        for width in (1.0, 0.5):
            plan = [BlockPlan(target, width), BlockPlan(source)]
            res = recast(teacher, plan, (x, y), QUICK, progress=False)
            assert res.spec[0]["type"] == target and res.spec[0]["source"] == "new"
            h = res.student.stem(torch.as_tensor(x[:3]))
            h = res.student.blocks[0](h)
            assert h.shape == (3, max(1, round(8 * width)), 8, 8)
            assert res.student(torch.as_tensor(x[:3])).shape == (3, 10)
            assert res.spec[1]["in"] == max(1, round(8 * width))  # block 1 takes the new width


def test_matching_loss_falls_within_every_block():
    teacher = _teacher("basic", 3)
    res = recast(teacher, "dwsep", _data(48), RecastConfig(epochs_per_block=6, finetune_epochs=1, batch_size=16),
                 progress=False)
    for b in range(3):
        losses = [h["loss"] for h in res.history if h["block"] == b]
        assert len(losses) == 6 and losses[-1] < 0.8 * losses[0], (b, losses)
    assert len(res.finetune_history) == 1


def test_adaptor_keeps_the_next_block_and_maps_back_to_its_width():
    teacher = _teacher("basic", 3)
    res = recast(teacher, [BlockPlan("plain", 0.5), BlockPlan("basic"), BlockPlan("basic")], _data(),
                 RecastConfig(epochs_per_block=1, finetune_epochs=0, adaptor=True), progress=False)
    assert res.spec[0]["adaptor_to"] == 8 and res.spec[1]["source"] == "new"  # block 1 itself was recast later
    assert res.student(torch.as_tensor(_data()[0][:2])).shape == (2, 10)


def _states_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


_RESUMED = RecastConfig(epochs_per_block=2, finetune_epochs=2, batch_size=12, seed=3)
# the reference's procedure too: a decayed rate and a trained stem in flight when killed
_REFERENCE = RecastConfig(epochs_per_block=2, finetune_epochs=2, batch_size=12, seed=3, reinit_next="always",
                          train_stem=True, lr_schedule="step")


@pytest.mark.parametrize("kill_at,cfg", [(1, _RESUMED), (4, _RESUMED), (6, _RESUMED), (1, _REFERENCE),
                                         (4, _REFERENCE)])
def test_a_killed_run_resumes_to_the_same_student_and_history(tmp_path, monkeypatch, kill_at, cfg):
    """Killed after kill_at finished epochs (mid-block, at a block boundary, in fine-tuning)."""
    teacher, data = _teacher("basic", 3), _data()
    full = recast(teacher, "plain", data, cfg, progress=False)
    real, calls = proc._epoch, []

    def dying(*args, **kwargs):
        if len(calls) == kill_at:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(proc, "_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        recast(teacher, "plain", data, cfg, out=tmp_path, progress=False)
    monkeypatch.setattr(proc, "_epoch", real)
    resumed = recast(teacher, "plain", data, cfg, out=tmp_path, progress=False)
    assert resumed.history == full.history and resumed.finetune_history == full.finetune_history
    assert _states_equal(resumed.student, full.student)


def test_resume_with_other_settings_is_refused(tmp_path):
    teacher, data = _teacher("basic"), _data()
    recast(teacher, "plain", data, QUICK, out=tmp_path, progress=False)
    with pytest.raises(InvalidInputError, match="plan"):
        recast(teacher, "dwsep", data, QUICK, out=tmp_path, progress=False)


@pytest.mark.parametrize("plan,match", [
    ("nope", "neither a preset"),
    ({"type": "hexagonal"}, "unknown block type"),
    ({"block": [{"type": "plain"}]}, "lists 1 blocks but the teacher has 2"),
    ({"type": "plain", "width": 0}, "width"),
    ([BlockPlan("plain"), {"type": "plain", "width": -1}], "width"),
])
def test_bad_plans_are_refused_before_anything_is_written(tmp_path, plan, match):
    with pytest.raises(InvalidInputError, match=match):
        recast(_teacher("basic"), plan, _data(), QUICK, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_teacher_without_blocks_is_refused(tmp_path):
    flat = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten())
    with pytest.raises(InvalidInputError, match="no `stem`, `blocks` and `head`"):
        recast(flat, "plain", _data(), QUICK, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_config_round_trips_and_refuses_bad_values(tmp_path):
    from scnas.config import read_toml, write_toml

    cfg = RecastConfig(epochs_per_block=3, adaptor=True, lr=5e-4)
    assert RecastConfig.from_dict(cfg.to_dict()) == cfg
    write_toml(cfg.to_dict(), tmp_path / "recast.toml")
    assert RecastConfig.from_dict(read_toml(tmp_path / "recast.toml")) == cfg
    with pytest.raises(InvalidInputError, match="unknown recast settings"):
        RecastConfig.from_dict({"epochs": 3})
    for bad in ({"lr": 0}, {"batch_size": 0}, {"seed": -1}, {"epochs_per_block": 1.5}, {"epochs_per_block": 0}):
        with pytest.raises(InvalidInputError):
            RecastConfig(**bad)


def test_a_dataloader_trains_like_a_pair_in_the_same_order():
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _data()
    loader = DataLoader(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=12, shuffle=False)
    res = recast(_teacher("basic"), "dwsep", loader, QUICK, progress=False)
    assert len(res.history) == 2 and res.student(torch.as_tensor(x[:2])).shape == (2, 10)
    with pytest.raises(InvalidInputError, match="DataLoader"):
        recast(_teacher("basic"), "dwsep", [1, 2, 3], QUICK, progress=False)


def test_recast_and_baselines_leave_the_callers_generator_alone():
    teacher, data = _teacher("basic", 2), _data()
    torch.manual_seed(7)
    before = torch.get_rng_state()
    res = recast(teacher, "plain", data, RecastConfig(epochs_per_block=1, finetune_epochs=1, batch_size=12),
                 progress=False)
    train_baseline(fresh_copy(res.student, 1), data, 1, QUICK, teacher=teacher)
    assert torch.equal(torch.get_rng_state(), before)
