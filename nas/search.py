"""InheritedNAS end to end: `search(data, config, teacher, accel, out) -> SearchResult`.

1. Coarse search: first-order DARTS of one shared cell (nas.coarse).
2. Teacher: the coarse cell network trained from scratch, unless a teacher is given.
3. By method:
   - "inheritednas": every stage searched on its own (nas.stages) by two-point distillation
     from the teacher, with block pruning and the hardware-aware penalty; stages run in
     processes or on Ray when asked;
   - "random": random genotypes distilled at equal budget (nas.random_search);
   - "darts": the coarse cell network itself, a reduced DARTS (first-order, one shared 2-node
     cell, arch lr 100x the paper's; docs/search.md names what is reduced).
4. The derived network, its stages' weights inherited, is retrained (cross-entropy plus KD
   from the teacher) for `retrain_epochs`.
Every phase checkpoints every epoch under `out`; a rerun resumes where the last one stopped.
"""

from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn as nn

from nas.coarse import CoarseNet, coarse_search
from nas.common import as_tensors, train_network
from nas.cost import PENALTIES, CostTables, build_tables, resolve_accel
from nas.genotype import Genotype, SearchSpace
from nas.network import CellNet, SuperStage
from nas.ops import check_ops
from nas.random_search import CandidateTask, candidates_job, distill_stage_candidates, sample_genotypes
from nas.stages import StageTask, search_stage, stage_job, stage_rel_mse
from nas.teacher import TeacherCut, cut_teacher
from sc_accel.runner import run_tasks
from sc_accel.errors import MAX_EPOCHS, MAX_TRAIN_BATCH, InvalidInputError, check_count
from sc_accel.fileio import writable_dir
from sc_accel.hw import AccelConfig
from sc_accel.metrics import top1_accuracy
from sc_accel.seeds import derive_seed, seeded

__all__ = ["SearchConfig", "SearchResult", "SearchContext", "search", "METHODS", "assemble"]

METHODS = ("inheritednas", "random", "darts")
# The default candidate ops: the CPU-cheap part of the registry (sep5 and dil3 cost 2-3x a
# sep3 step on this CPU; give them with --ops), a recast block (dwsep) among them.
SEARCH_OPS = ("none", "skip", "sep3", "max3", "avg3", "conv3", "dwsep")
DEFAULT_ACCEL = "systolic-32x32-ws"


