"""The reference code's three choices as RecastConfig options (docs/recasting.md, "Reference
procedure and ablation"): each changes what it says, resumes, and is part of what a resume checks."""

from __future__ import annotations

import pytest
import torch

import recast.procedure as proc
from recast import RecastConfig, recast
from sc_accel.errors import InvalidInputError
from tests.recast.test_recast import _data, _states_equal, _teacher

# 24 images: 6 batches an epoch; the older procedure spelled out, whatever the defaults
BASE = dict(epochs_per_block=1, finetune_epochs=0, batch_size=4, reinit_next="width-change", train_stem=False,
            lr_schedule="constant")


def _cfg(**change) -> RecastConfig:
    return RecastConfig(**{**BASE, **change})


def _stem_after(train_stem: bool) -> tuple[torch.nn.Module, torch.nn.Module]:
    teacher = _teacher("basic", 2)
    res = recast(teacher, "plain", _data(), _cfg(train_stem=train_stem), progress=False)
    return teacher.stem, res.student.stem


def test_the_stem_trains_only_with_train_stem():
    teacher_stem, frozen = _stem_after(False)
    assert _states_equal(frozen, teacher_stem)  # weights and BN running statistics untouched
    teacher_stem, trained = _stem_after(True)
    assert not torch.equal(trained[0].weight, teacher_stem[0].weight)
    assert not torch.equal(trained[1].running_mean, teacher_stem[1].running_mean)  # BN in train mode


def _at_first_batch_of_each_step(monkeypatch, cfg: RecastConfig) -> tuple[torch.nn.Module, list, list]:
    """(teacher, the student's block 1 and head as each block step starts training, the specs)."""
    teacher, seen = _teacher("basic", 2), []
    real = proc._epoch

    def spy(tch, student, *args, **kwargs):
        seen.append((
            {k: v.clone() for k, v in student.blocks[1].state_dict().items()},
            {k: v.clone() for k, v in student.head.state_dict().items()},
        ))
        return real(tch, student, *args, **kwargs)

    monkeypatch.setattr(proc, "_epoch", spy)
    res = recast(teacher, "plain", _data(), cfg, progress=False)
    return teacher, seen, res.spec


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_reinit_next_always_reinitialises_the_next_block_even_at_the_same_width(monkeypatch):
    # the plain plan keeps every width (8 -> 8 -> 16), so "width-change" keeps block 1 and the head
    teacher, seen, spec = _at_first_batch_of_each_step(monkeypatch, _cfg())
    block1, head = teacher.blocks[1].state_dict(), teacher.head.state_dict()
    assert _same(seen[0][0], block1) and _same(seen[1][1], head)
    teacher, seen, spec = _at_first_batch_of_each_step(monkeypatch, _cfg(reinit_next="always"))
    # before any batch of step 0 is trained, block 1 is no longer the teacher's: a fresh block of the
    # teacher's type (a plain continuation would start step 0 from the teacher's weights)
    assert seen[0][0].keys() == block1.keys() and not _same(seen[0][0], block1)
    convs = [k for k, v in block1.items() if v.dim() == 4]
    assert convs and all(not torch.equal(seen[0][0][k], block1[k]) for k in convs)  # every conv is fresh
    # at the last step the head (the reference's block i + 1 there) is fresh too
    assert not torch.equal(seen[1][1]["2.weight"], head["2.weight"])
    assert spec[1]["source"] == "new" and spec[1]["type"] == "plain"  # recast itself at step 1


def test_the_step_schedule_decays_the_rate_by_gamma_after_each_fraction_of_a_step(monkeypatch):
    rates = []
    real = proc.checked_step

    def spy(opt, loss, where):
        rates.append(opt.param_groups[0]["lr"])
        return real(opt, loss, where)

    monkeypatch.setattr(proc, "checked_step", spy)
    cfg = _cfg(epochs_per_block=2, lr=1e-2, lr_schedule="step", lr_step_fraction=0.25, lr_gamma=0.5)
    recast(_teacher("basic", 2), "plain", _data(), cfg, progress=False)
    # 2 epochs x 6 batches per step, a decay every 3 batches; each block step starts again at lr
    one_step = [1e-2 * 0.5 ** (k // 3) for k in range(12)]
    assert rates == pytest.approx(one_step + one_step, rel=1e-12)
    assert proc.lr_at(cfg, 2, 6, 1, 5) == pytest.approx(1e-2 * 0.5 ** 3)
    rates.clear()
    recast(_teacher("basic", 2), "plain", _data(), _cfg(lr=1e-2), progress=False)
    assert rates == [1e-2] * 12  # constant


REFERENCE = RecastConfig(epochs_per_block=2, finetune_epochs=2, batch_size=12, seed=3, reinit_next="always",
                         train_stem=True, lr_schedule="step")


@pytest.mark.parametrize("change", [{"reinit_next": "width-change"}, {"train_stem": False},
                                   {"lr_schedule": "constant"}, {"lr_gamma": 0.5}, {"lr_step_fraction": 0.5}])
def test_resuming_with_a_changed_option_is_refused_by_name(tmp_path, change):
    teacher, data = _teacher("basic"), _data()
    cfg = RecastConfig(**{**REFERENCE.to_dict(), "epochs_per_block": 1, "finetune_epochs": 0})
    recast(teacher, "plain", data, cfg, out=tmp_path, progress=False)
    name = next(iter(change))
    with pytest.raises(InvalidInputError, match=rf"another config \({name}\)"):
        recast(teacher, "plain", data, RecastConfig(**{**cfg.to_dict(), **change}), out=tmp_path, progress=False)


@pytest.mark.parametrize("bad", [{"reinit_next": "sometimes"}, {"train_stem": "yes"}, {"lr_schedule": "cosine"},
                                 {"lr_gamma": 0}, {"lr_gamma": 1.5}, {"lr_step_fraction": 0},
                                 {"lr_step_fraction": True}])
def test_bad_option_values_are_refused_by_name(bad):
    with pytest.raises(InvalidInputError, match=next(iter(bad))):
        RecastConfig(**bad)
