"""Block-wise network recasting (Yu, Kang and Choi, "Network Recasting: A Universal Method for
Network Architecture Transformation", AAAI 2019).

For block i of the teacher, in order: put a fresh block of the plan's type in its place,
re-initialise block i + 1 (at every step with `reinit_next="always"`, as the reference code
does; only when its input width changed with "width-change", or, with `adaptor`, keep it
behind a 1x1 conv back to the old width), and train student blocks 0..i+1 (and the stem with
`train_stem`, as the reference does) so that the activation after block i + 1 matches the
teacher's there (MSE, Adam; with `lr_schedule="step"` the rate decays as the reference's
StepLR). After the last block the head plays the part of block i + 1 and the logits are
matched. Then the whole student is fine-tuned on MSE to the teacher's logits plus
cross-entropy.

The reference: the authors' code (Network-Recasting, e.g. its CIFAR-100 ResNet-83 example; a
copy is in github.com/lim-sorry/network-recasting, Network-Recasting-master/): every step
re-creates block index + 1 with `GenNewBlock` whatever its width, trains
`GetCurrParams(index) = GetParams(0, index + 1)` (weighted block 0 is the first conv), and uses
Adam at lr 1e-3 with `StepLR(step_size=20)` (gamma 0.1, torch's default) stepped per epoch over
60 recasting epochs per block and 100 fine-tuning epochs.

Every epoch of every step is checkpointed (student weights, the architecture so far, the
optimiser, the history); a killed run resumes at the step it was on and ends with the same
student and history as an uninterrupted one (the data order and every initialisation are
seeded by step).
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from sc_accel.errors import (MAX_EPOCHS, MAX_TRAIN_BATCH, DataFileError, InvalidInputError, brief, check_count,
                             checked_step, check_out_dir, check_training_data)
from sc_accel.fileio import atomic_torch_save, load_tensors
from sc_accel.progress import bar as progress_bar
from sc_accel.seeds import derive_seed, seeded
from recast.blocks import block_type_of, create_block, scaled_channels
from recast.named import recastable
from recast.net import RecastNet, split_model
from recast.plan import BlockPlan, plan_modules, plan_to_dict, resolve_plan

__all__ = ["RecastConfig", "RecastResult", "recast", "build_student", "block_shapes", "fit_epoch", "lr_at",
           "REINIT_CHOICES", "LR_SCHEDULES"]

# phases of derive_seed(cfg.seed, phase, step): building a step's blocks, training an epoch, its data order
SEED_BUILD, SEED_TRAIN, SEED_SHUFFLE = 1, 2, 3


REINIT_CHOICES = ("always", "width-change")
LR_SCHEDULES = ("constant", "step")
# the reference's StepLR: step_size 20 epochs of 60 per block, so the rate falls by gamma after
# each third of a step; gamma 0.1 (torch's StepLR default, which the reference keeps)
REFERENCE_STEP_FRACTION, REFERENCE_GAMMA = 20 / 60, 0.1


@dataclass(frozen=True)
class RecastConfig:
    """Recasting settings; defaults follow the reference code (Adam at lr 1e-3).

    reinit_next: "always" re-initialises block i + 1 at every step i (the reference);
    "width-change" only when its input width changed. train_stem: the stem trains with blocks
    0..i+1 (the reference) instead of staying the teacher's. lr_schedule: "step" multiplies
    the rate by lr_gamma after every lr_step_fraction of each step's batches (the reference's
    StepLR, counted in batches so that it also acts on one-epoch steps); "constant" keeps lr.
    """

    epochs_per_block: int = 1
    finetune_epochs: int = 2
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    adaptor: bool = False
    reinit_next: str = "width-change"
    train_stem: bool = False
    lr_schedule: str = "constant"
    lr_step_fraction: float = REFERENCE_STEP_FRACTION
    lr_gamma: float = REFERENCE_GAMMA

    def __post_init__(self) -> None:
        check_count("epochs_per_block=", self.epochs_per_block, 1, MAX_EPOCHS)  # every block needs an epoch
        check_count("finetune_epochs=", self.finetune_epochs, 0, MAX_EPOCHS)
        check_count("batch_size=", self.batch_size, 1, MAX_TRAIN_BATCH)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < math.inf:
            raise InvalidInputError(f"lr={self.lr!r} must be a positive finite number.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 1 << 32:
            raise InvalidInputError(f"seed={self.seed!r} must be an integer from 0 to 2^32 - 1.")
        for name in ("adaptor", "train_stem"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInputError(f"{name}={getattr(self, name)!r} must be true or false.")
        _check_choice("reinit_next", self.reinit_next, REINIT_CHOICES)
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_fraction("lr_step_fraction", self.lr_step_fraction)
        _check_fraction("lr_gamma", self.lr_gamma)

    def to_dict(self) -> dict:
        """Plain dict (TOML/JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RecastConfig":
        """Inverse of to_dict; unknown keys are refused by name."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InvalidInputError(f"unknown recast settings {sorted(unknown)}; known: {sorted(names)}.")
        return cls(**data)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Refuse a setting that is not one of `choices`, naming them."""
    if value not in choices:
        raise InvalidInputError(f"{name}={value!r} must be one of {', '.join(choices)}.")


def _check_fraction(name: str, value: object) -> None:
    """Refuse a setting that is not a number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise InvalidInputError(f"{name}={value!r} must be a number above 0 and at most 1.")


@dataclass
class RecastResult:
    """The student (a plain nn.Module, eval mode) and the matching loss per block and epoch."""

    student: nn.Module
    history: list[dict] = field(default_factory=list)            # {"block", "epoch", "loss"}
    finetune_history: list[dict] = field(default_factory=list)   # {"epoch", "loss"}
    plan: list[BlockPlan] = field(default_factory=list)
    spec: list[dict] = field(default_factory=list)               # the student's blocks (build_student)
    head_in: int = 0                                              # channels into the head
    modules: list[str] | None = None                              # the teacher's block paths, if named


def block_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int]]:
    """(in channels, out channels, stride) of each block, from one forward pass on x."""
    stem, blocks, _ = split_model(model)
    shapes = []
    with torch.no_grad():
        h = stem(x)
        for b in blocks:
            y = b(h)
            stride = max(1, h.shape[-1] // y.shape[-1])
            shapes.append((int(h.shape[1]), int(y.shape[1]), int(stride)))
            h = y
    return shapes


def _fresh_head(head: nn.Module, in_ch: int) -> nn.Module:
    """_head_for with every layer re-initialised (reinit_next="always" at the last step)."""
    head = _head_for(head, in_ch)
    for m in head.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return head


def _head_for(head: nn.Module, in_ch: int) -> nn.Module:
    """A copy of the teacher's head whose first linear/conv layer takes in_ch inputs (fresh
    weights when that changed)."""
    head = copy.deepcopy(head)
    for name, m in head.named_modules():
        if isinstance(m, nn.Linear) and m.in_features != in_ch:
            new = nn.Linear(in_ch, m.out_features, bias=m.bias is not None)
        elif isinstance(m, nn.Conv2d) and m.in_channels != in_ch:
            new = nn.Conv2d(in_ch, m.out_channels, m.kernel_size, m.stride, m.padding, bias=m.bias is not None)
        elif isinstance(m, (nn.Linear, nn.Conv2d)):
            return head
        else:
            continue
        if name == "":
            return new
        parent = head.get_submodule(name.rsplit(".", 1)[0]) if "." in name else head
        setattr(parent, name.rsplit(".", 1)[-1], new)
        return head
    return head


def _block_from_spec(s: dict, teacher_blocks: list[nn.Module]) -> nn.Module:
    if s["source"] == "teacher":
        block = copy.deepcopy(teacher_blocks[s["index"]])
    else:
        block = create_block(s["type"], s["in"], s["out"], s["stride"], s["width"])
    if s.get("adaptor_to"):
        block = nn.Sequential(block, nn.Conv2d(scaled_channels(s["out"], s["width"]), s["adaptor_to"], 1, bias=False),
                              nn.BatchNorm2d(s["adaptor_to"]), nn.ReLU())
    return block


def build_student(teacher: nn.Module, spec: list[dict], head_in: int) -> RecastNet:
    """The student described by `spec` (one dict per block) around the teacher's stem and head;
    weights are the teacher's for its own blocks and fresh for the others."""
    stem, blocks, head = split_model(teacher)
    return RecastNet(copy.deepcopy(stem), [_block_from_spec(s, blocks) for s in spec], _head_for(head, head_in))