@dataclass(frozen=True)
class SearchConfig:
    """What to search and with what budget. Defaults: the CPU-sized search of the README."""

    method: str = "inheritednas"
    penalty: str = "latency"
    lam: float = 0.5
    channels: tuple[int, ...] = (16, 32, 64)
    cells_per_stage: int = 2
    nodes: int = 2
    ops: tuple[str, ...] = SEARCH_OPS
    train_images: int = 10000
    search_images: int = 4000
    eval_images: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    arch_lr: float = 0.03
    coarse_epochs: int = 2
    teacher_epochs: int = 4
    search_epochs: int = 3
    warmup_epochs: int = 1
    prune_threshold: float = 0.05
    inherit_strength: float = 1.0
    distil_steps: int = 100
    retrain_epochs: int = 3
    random_candidates: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInputError(f"method {self.method!r} is not one of {', '.join(METHODS)}.")
        if self.penalty not in PENALTIES:
            raise InvalidInputError(f"penalty {self.penalty!r} is not one of {', '.join(PENALTIES)}.")
        for name, low in (("lam", 0.0), ("lr", 1e-12), ("arch_lr", 1e-12), ("inherit_strength", 0.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v < math.inf:
                what = "lambda" if name == "lam" else name
                raise InvalidInputError(f"{what}={v!r} must be a finite number >= {low:g}.")
        if not 0 <= self.prune_threshold < 1:
            raise InvalidInputError(f"prune_threshold={self.prune_threshold!r} must be in [0, 1).")
        for name, low, high in (("train_images", 0, 1 << 40), ("search_images", 0, 1 << 40),
                                ("eval_images", 1, 1 << 40),
                                ("batch_size", 1, MAX_TRAIN_BATCH), ("coarse_epochs", 1, MAX_EPOCHS),
                                ("teacher_epochs", 1, MAX_EPOCHS), ("search_epochs", 1, MAX_EPOCHS),
                                ("warmup_epochs", 0, MAX_EPOCHS), ("distil_steps", 1, 100 * MAX_EPOCHS),
                                ("retrain_epochs", 0, MAX_EPOCHS), ("random_candidates", 1, 10_000),
                                ("seed", 0, (1 << 32) - 1)):
            check_count(f"{name}=", getattr(self, name), low, high)
        if self.warmup_epochs >= self.search_epochs:
            raise InvalidInputError(f"warmup_epochs={self.warmup_epochs} leaves no epoch of architecture search "
                                    f"in search_epochs={self.search_epochs}; make warmup smaller.")
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "ops", check_ops(self.ops))
        self.space  # noqa: B018 (validates the space now)

    @property
    def space(self) -> SearchSpace:
        """The search space these settings name."""
        return SearchSpace(self.channels, self.cells_per_stage, self.nodes, self.ops)

    def to_dict(self) -> dict:
        """Plain dict (TOML/JSON)."""
        d = asdict(self)
        d["channels"], d["ops"] = list(self.channels), list(self.ops)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        """Inverse of to_dict; unknown keys are refused by name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InvalidInputError(f"unknown search settings {unknown}; known: {sorted(names)}.")
        return cls(**{k: tuple(v) if k in ("channels", "ops") else v for k, v in d.items()})

    def phase_settings(self, phase: str) -> dict:
        """The settings a phase's checkpoints depend on (the coarse phase and the teacher are
        shared by every method and penalty)."""
        shared = ["channels", "cells_per_stage", "nodes", "ops", "train_images", "search_images", "eval_images",
                  "batch_size", "lr",
                  "arch_lr", "coarse_epochs", "seed"]
        keys = {"coarse": shared, "teacher": shared + ["teacher_epochs"]}.get(phase)
        d = self.to_dict()
        return {k: d[k] for k in keys} if keys else d


@dataclass
class SearchResult:
    """The derived genotype, the retrained model (a plain CellNet), and what the search did."""

    genotype: Genotype
    model: nn.Module
    history: dict = field(default_factory=dict)       # phase -> list of per-epoch records
    candidates: list[dict] = field(default_factory=list)
    coarse_genotype: Genotype | None = None
    teacher: nn.Module | None = None
    tables: CostTables | None = None
    seconds: dict = field(default_factory=dict)       # phase -> summed epoch seconds
    notes: dict = field(default_factory=dict)         # e.g. whether the teacher's stem and head were reused


def assemble(genotype: Genotype, stage_blocks: list[list[nn.Module]], cut: TeacherCut, in_ch: int,
             n_classes: int, seed: int = 0) -> tuple[CellNet, bool]:
    """A CellNet of `genotype` holding the given stage blocks, with the teacher's stem and head
    when they fit (else fresh ones, drawn under `seed`); returns (net, whether the teacher's fitted)."""
    with seeded(seed):
        net = CellNet(genotype, in_ch, n_classes)
    net.blocks = nn.ModuleList([copy.deepcopy(b) for st in stage_blocks for b in st])
    try:
        stem_state, head_state = cut.stem.state_dict(), cut.head.state_dict()
        net.stem.load_state_dict(stem_state)
        net.head.load_state_dict(head_state)
        fitted = True
    except RuntimeError:
        fitted = False
    return net.eval(), fitted


def search(data: tuple, config: SearchConfig = SearchConfig(), teacher: nn.Module | None = None,
           accel: AccelConfig | str = DEFAULT_ACCEL, out: str | Path | None = None, workers: int = 1,
           ray: str | None = None, progress: bool = True, coarse_dir: str | Path | None = None) -> SearchResult:
    """Run `config.method` on training data (x (N, C, H, W), y (N,)); see the module doc.
    `coarse_dir` keeps the coarse search and the cell network (default: `out`), so runs of
    other methods or penalties with the same space, data and seed share them."""
    cfg = config
    _check_call(data, cfg, teacher, out, workers, ray, coarse_dir)
    x, y = as_tensors(*data[:2])
    _check_side(int(x.shape[-1]), len(cfg.channels))
    if cfg.train_images:
        x, y = x[:cfg.train_images], y[:cfg.train_images]
    if len(x) < cfg.eval_images + 2 * cfg.batch_size:
        raise InvalidInputError(f"{len(x)} training images leave too few beside the {cfg.eval_images} held out "
                                f"to rank candidates; give more data or fewer eval_images.")
    xs, ys, xe, ye = x[:-cfg.eval_images], y[:-cfg.eval_images], x[-cfg.eval_images:], y[-cfg.eval_images:]
    n_search = min(cfg.search_images or len(xs), len(xs))
    if n_search < 2 * cfg.batch_size:
        raise InvalidInputError(f"search_images={n_search} gives the weight and architecture halves less than a "
                                f"batch each; give at least {2 * cfg.batch_size} (2 x batch_size) or a smaller batch.")
    xq, yq = xs[:n_search], ys[:n_search]  # the images the coarse, fine and random searches see
    in_ch, side, n_classes = int(x.shape[1]), int(x.shape[-1]), int(y.max()) + 1
    space = cfg.space
    tables = build_tables(space, in_ch, n_classes, side, resolve_accel(accel))
    run = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="scnas-search-"))
    run.mkdir(parents=True, exist_ok=True)
    shared = Path(coarse_dir) if coarse_dir is not None else run
    shared.mkdir(parents=True, exist_ok=True)
    coarse, coarse_hist = coarse_search(xq, yq, space, cfg.coarse_epochs, cfg.lr, cfg.arch_lr, cfg.batch_size,
                                        cfg.seed, shared / "coarse.pt", cfg.phase_settings("coarse"), progress)
    coarse_g = coarse.genotype()
    history: dict = {"coarse": coarse_hist}
    cells_net = None
    if teacher is None or cfg.method == "darts":  # the default teacher, or the result itself
        cells_net, history["teacher"] = _cell_network(coarse_g, xs, ys, cfg, shared, in_ch, n_classes, progress)
    if teacher is None:
        teacher = cells_net
    cut = cut_teacher(teacher, space, in_ch, side)
    res = SearchResult(coarse_g, cells_net, history, [], coarse_g, teacher, tables)
    ctx = SearchContext(coarse, cut, xq, xe, ye, cfg, tables, run, workers, ray, progress)
    if cfg.method == "inheritednas":
        _inherited(res, ctx)
    elif cfg.method == "random":
        _random(res, ctx)
    if cfg.method != "darts":
        res.history["retrain"] = train_network(res.model, xs, ys, cfg.retrain_epochs, cfg.lr, cfg.batch_size,
                                               derive_seed(cfg.seed, 40), run / "retrain.pt", cfg.phase_settings("x"),
                                               teacher=cut, desc="retrain", progress=progress)
    res.seconds = {k: sum(r.get("seconds", 0.0) for r in v) for k, v in res.history.items()}
    return res


