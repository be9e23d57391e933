"""Baselines a recast student is compared with, at the same total epochs (the recasting's
block epochs plus its fine-tuning):

- scratch: the student's architecture, freshly initialised, trained on cross-entropy;
- kd: the same with logit knowledge distillation from the teacher (Hinton et al. 2015:
  alpha T^2 KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) CE, T = 4, alpha = 0.9);
- pruned: the teacher with the inner filters of its residual blocks removed by L1 norm (Li et
  al., "Pruning Filters for Efficient ConvNets", ICLR 2017), one ratio for all blocks chosen
  to reach the student's parameter count, then fine-tuned on cross-entropy. Block outputs keep
  their width, which is why pruning cuts parameters more than time, the recasting paper's
  argument.

Each trains epoch by epoch with a checkpoint (model, optimiser, history) when given a path.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from sc_accel.errors import DataFileError
from sc_accel.fileio import atomic_torch_save, load_tensors
from sc_accel.progress import bar as progress_bar
from sc_accel.seeds import derive_seed, seeded
from recast.net import split_model
from recast.procedure import RecastConfig, _batches, fit_epoch

__all__ = ["fresh_copy", "train_baseline", "prune_filters", "params", "KD_TEMPERATURE", "KD_ALPHA"]

KD_TEMPERATURE = 4.0
KD_ALPHA = 0.9
# phases of derive_seed(cfg.seed, phase, epoch) (recast.procedure's steps use 1 to 3)
SEED_BASELINE_TRAIN, SEED_BASELINE_SHUFFLE = 4, 5


def params(model: nn.Module) -> int:
    """Number of parameters."""
    return int(sum(p.numel() for p in model.parameters()))


def fresh_copy(model: nn.Module, seed: int) -> nn.Module:
    """`model`'s architecture with every layer re-initialised (seeded)."""
    model = copy.deepcopy(model)
    with seeded(seed):
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return model


def _logits(teacher: nn.Module | None, x: torch.Tensor) -> torch.Tensor | None:
    if teacher is None:
        return None
    with torch.no_grad():
        return teacher(x)


def _loss(logits: torch.Tensor, y: torch.Tensor, t_logits: torch.Tensor | None) -> torch.Tensor:
    ce = F.cross_entropy(logits, y)
    if t_logits is None:
        return ce
    T = KD_TEMPERATURE
    kd = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean") * T * T
    return KD_ALPHA * kd + (1 - KD_ALPHA) * ce


def train_baseline(model: nn.Module, data: object, epochs: int, cfg: RecastConfig, teacher: nn.Module | None = None,
                   ckpt: str | Path | None = None, desc: str = "") -> tuple[nn.Module, list[dict]]:
    """Train `model` for `epochs` on cross-entropy (with `teacher`: knowledge distillation);
    resumes from `ckpt` when it exists. With `desc`, a progress bar of that name shows the
    epochs. Returns (model in eval mode, [{"epoch", "loss"}])."""
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history: list[dict] = []
    ckpt = None if ckpt is None else Path(ckpt)
    if ckpt is not None and ckpt.exists():
        saved = load_tensors(ckpt, "baseline checkpoint", "delete it")
        try:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            history = saved["history"]
        except Exception as e:  # noqa: BLE001 (a damaged file raises pickle, zip, key or type errors)
            raise DataFileError(f"baseline checkpoint {ckpt} is damaged ({type(e).__name__}); delete it.") from None
    bar = progress_bar(total=epochs, initial=len(history), desc=desc, disable=not desc or len(history) >= epochs)
    for epoch in range(len(history), epochs):
        model.train()
        with seeded(cfg.seed, SEED_BASELINE_TRAIN, epoch):
            loss = fit_epoch(opt, _batches(data, cfg.batch_size, derive_seed(cfg.seed, SEED_BASELINE_SHUFFLE, epoch)),
                             lambda x, y: _loss(model(x), y, _logits(teacher, x)))
        history.append({"epoch": epoch, "loss": loss})
        if ckpt is not None:
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "history": history}, ckpt)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}")
    bar.close()
    return model.eval(), history


def _inner_pairs(block: nn.Module) -> tuple[nn.Conv2d, nn.BatchNorm2d, nn.Conv2d] | None:
    """The first dense conv of a block's body, its BN and the conv after it: the filters
    between them can go without changing the block's output width."""
    body = getattr(block, "body", block)
    mods = [m for m in body.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    for a, bn, b in zip(mods, mods[1:], mods[2:]):
        if (isinstance(a, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and isinstance(b, nn.Conv2d)
                and a.groups == 1 and b.groups == 1 and b.in_channels == a.out_channels):
            return a, bn, b
    return None


def _replace(root: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for name, m in root.named_modules():
        for child_name, child in m.named_children():
            if child is old:
                setattr(m, child_name, new)
                return


def _prune_block(block: nn.Module, keep_frac: float) -> None:
    pair = _inner_pairs(block)
    if pair is None:
        return
    a, bn, b = pair
    keep = max(1, int(round(a.out_channels * keep_frac)))
    order = a.weight.detach().abs().sum((1, 2, 3)).argsort(descending=True)[:keep].sort().values
    na = nn.Conv2d(a.in_channels, keep, a.kernel_size, a.stride, a.padding, bias=a.bias is not None)
    na.weight.data = a.weight.data[order].clone()
    if a.bias is not None:
        na.bias.data = a.bias.data[order].clone()
    nbn = nn.BatchNorm2d(keep)
    for k in ("weight", "bias", "running_mean", "running_var"):
        getattr(nbn, k).data = getattr(bn, k).data[order].clone()
    nb = nn.Conv2d(keep, b.out_channels, b.kernel_size, b.stride, b.padding, bias=b.bias is not None)
    nb.weight.data = b.weight.data[:, order].clone()
    if b.bias is not None:
        nb.bias.data = b.bias.data.clone()
    for old, new in ((a, na), (bn, nbn), (b, nb)):
        _replace(block, old, new)


def prune_filters(teacher: nn.Module, target_params: int) -> tuple[nn.Module, float]:
    """(copy of the teacher with each block's inner filters cut to the same kept fraction,
    that fraction): the largest fraction whose parameter count is at most target_params, or
    the smallest (one filter) when even that is above it."""
    split_model(teacher)  # refuses a model without blocks
    lo, hi = 0.0, 1.0
    best = None
    for _ in range(20):  # bisection on the kept fraction
        mid = (lo + hi) / 2
        cand = copy.deepcopy(teacher)
        for blk in split_model(cand)[1]:
            _prune_block(blk, mid)
        if params(cand) <= target_params:
            best, lo = (cand, mid), mid
        else:
            hi = mid
    if best is None:
        cand = copy.deepcopy(teacher)
        for blk in split_model(cand)[1]:
            _prune_block(blk, 0.0)
        best = (cand, 0.0)
    return best[0].eval(), best[1]