def _batches(data: object, batch_size: int, seed: int) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (x, y) batches: a DataLoader as it comes, an (x, y) pair shuffled by `seed`."""
    if isinstance(data, tuple) and len(data) == 2:
        x, y = (torch.as_tensor(np.asarray(a)) for a in data)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            yield x[idx].float(), y[idx].long()
        return
    for batch in data:
        yield batch[0].float(), batch[1].long()


def _check_data(data: object) -> tuple[torch.Tensor, np.ndarray | None]:
    """(two input samples to probe the block shapes, all labels of an (x, y) pair, else None);
    refuses what is not training data: shapes, NaN or inf pixels, labels that are not class
    indices. Batches of a DataLoader are checked as they come (a non-finite loss stops it)."""
    if isinstance(data, tuple) and len(data) == 2:
        x, y = check_training_data(data[0], data[1], "train_data")
        return torch.as_tensor(x[:2]), y
    try:
        return next(iter(data))[0][:2].float(), None
    except (TypeError, StopIteration, IndexError, AttributeError):
        raise InvalidInputError("train_data must be a DataLoader of (x, y) batches or an (x, y) pair.") from None


def _probe(teacher: nn.Module, sample: torch.Tensor, labels: np.ndarray | None) -> list[tuple[int, int, int]]:
    """The teacher's block shapes on `sample`; one sentence when it cannot run on these images
    or the labels exceed its outputs."""
    try:
        shapes = block_shapes(teacher, sample)
        with torch.no_grad():
            n_out = int(teacher(sample).shape[1])
    except RuntimeError as e:
        raise InvalidInputError(f"the teacher cannot run on images of shape {tuple(sample.shape[1:])} "
                                f"({brief(e)}); give data shaped like its training data.") from None
    if labels is not None and len(labels) and labels.max() >= n_out:
        raise InvalidInputError(f"the labels reach {labels.max()} but the teacher has {n_out} outputs; give labels "
                                f"from 0 to {n_out - 1}.")
    return shapes


def _teacher_hash(teacher: nn.Module) -> str:
    """The teacher's identity in checkpoints: names (under the model's `state_key_aliases`, so a
    teacher hashes as before its modules were renamed) and values of its state."""
    aliases = getattr(teacher, "state_key_aliases", {})
    h = hashlib.blake2b(digest_size=12)
    for k, v in teacher.state_dict().items():
        h.update(aliases.get(k, k).encode())
        h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()


@dataclass
class _State:
    """What a checkpoint holds: the architecture so far, its weights, the step reached."""

    spec: list[dict]
    head_in: int
    step: int = -1                       # index of the last finished (phase, block, epoch) step
    history: list[dict] = field(default_factory=list)
    finetune_history: list[dict] = field(default_factory=list)


def _steps(n: int, cfg: RecastConfig) -> list[tuple[str, int, int]]:
    return ([("block", i, e) for i in range(n) for e in range(cfg.epochs_per_block)]
            + [("finetune", n, e) for e in range(cfg.finetune_epochs)])


def _initial_spec(shapes: list[tuple[int, int, int]]) -> list[dict]:
    return [{"source": "teacher", "index": i, "type": None, "in": c, "out": o, "stride": s, "width": 1.0}
            for i, (c, o, s) in enumerate(shapes)]


def _out_width(s: dict) -> int:
    """Channels a spec'd block hands on (its adaptor's when it has one)."""
    return s.get("adaptor_to") or scaled_channels(s["out"], s["width"])


def _replace_block(state: _State, i: int, plan: list[BlockPlan], shapes: list, cfg: RecastConfig) -> list[int]:
    """Spec of step i: block i becomes the plan's type; block i + 1 is re-initialised (its
    teacher type, else its own plan type), or the head is (-1), for a new input width or, with
    reinit_next="always", at every step. Returns the indices that changed."""
    c_in, c_out, stride = shapes[i]
    if i:
        c_in = _out_width(state.spec[i - 1])
    new_out = scaled_channels(c_out, plan[i].width)
    last = i + 1 == len(shapes)
    adaptor = cfg.adaptor and new_out != c_out and not last
    state.spec[i] = {"source": "new", "index": i, "type": plan[i].type, "in": c_in, "out": c_out, "stride": stride,
                     "width": plan[i].width, "adaptor_to": c_out if adaptor else 0}
    changed = [i]
    always = cfg.reinit_next == "always"
    if last:
        if new_out != state.head_in or always:
            state.head_in = new_out
            changed.append(-1)
    elif always or _out_width(state.spec[i]) != state.spec[i + 1]["in"]:
        nxt = state.spec[i + 1]
        kind = nxt.get("teacher_type") or plan[i + 1].type
        state.spec[i + 1] = {**nxt, "source": "new", "type": kind, "in": _out_width(state.spec[i]), "width": 1.0,
                             "adaptor_to": 0}
        changed.append(i + 1)
    return changed


def recast(teacher: nn.Module, plan: object, train_data: object, config: RecastConfig | None = None,
           out: str | Path | None = None, progress: bool = True) -> RecastResult:
    """Recast `teacher` block by block into the blocks `plan` names (a preset, a .toml file, a
    dict or a list of BlockPlan), training on `train_data` (a DataLoader or an (x, y) pair).
    With `out`, every epoch is checkpointed to out/checkpoint.pt and a rerun resumes there."""
    cfg = RecastConfig() if config is None else config
    if not isinstance(cfg, RecastConfig):
        raise InvalidInputError(f"config must be a RecastConfig, not {type(cfg).__name__}.")
    if not isinstance(teacher, nn.Module):
        raise InvalidInputError(f"teacher must be a torch.nn.Module, not {type(teacher).__name__}; load a model "
                                "file first (scnas.train.load_model).")
    if out is not None:
        check_out_dir(out)
    modules = None if isinstance(plan, list) else plan_modules(plan)
    teacher = recastable(teacher.eval(), modules)
    _, tblocks, _ = split_model(teacher)
    plan = resolve_plan(plan, [block_type_of(b) for b in tblocks])
    sample, labels = _check_data(train_data)
    shapes = _probe(teacher, sample, labels)
    settings = {"config": cfg.to_dict(), "plan": plan_to_dict(plan), "teacher": _teacher_hash(teacher)}
    if modules:
        settings["modules"] = modules
    ckpt = None if out is None else Path(out) / "checkpoint.pt"
    state, saved = _load(ckpt, settings) if ckpt is not None and ckpt.exists() else (None, None)
    if state is None:
        state = _State(_initial_spec(shapes), shapes[-1][1])
        for s, t in zip(state.spec, tblocks):
            s["teacher_type"] = block_type_of(t)
    res = _run(teacher, plan, train_data, cfg, state, saved, shapes, ckpt, settings, progress)
    res.modules = modules
    return res


def _run(teacher, plan, data, cfg, state: _State, saved, shapes, ckpt, settings, progress) -> RecastResult:
    steps = _steps(len(shapes), cfg)
    _, tblocks, thead = split_model(teacher)
    student = build_student(teacher, state.spec, state.head_in)
    start, opt = state.step + 1, None
    if saved is not None:  # resume: the architecture so far is rebuilt, then its weights loaded
        student.load_state_dict(saved["student"])
        if start < len(steps) and steps[start][2] > 0:  # mid-step: its optimiser too
            opt = _optimizer(student, steps[start], cfg)
            opt.load_state_dict(saved["optimizer"])
    bar = progress_bar(total=len(steps), initial=start, disable=not progress, desc="recast")
    for k in range(start, len(steps)):
        phase, i, epoch = steps[k]
        if epoch == 0:
            opt = _start_step(student, state, plan, shapes, cfg, steps[k], tblocks, thead)
        bar.set_description(f"block {i + 1}/{len(shapes)} epoch {epoch + 1}" if phase == "block"
                            else f"fine-tune epoch {epoch + 1}")
        with seeded(cfg.seed, SEED_TRAIN, k):
            loss = _epoch(teacher, student, opt, data, cfg, phase, i, derive_seed(cfg.seed, SEED_SHUFFLE, k), epoch)
        if phase == "block":
            state.history.append({"block": i, "epoch": epoch, "loss": loss})
        else:
            state.finetune_history.append({"epoch": epoch, "loss": loss})
        state.step = k
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}")
        if ckpt is not None:
            atomic_torch_save({"state": asdict(state), "student": student.state_dict(),
                               "optimizer": opt.state_dict(), "settings": settings}, ckpt)
    bar.close()
    return RecastResult(student.eval(), state.history, state.finetune_history, plan, state.spec, state.head_in)


def _start_step(student: RecastNet, state: _State, plan: list[BlockPlan], shapes: list, cfg: RecastConfig,
                step: tuple, tblocks: list[nn.Module], thead: nn.Module) -> torch.optim.Optimizer:
    """A new step's blocks, seeded by the step so a resumed run builds the same ones, and its
    optimiser."""
    phase, i, _ = step
    if phase == "block":
        with seeded(cfg.seed, SEED_BUILD, i):
            for j in _replace_block(state, i, plan, shapes, cfg):
                if j < 0:
                    fresh = _fresh_head if cfg.reinit_next == "always" else _head_for
                    student.head = fresh(thead, state.head_in)
                else:
                    student.blocks[j] = _block_from_spec(state.spec[j], tblocks)
    return _optimizer(student, step, cfg)


def _optimizer(student: RecastNet, step: tuple, cfg: RecastConfig) -> torch.optim.Optimizer:
    """Adam over what step `step` trains: the whole student in fine-tuning; else blocks 0..i+1
    (the head after the last block), with the stem when cfg.train_stem."""
    phase, i, _ = step
    if phase == "finetune":
        params = list(student.parameters())
    else:
        mods = ([student.stem] if cfg.train_stem else []) + list(student.blocks[:i + 2])
        mods += [student.head] if i + 1 >= len(student.blocks) else []
        params = [p for m in mods for p in m.parameters()]
    return torch.optim.Adam(params, lr=cfg.lr)


def _batches_per_epoch(data: object, batch_size: int) -> int:
    """Batches in one epoch of `data` (1 for an iterable without a length: the rate then steps
    per epoch)."""
    if isinstance(data, tuple) and len(data) == 2:
        return max(1, math.ceil(len(data[0]) / batch_size))
    try:
        return max(1, len(data))  # type: ignore[arg-type]
    except TypeError:
        return 1


def lr_at(cfg: RecastConfig, epochs: int, per_epoch: int, epoch: int, batch: int) -> float:
    """The learning rate of batch `batch` of epoch `epoch` of a step of `epochs` epochs of
    `per_epoch` batches: cfg.lr, or with the step schedule StepLR's lr * gamma^floor(t / size)
    with t the batches done in the step and size lr_step_fraction of its batches. A function
    of the position, so a resumed run needs no scheduler state."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    size = max(1, math.ceil(cfg.lr_step_fraction * epochs * per_epoch - 1e-9))
    return cfg.lr * cfg.lr_gamma ** ((epoch * per_epoch + min(batch, per_epoch - 1)) // size)


def _scheduled(batches: Iterable, opt: torch.optim.Optimizer, rate) -> Iterable:
    """`batches`, setting the optimiser's rate to rate(b) before batch b is trained on."""
    for b, batch in enumerate(batches):
        for group in opt.param_groups:
            group["lr"] = rate(b)
        yield batch


def _forward_to(model: nn.Module, x: torch.Tensor, upto: int) -> torch.Tensor:
    """Activation after block `upto` (the logits when upto >= number of blocks)."""
    stem, blocks, head = split_model(model)
    h = stem(x)
    for b in blocks[:upto + 1]:
        h = b(h)
    return head(h) if upto >= len(blocks) else h


def fit_epoch(opt: torch.optim.Optimizer, batches: Iterable, loss_of) -> float:
    """One pass over `batches` with a step per batch on loss_of(x, y); the mean loss per sample
    (the recasting steps and the baselines train through this one loop)."""
    total, count = 0.0, 0
    for x, y in batches:
        value = checked_step(opt, loss_of(x, y), "recasting")
        total += value * len(x)
        count += len(x)
    return total / max(count, 1)


def _epoch(teacher, student: RecastNet, opt, data, cfg: RecastConfig, phase: str, i: int, seed: int,
           epoch: int = 0) -> float:
    """Epoch `epoch` of a step: block phase i matches the activation after block i + 1 (MSE),
    fine-tuning the logits (MSE + cross-entropy); the mean loss per sample."""
    upto = len(student.blocks) if phase == "finetune" else i + 1
    student.train()
    if phase == "block" and not cfg.train_stem:
        student.stem.eval()  # the stem is the teacher's and is not trained per block
    epochs = cfg.finetune_epochs if phase == "finetune" else cfg.epochs_per_block
    per_epoch = _batches_per_epoch(data, cfg.batch_size)

    def loss_of(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = _forward_to(teacher, x, upto)
        out = _forward_to(student, x, upto)
        loss = F.mse_loss(out, target)
        return loss + F.cross_entropy(out, y) if phase == "finetune" else loss

    batches = _scheduled(_batches(data, cfg.batch_size, seed), opt,
                         lambda b: lr_at(cfg, epochs, per_epoch, epoch, b))
    return fit_epoch(opt, batches, loss_of)


def _load(ckpt: Path, settings: dict) -> tuple[_State, dict]:
    """(state, the whole checkpoint) of a run with these settings; a damaged file or other
    settings are refused by name."""
    saved = load_tensors(ckpt, "recast checkpoint", "delete it to start again")
    try:
        state = _State(**saved["state"])
    except Exception as e:  # noqa: BLE001 (a damaged file raises pickle, zip, key or type errors)
        raise DataFileError(f"recast checkpoint {ckpt} is damaged ({type(e).__name__}); delete it to start "
                            "again.") from None
    if saved.get("settings") != settings:
        old = saved.get("settings", {})
        changed = [k for k in settings if old.get(k) != settings[k]]
        if changed == ["config"]:  # name the settings, not the group
            new, was = settings["config"], old.get("config") or {}
            changed = [f"config ({', '.join(k for k in new if was.get(k) != new[k])})"]
        raise InvalidInputError(f"{ckpt.parent} was recast with another {', '.join(changed)}; resume with the same "
                                "teacher, plan and settings, or give another --out.")
    return state, saved