MAX_WORKERS = 1024  # local processes; a cluster is reached with `ray`


def _check_call(data: object, cfg: object, teacher: object, out: object, workers: object, ray: object,
                coarse_dir: object) -> None:
    """One sentence for arguments search() cannot use, before any work."""
    if not isinstance(cfg, SearchConfig):
        raise InvalidInputError(f"config must be a SearchConfig, not {type(cfg).__name__}.")
    if not isinstance(data, (tuple, list)) or len(data) < 2:
        raise InvalidInputError("data must be an (images, labels) pair.")
    if teacher is not None and not isinstance(teacher, nn.Module):
        raise InvalidInputError(f"teacher must be a torch.nn.Module or None, not {type(teacher).__name__}.")
    check_count("workers=", workers, 1, MAX_WORKERS, "a cluster is reached with `ray`")
    if ray is not None and not isinstance(ray, str):
        raise InvalidInputError(f"ray={ray!r} must be None, 'local' or a cluster address.")
    for what, d in (("out", out), ("coarse_dir", coarse_dir)):
        if d is not None:
            writable_dir(Path(d), "directory", what)


def _check_side(side: int, n_stages: int) -> None:
    """Each stage halves the side; stages need distinct resolutions to be cut from a teacher."""
    need = (1 << max(n_stages - 2, 0)) + 1
    if side < need:
        raise InvalidInputError(f"images {side} pixels wide are too small for {n_stages} stages (each halves the "
                                f"side); give images at least {need} pixels wide or fewer channels (stages).")


def _cell_network(g: Genotype, xs: torch.Tensor, ys: torch.Tensor, cfg: SearchConfig, run: Path, in_ch: int,
                  n_classes: int, progress: bool) -> tuple[CellNet, list[dict]]:
    """The coarse cell network trained from scratch (the default teacher and the DARTS row)."""
    with seeded(cfg.seed, 30):
        net = CellNet(g, in_ch, n_classes)
    hist = train_network(net, xs, ys, cfg.teacher_epochs, cfg.lr, cfg.batch_size, derive_seed(cfg.seed, 31),
                         run / "teacher.pt", cfg.phase_settings("teacher"), desc="cell network", progress=progress)
    return net, hist


@dataclass
class SearchContext:
    """What the method phases share: the coarse supernet (its stages' weights are inherited), the
    teacher cut at its stages, the search images, the held-out images and labels that rank
    candidates, the settings, the cost tables, the run directory, and where stage tasks run."""

    coarse: CoarseNet
    cut: TeacherCut
    xs: torch.Tensor  # (N, C, H, W)
    xe: torch.Tensor  # (M, C, H, W)
    ye: torch.Tensor  # (M,)
    cfg: SearchConfig
    tables: CostTables
    run: Path
    workers: int = 1
    ray: str | None = None
    progress: bool = True

    @property
    def inline(self) -> bool:
        """Whether the stage tasks run in this process (no pool, no Ray)."""
        return self.workers <= 1 and self.ray is None

    def stage_inputs(self, s: int) -> dict:
        """The StageInputs fields of stage s's task."""
        cfg = self.cfg
        return {"s": s, "space": cfg.space, "teacher": self.cut, "x": self.xs,
                "init_state": self.coarse.stages[s].state_dict(), "lr": cfg.lr, "batch_size": cfg.batch_size,
                "seed": cfg.seed, "settings": cfg.phase_settings("x")}


def _stage_task(s: int, ctx: SearchContext) -> StageTask:
    """Stage s's fine search task."""
    cfg = ctx.cfg
    return StageTask(**ctx.stage_inputs(s), init_cells=ctx.coarse.genotype().cells[s],
                     inherit_strength=cfg.inherit_strength, arch_lr=cfg.arch_lr, tables=ctx.tables,
                     metric=PENALTIES[cfg.penalty], lam=cfg.lam, epochs=cfg.search_epochs, warmup=cfg.warmup_epochs,
                     prune_threshold=cfg.prune_threshold, distil_steps=cfg.distil_steps,
                     ckpt=str(ctx.run / f"stage{s}.pt"), progress=ctx.progress and ctx.inline)


def _inherited(res: SearchResult, ctx: SearchContext) -> None:
    """Search every stage independently; each architecture epoch's derived stages, distilled,
    make one candidate network, and the last epoch's is the result."""
    space, n = ctx.cfg.space, len(ctx.cfg.channels)
    tasks = [_stage_task(s, ctx) for s in range(n)]
    parts = run_tasks(search_stage if ctx.inline else stage_job, tasks, workers=ctx.workers, ray=ctx.ray)
    res.genotype = Genotype(space, tuple(p["cells"] for p in parts))
    res.history["stages"] = [r for p in parts for r in p["history"]]
    res.history["pruned"] = [{"stage": p["s"], "held_blocks": int(p["held"].sum()),
                              "total_blocks": int(p["held"].numel())} for p in parts]
    maps = ctx.cut.maps(ctx.xe)
    for per_stage in zip(*(p["derived"] for p in parts)):
        g = Genotype(space, tuple(d["cells"] for d in per_stage))
        blocks = [_load_blocks(ctx, s, d["cells"], d["state"]) for s, d in enumerate(per_stage)]
        res.candidates.append(_candidate(ctx, g, maps, {"epoch": per_stage[0]["epoch"]}, blocks))
    # the last architecture epoch's network is the result (g and blocks hold it after the loop)
    res.model, res.notes["stem_head_from_teacher"] = _assemble(ctx, g, blocks)


def _load_blocks(ctx: SearchContext, s: int, cells: tuple, state: dict) -> list[nn.Module]:
    """Stage s's derived blocks holding a saved state (their fresh weights, all replaced, are
    drawn under the search's seed)."""
    space = ctx.cfg.space
    with seeded(ctx.cfg.seed, 51, s):
        blocks = SuperStage(space, s).derived_blocks(cells)
    nn.Sequential(*blocks).load_state_dict(state)
    return blocks


def _classes(cut: TeacherCut, x: torch.Tensor) -> int:
    """How many classes the teacher's head gives."""
    return int(cut(x[:1]).shape[1])


def _assemble(ctx: SearchContext, g: Genotype, blocks: list[list[nn.Module]]) -> tuple[CellNet, bool]:
    """assemble() for this search's images and teacher; a stem and head the teacher's do not
    fit are drawn under the search's seed."""
    return assemble(g, blocks, ctx.cut, int(ctx.xe.shape[1]), _classes(ctx.cut, ctx.xe),
                    seed=derive_seed(ctx.cfg.seed, 50))


def _candidate(ctx: SearchContext, g: Genotype, maps: list[torch.Tensor], extra: dict,
               blocks: list[list[nn.Module]]) -> dict:
    """One scored candidate: accuracy of the assembled network (distilled stage weights, no
    retraining) on the held-out images, each stage's relative MSE there against the teacher's
    maps of those images (`cut.maps(xe)`, computed once per search), its cost from the tables."""
    net, _ = _assemble(ctx, g, blocks)
    rel = [stage_rel_mse(b, maps[s], maps[s + 1]) for s, b in enumerate(blocks)]
    return {**extra, "genotype": g.to_dict(), "accuracy": top1_accuracy(net, ctx.xe, ctx.ye, batch=500),
            "rel_mse": rel, **ctx.tables.network_cost(g)}


def _random(res: SearchResult, ctx: SearchContext) -> None:
    """Random genotypes at the fine search's step budget, each stage distilled from the coarse
    weights; the best by the search objective is kept with its distilled weights."""
    cfg = ctx.cfg
    space, n = cfg.space, len(cfg.channels)
    half = (len(ctx.xs) // 2 + cfg.batch_size - 1) // cfg.batch_size
    arch_epochs = cfg.search_epochs - cfg.warmup_epochs
    budget = half * (cfg.search_epochs + arch_epochs) + cfg.distil_steps * arch_epochs  # one stage's search steps
    steps = max(1, budget // cfg.random_candidates)
    genos = sample_genotypes(space, cfg.random_candidates, cfg.seed)
    tasks = [CandidateTask(**ctx.stage_inputs(s), cells=[g.cells[s] for g in genos], steps=steps,
                           ckpt_dir=str(ctx.run)) for s in range(n)]
    fn = distill_stage_candidates if ctx.inline else candidates_job
    parts = run_tasks(fn, tasks, workers=ctx.workers, ray=ctx.ray)
    ref = ctx.tables.network_cost(res.coarse_genotype)[PENALTIES[cfg.penalty]]
    best, best_obj = None, math.inf
    maps = ctx.cut.maps(ctx.xe)
    for c, g in enumerate(genos):
        blocks = [_load_blocks(ctx, s, g.cells[s], parts[s]["candidates"][c]["state"]) for s in range(n)]
        cand = _candidate(ctx, g, maps, {"candidate": c}, blocks)
        cand["objective"] = sum(cand["rel_mse"]) + cfg.lam * cand[PENALTIES[cfg.penalty]] / ref
        res.candidates.append(cand)
        if cand["objective"] < best_obj:
            best, best_obj = (g, blocks), cand["objective"]
    res.history["random"] = [{"candidate": c, "seconds": sum(p["candidates"][c]["seconds"] for p in parts)}
                             for c in range(len(genos))]
    res.genotype = best[0]
    res.model, res.notes["stem_head_from_teacher"] = _assemble(ctx, *best)
