"""The one `scnas` command. Subcommands: data, bench, train, emulate, estimate, recast, search, dse,
report, convert-checkpoint.

User errors (sc_accel.errors.UserError) print one sentence and exit 2; library code
never exits.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sc_accel.errors import UserError
from scnas.config import set_command_line

__all__ = ["main", "build_parser"]


class _BadArgument(UserError, ValueError):
    """A command-line argument that parsed but makes no sense."""


def _cmd_data(args: argparse.Namespace) -> int:
    from scnas.data import dataset_status, load_dataset, resolve_default

    if args.load:
        ds = load_dataset(args.load, args.data_dir)
        print(f"{ds.name}: train {ds.x_train.shape} test {ds.x_test.shape}, "
              f"{len(ds.classes)} classes, from {ds.source}")
        return 0
    print("datasets scnas can load (--dataset NAME; 'default' = "
          f"{resolve_default(args.data_dir)} here):")
    for row in dataset_status(args.data_dir):
        mark = "found  " if row["found"] else "missing"
        print(f"  {row['name']:<14} {mark} {row['location']}")
        if not row["found"]:
            print(f"  {'':<14} to get it: {row['how_to_get']}")
    print("search order: --data-dir, then $SCNAS_DATA/<name>, then the system location.")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks import BENCHMARKS

    if args.name not in BENCHMARKS:
        raise _BadArgument(f"unknown benchmark {args.name!r}; choose one of {', '.join(BENCHMARKS)}.")
    module = importlib.import_module(BENCHMARKS[args.name])
    return int(module.main(["--quick"] if args.quick else []))


def _parse_list(text: str, kind: type, name: str) -> list:
    """'16,32,64' -> [16, 32, 64]; 'on,off' -> [True, False] for booleans."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        try:
            if kind is bool:
                if item.lower() not in ("on", "off", "true", "false", "yes", "no"):
                    raise ValueError(item)
                out.append(item.lower() in ("on", "true", "yes"))
            else:
                out.append(kind(item))
        except ValueError:
            raise _BadArgument(f"--{name} value {item!r} is not a valid {kind.__name__}; "
                               f"give a comma-separated list such as {_EXAMPLES[name]}.") from None
    return out


_EXAMPLES = {"stream-length": "64,256,1024", "sng": "lfsr,sobol", "share": "1,8", "upscale": "on,off",
             "decorrelate": "xor,rotate", "encoding": "unipolar,bipolar",
             "maxpool": "or,selector", "mode": "bit,expected", "input-shape": "1,3,32,32",
             "pe-menu": "16,32,64", "buffer-menu": "256,512,1024", "platform": "cloud,edge",
             "model": "resnet20,mobilenet", "power-cap": "0.5,1.0", "lengths": "16,64,256",
             "bits": "8/8,8/4", "channels": "16,32,64"}


def _teacher(spec: str, ds, args: argparse.Namespace, with_path: bool = False):
    """(model, name): a checkpoint path / run directory, or a zoo name (trained once and cached);
    with_path: (model, name, the model.pt it came from)."""
    from pathlib import Path

    from scnas.rundir import check_run_dir
    from scnas.train import TrainConfig, load_model, train
    from scnas.zoo import MODELS

    if getattr(args, "out", None):  # refuse an unusable --out before a teacher is trained for it
        check_run_dir(args.out, args.command)
    if spec not in MODELS:
        model, meta = load_model(spec)
        if meta.get("dataset") not in (None, ds.name):
            raise _BadArgument(f"model {spec} was trained on {meta['dataset']}, not {ds.name}; "
                               "pass a matching --dataset.")
        name = meta.get("arch", Path(spec).stem)
        return (model, name, str(Path(spec).resolve())) if with_path else (model, name)
    from sc_accel.errors import check_out_dir

    check_out_dir(args.teacher_dir, "--teacher-dir", _BadArgument, "give a directory for the cached teachers")
    run = Path(args.teacher_dir) / f"{spec}-{ds.name}"
    if not (run / "model.pt").exists():
        print(f"training teacher {spec} on {ds.name} into {run} (cached for later runs)")
        train(ds, TrainConfig(model=spec, dataset=ds.name, epochs=args.epochs, seed=args.seed), run)
    model = load_model(run)[0]
    return (model, spec, str((run / "model.pt").resolve())) if with_path else (model, spec)


def _cmd_train(args: argparse.Namespace) -> int:
    from scnas.data import load_dataset
    from scnas.train import TrainConfig, train

    ds = load_dataset(args.dataset, args.data_dir)
    cfg = TrainConfig(model=args.model, dataset=ds.name, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, seed=args.seed)
    from scnas.zoo import MODELS
    if args.model not in MODELS:
        raise _BadArgument(f"unknown model {args.model!r}; choose one of {', '.join(sorted(MODELS))}.")
    out = f"runs/train-{args.model}-{ds.name}" if args.out is None else args.out
    res = train(ds, cfg, out)
    print(f"{args.model} on {ds.name}: test accuracy {100 * res['test_accuracy']:.2f}%; model in {out}/model.pt")
    return 0


def _cmd_emulate(args: argparse.Namespace) -> int:
    from reports import plot_emulation
    from scnas.data import load_dataset
    from scnas.sweep import print_table, run_sweep, settings_grid

    ds = load_dataset(args.dataset, args.data_dir)
    configs = settings_grid(_parse_list(args.stream_length, int, "stream-length"),
                            _parse_list(args.sng, str, "sng"), _parse_list(args.share, int, "share"),
                            _parse_list(args.upscale, bool, "upscale"), _parse_list(args.maxpool, str, "maxpool"),
                            _parse_list(args.mode, str, "mode"), args.seed,
                            decorrelates=_parse_list(args.decorrelate, str, "decorrelate"),
                            encodings=_parse_list(args.encoding, str, "encoding"))
    if args.limit is not None and args.limit < 1:
        raise _BadArgument(f"--limit {args.limit} must be a positive number of test images.")
    model, name = _teacher(args.model, ds, args)
    out = f"runs/emulate-{name}-{ds.name}" if args.out is None else args.out
    res = run_sweep(model, name, ds, configs, out, limit=args.limit, calib_n=args.calib)
    print_table(res)
    for f in plot_emulation(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from reports import estimate_table, plot_estimate
    from scnas.accel import load_accel
    from scnas.config import read_config
    from scnas.estimate_run import expand_stream_lengths, resolve_model, run_estimate

    specs = args.compare or args.accel
    accels = [load_accel(s) for s in specs]
    shape = tuple(_parse_list(args.input_shape, int, "input-shape")) if args.input_shape else None
    if shape is not None and (len(shape) not in (2, 4) or min(shape) < 1):
        raise _BadArgument(f"--input-shape {args.input_shape} must be B,C,H,W (or B,F) with positive sizes.")
    sc = None
    if args.sc_config:
        from sc_accel.nn import SCConfig
        sc = SCConfig.from_dict(read_config(args.sc_config))
    lengths = _parse_list(args.stream_length, int, "stream-length") if args.stream_length else None
    accels = expand_stream_lengths(accels, lengths, sc)
    model, name, shape = resolve_model(args.model, shape)
    out = f"runs/estimate-{name}" if args.out is None else args.out
    res = run_estimate(model, name, shape, accels, out, table=args.cost_table)
    print(estimate_table(res))
    for f in plot_estimate(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0


def _cmd_recast(args: argparse.Namespace) -> int:
    from recast import RecastConfig
    from reports import plot_recast
    from scnas.data import load_dataset
    from scnas.recast_run import check_sc_run, print_summary, run_recast

    ds = load_dataset(args.dataset, args.data_dir)
    for name in ("train_limit", "sc_limit", "sc_length"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise _BadArgument(f"--{name.replace('_', '-')} {v} must be a positive integer.")
    cfg = RecastConfig(epochs_per_block=args.epochs_per_block, finetune_epochs=args.finetune_epochs, lr=args.lr,
                       batch_size=args.batch_size, seed=args.seed, adaptor=args.adaptor)
    check_sc_run(None, ds, args.sc_length)  # before a zoo teacher is trained
    model, name, ref = _teacher(args.teacher, ds, args, with_path=True)
    out = f"runs/recast-{name}-{args.plan.replace('/', '_')}-{ds.name}" if args.out is None else args.out
    res = run_recast(model, name, ref, ds, args.plan, cfg, out, sc_length=args.sc_length, sc_limit=args.sc_limit,
                     train_limit=args.train_limit, baselines=args.baselines)
    print_summary(res)
    for f in plot_recast(f"{out}/results.json"):
        print(f"wrote {f}")
    print(f"student in {out}/student.pt")
    return 0


# --quick: the whole search pipeline on digits in a minute or two (a smoke test anyone can run)
_QUICK = {"channels": (8, 16), "train_images": 0, "search_images": 600, "eval_images": 200, "batch_size": 32,
          "coarse_epochs": 1, "teacher_epochs": 2, "search_epochs": 2, "warmup_epochs": 1, "retrain_epochs": 1,
          "random_candidates": 3, "distil_steps": 40}
_SEARCH_FIELDS = ("method", "penalty", "lam", "cells_per_stage", "nodes", "train_images", "search_images",
                  "eval_images", "batch_size", "lr", "arch_lr", "coarse_epochs", "teacher_epochs", "search_epochs",
                  "warmup_epochs", "prune_threshold", "inherit_strength", "distil_steps", "retrain_epochs",
                  "random_candidates", "seed")


def _search_config(args: argparse.Namespace):
    """SearchConfig from the flags: --quick's budget first, then every flag given explicitly."""
    from nas import SearchConfig

    base = dict(_QUICK) if args.quick else {}
    given = {k: getattr(args, k) for k in _SEARCH_FIELDS if getattr(args, k) is not None}
    if args.channels is not None:
        given["channels"] = tuple(_parse_list(args.channels, int, "channels"))
    if args.ops is not None:
        given["ops"] = tuple(o.strip() for o in args.ops.split(","))
    return SearchConfig(**{**base, **given})


def _search_teacher(args: argparse.Namespace, ds, cfg):
    """(teacher module or None, its reference): a zoo name is checked against the space's
    stages before it is trained (a mismatch costs no training)."""
    if args.teacher is None:
        return None, None
    from nas.teacher import cut_teacher
    from scnas.zoo import MODELS, create_model

    c, side = int(ds.x_train.shape[1]), int(ds.x_train.shape[2])
    if args.teacher in MODELS:
        cut_teacher(create_model(args.teacher, c, len(ds.classes), side), cfg.space, c, side)
    model, _, ref = _teacher(args.teacher, ds, args, with_path=True)
    cut_teacher(model, cfg.space, c, side)  # a model file is checked as soon as it is loaded, before training
    return model, ref


def _cmd_search(args: argparse.Namespace) -> int:
    from reports import plot_search
    from scnas.accel import load_accel
    from scnas.data import load_dataset
    from scnas.recast_run import check_sc_run
    from scnas.search_run import method_label, print_summary, run_search

    cfg = _search_config(args)
    accel = load_accel(args.accel)
    from nas.search import MAX_WORKERS

    if not 1 <= args.workers <= MAX_WORKERS:
        raise _BadArgument(f"--workers {args.workers} must be from 1 to {MAX_WORKERS} (a cluster is reached with --ray).")
    sc_limit = args.sc_limit if args.sc_limit is not None else (50 if args.quick else 200)
    if args.sc_length < 1 or sc_limit < 0:
        raise _BadArgument("--sc-length must be at least 1 and --sc-limit at least 0.")
    ds = load_dataset("digits" if args.quick and args.dataset is None else (args.dataset or "default"),
                      args.data_dir)
    if sc_limit > 0:
        check_sc_run(None, ds, args.sc_length)  # before any training
    teacher, ref = _search_teacher(args, ds, cfg)
    out = args.out or f"runs/search-{method_label(cfg)}-{ds.name}-s{cfg.seed}"
    res = run_search(ds, cfg, args.accel, accel, out, teacher, ref, workers=args.workers, ray=args.ray,
                     sc_length=args.sc_length, sc_limit=sc_limit,
                     coarse_dir=args.coarse_dir)
    print_summary(res)
    for f in plot_search(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0


def _dse_list(text: str | None, kind: type, flag: str) -> list | None:
    """A comma-separated list flag of `scnas dse`: None when the flag is left out; given
    explicitly, it must hold at least one value (an empty one never falls back to the default)."""
    if text is None:
        return None
    if not text.replace(",", "").strip():
        raise _BadArgument(f"--{flag} is empty; give a comma-separated list such as {_EXAMPLES[flag]}, or leave "
                           "the flag out for the default.")
    return _parse_list(text, kind, flag)


def _check_dse_seed(seed: int) -> None:
    """--seed of the dse searches: every generator they seed takes 0 to 2^32 - 1."""
    from sc_accel.dse.space import check_seed

    check_seed(seed, "--seed ")


def _cmd_dse_confuciux(args: argparse.Namespace) -> int:
    from reports import plot_dse
    from sc_accel.dse.assign import check_budget
    from scnas.accel import load_accel
    from scnas.dse_run import confuciux_table, platform_from, run_confuciux
    from scnas.estimate_run import resolve_model

    for name in ("budget", "workers", "max_pes", "max_buffer"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise _BadArgument(f"--{name.replace('_', '-')} {v} must be a positive integer.")
    check_budget(args.budget, "--budget ")
    _check_dse_seed(args.seed)
    pe_menu, buf_menu = _dse_list(args.pe_menu, int, "pe-menu"), _dse_list(args.buffer_menu, int, "buffer-menu")
    if args.max_area is not None and not 0 < args.max_area < float("inf"):
        raise _BadArgument(f"--max-area {args.max_area} must be a positive area in um^2.")
    platforms = [platform_from(p, pe_menu, buf_menu, args.max_pes, args.max_buffer, args.max_area)
                 for p in _dse_list(args.platform, str, "platform")]
    accel = load_accel(args.accel)
    models = {}
    for spec in _dse_list(args.model, str, "model"):
        model, name, shape = resolve_model(spec, None)
        models[name] = (model, shape)
    out = f"runs/dse-confuciux-{args.accel}" if args.out is None else args.out
    res = run_confuciux(models, accel, platforms, out, args.objective, args.deployment, args.budget, args.seed,
                        workers=args.workers, ray=args.ray)
    print(confuciux_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0


def _cmd_dse_batchdvfs(args: argparse.Namespace) -> int:
    from reports import plot_dse
    from sc_accel.dse.batchdvfs import check_caps, check_max_batch, check_trials
    from scnas.accel import load_accel
    from scnas.dse_run import batchdvfs_table, run_batchdvfs
    from scnas.estimate_run import resolve_model

    for name in ("max_batch", "trials", "workers"):
        v = getattr(args, name)
        if v < 1:
            raise _BadArgument(f"--{name.replace('_', '-')} {v} must be a positive integer.")
    check_max_batch(args.max_batch, "--max-batch ")
    check_trials(args.trials, "--trials ")
    _check_dse_seed(args.seed)
    caps = _dse_list(args.power_cap, float, "power-cap")
    caps = None if caps is None else check_caps(caps)
    accel = load_accel(args.accel)
    model, name, shape = resolve_model(args.model, None)
    out = f"runs/dse-batchdvfs-{name}-{args.accel}" if args.out is None else args.out
    res = run_batchdvfs((model, shape), name, accel, caps, out, args.max_batch, args.trials, args.seed,
                        workers=args.workers, ray=args.ray)
    print(batchdvfs_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0


def _bit_pair_arg(v: str) -> tuple[int, int]:
    """'8/4' -> (8, 4): activation and weight bits of a binary layer."""
    try:
        a, w = v.split("/")
        return int(a), int(w)
    except ValueError:
        raise _BadArgument(f"--bits value {v!r} is not an activation/weight pair such as 8/4.") from None


def _cmd_dse_evolver(args: argparse.Namespace) -> int:
    from reports import plot_dse
    from sc_accel.dse.evolver import MAX_EPISODES, MAX_SAMPLES
    from scnas.accel import load_accel
    from scnas.data import load_dataset
    from scnas.dse_run import evolver_table, run_evolver

    _check_dse_seed(args.seed)
    for flag, v, hi in (("episodes", args.episodes, MAX_EPISODES), ("samples", args.samples, MAX_SAMPLES)):
        if v > hi:  # below 1 is refused by run_evolver
            raise _BadArgument(f"--{flag} {v} must be an integer from 1 to {hi:,}.")
    lengths, bits = _dse_list(args.lengths, int, "lengths"), _dse_list(args.bits, str, "bits")
    ds = load_dataset(args.dataset, args.data_dir)
    accel = load_accel(args.accel)
    if accel.kind == "sc":
        choices = tuple(lengths)
    else:  # binary array: (activation, weight) bit pairs such as 8/4
        choices = tuple(_bit_pair_arg(v) for v in bits)
    model, name = _teacher(args.model, ds, args)
    out = f"runs/dse-evolver-{name}-{args.accel}" if args.out is None else args.out
    res = run_evolver(model, name, ds, accel, out, choices, args.episodes, args.eval_images, args.final_images,
                      args.calib, args.acc_drop, args.latency_th, args.energy_th, args.samples, args.seed)
    print(evolver_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reports.outdir import check_out
    from reports.report import ReportError, build_report
    from scnas.config import run_meta, write_toml
    from scnas.rundir import claim_run_dir

    meta = run_meta()
    try:
        if Path(args.out).is_dir():  # refuse a user's directory before the lock file goes into it
            check_out(args.out, ignore=(".lock",))
        with claim_run_dir(args.out, "report", foreign_ok=True) as out:  # check_out vetted it; .lock is ours
            rep = build_report(args.runs, out, argv=meta["argv"], ignore=(".lock",), also=("config.toml",))
            write_toml({"command": "report", "runs": [str(r) for r in args.runs], "run": meta}, out / "config.toml")
    except ReportError as e:
        raise _BadArgument(str(e)) from None
    for w in rep.warnings:
        print(f"scnas report: warning: {w}", file=sys.stderr)
    print(f"{len(rep.figures)} figures from {len(rep.runs)} runs "
          f"({', '.join(sorted({r.kind for r in rep.runs})) or 'none readable'}); "
          f"{len(rep.warnings)} warnings")
    print(f"report: {rep.index.resolve()}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from scnas.convert import convert_checkpoint

    res = convert_checkpoint(args.src, args.dst)
    print(f"wrote {res['dst']}: tensors and plain data only ({', '.join(res['keys'][:8]) or 'no keys'}); "
          "scnas loads it without running code")
    return 0


def _default_workers() -> int:
    """The local process pool of `scnas dse`: one process per CPU, at most 4 (the searches
    have a handful of independent tasks)."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def _teacher_options(p: argparse.ArgumentParser) -> None:
    """Options of commands that take a teacher by zoo name (see _teacher) and a dataset."""
    p.add_argument("--epochs", type=int, default=8, help="epochs when the teacher must be trained")
    p.add_argument("--teacher-dir", default="runs/teachers", help="cache of trained zoo teachers")
    p.add_argument("--data-dir", help="directory holding the dataset's files")


class _Parser(argparse.ArgumentParser):
    """argparse with the suite's error format: one line `scnas: error: ...`, exit 2 (argparse
    prints its usage first, which buries the sentence)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"scnas: error: {message}; see `{self.prog} --help`.", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = _Parser(prog="scnas", description="CNN and stochastic-computing "
                                     "accelerator co-design.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="list the datasets and where they are looked for")
    p.add_argument("--data-dir", help="directory holding the dataset's files")
    p.add_argument("--load", metavar="NAME", help="load NAME and print its shapes")
    p.set_defaults(func=_cmd_data)
    p = sub.add_parser("bench", help="run a benchmark (prints a table and a JSON line)")
    p.add_argument("name", help="benchmark name, e.g. kernels")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("train", help="train a zoo model on the CPU (resumable run directory)")
    p.add_argument("--model", default="lenet5", help="zoo name, e.g. lenet5, resnet20")
    p.add_argument("--dataset", default="default", help="fashion-mnist, mnist, cifar10, digits or default")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", help="directory holding the dataset's files")
    p.add_argument("--out", help="run directory (default runs/train-MODEL-DATASET)")
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("emulate", help="accuracy of a trained CNN on emulated SC hardware over settings")
    p.add_argument("--model", default="lenet5", help="zoo name (trained once into --teacher-dir), "
                   "a model.pt or a train run directory")
    p.add_argument("--dataset", default="default")
    p.add_argument("--stream-length", default="32,64,128,256,512,1024", help="comma-separated L values")
    p.add_argument("--sng", default="lfsr", help="generator kinds: lfsr, sobol, vdc, bernoulli, counter")
    p.add_argument("--share", default="1", help="SNG sharing degrees")
    p.add_argument("--decorrelate", default="xor", help="how consumers of a shared SNG re-wire it: xor, rotate, none")
    p.add_argument("--upscale", default="on", help="weight/activation up-scaling: on, off")
    p.add_argument("--maxpool", default="or", help="max pooling: or, selector, binary")
    p.add_argument("--mode", default="bit", help="bit (bit-true) or expected (analytic proxy)")
    p.add_argument("--encoding", default="unipolar", help="unipolar (AND, sign-magnitude) or bipolar (XNOR)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="use only the first N test images")
    p.add_argument("--calib", type=int, default=1000, help="training images used to calibrate scales")
    _teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/emulate-MODEL-DATASET)")
    p.set_defaults(func=_cmd_emulate)
    p = sub.add_parser("estimate", help="latency/energy/area of a model on accelerator presets or files")
    p.add_argument("--model", default="lenet5", help="zoo name, a model.pt or a train run directory")
    p.add_argument("--input-shape", help="B,C,H,W (default 1,1,28,28 for lenet5, else 1,3,32,32)")
    p.add_argument("--accel", nargs="+", default=["systolic-32x32-ws"], metavar="PRESET_OR_FILE",
                   help="accelerator preset names (configs/accel) or .toml/.json files")
    p.add_argument("--compare", nargs="+", metavar="PRESET_OR_FILE",
                   help="several accelerators side by side (same as giving several to --accel)")
    p.add_argument("--sc-config", help="TOML/JSON of SCConfig settings applied to the SC accelerators")
    p.add_argument("--cost-table", default="default",
                   help="energy/area table: default, or the SC PE calibrated to uSystolic (HPCA 2022)")
    p.add_argument("--stream-length", help="comma-separated L values; each SC accelerator runs once per L")
    p.add_argument("--out", help="run directory (default runs/estimate-MODEL)")
    p.set_defaults(func=_cmd_estimate)
    p = sub.add_parser("recast", help="recast a trained CNN block by block into other block types (resumable)")
    p.add_argument("--teacher", default="resnet20", help="zoo name (trained once into --teacher-dir), a model.pt "
                   "or a train run directory")
    p.add_argument("--plan", default="plain", help="preset (plain, basic, bottleneck, dense, dwsep, mbconv, "
                   "half-width) or a .toml plan")
    p.add_argument("--dataset", default="default")
    p.add_argument("--epochs-per-block", type=int, default=1)
    p.add_argument("--finetune-epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adaptor", action="store_true", help="a 1x1 adaptor instead of re-initialising the next block")
    p.add_argument("--baselines", action="store_true", help="also train the student from scratch, with KD, and "
                   "the teacher pruned to the student's size, at the same total epochs")
    p.add_argument("--train-limit", type=int, help="recast on the first N training images only")
    p.add_argument("--sc-length", type=int, default=256, help="stream length of the bit-true SC check")
    p.add_argument("--sc-limit", type=int, default=500, help="test images of the bit-true SC check")
    _teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/recast-TEACHER-PLAN-DATASET)")
    p.set_defaults(func=_cmd_recast)
    p = sub.add_parser("search", help="InheritedNAS: fine-grained hardware-aware architecture search, or its "
                       "baselines (random, darts), scored on the shared estimator (resumable)")
    p.add_argument("--dataset", help="fashion-mnist, mnist, cifar10, digits or default (--quick: digits)")
    p.add_argument("--teacher", help="zoo name (trained once into --teacher-dir), a model.pt or a train run "
                   "directory whose stages match the space (default: the searched cell network)")
    p.add_argument("--accel", default="systolic-32x32-ws", help="accelerator preset or file whose estimates "
                   "build the penalty tables and score the result")
    p.add_argument("--lambda", dest="lam", type=float, help="weight of the hardware penalty (default 0.5)")
    p.add_argument("--penalty", choices=["latency", "energy", "flops"], help="what the penalty counts "
                   "(default latency; flops = MACs only, the comparison)")
    p.add_argument("--method", choices=["inheritednas", "random", "darts"], help="InheritedNAS (default), "
                   "random search at equal budget, or the coarse DARTS cell network")
    p.add_argument("--ops", help="comma-separated candidate ops (default none,skip,sep3,max3,avg3,conv3,dwsep)")
    p.add_argument("--channels", help="comma-separated stage widths (default 16,32,64)")
    for flag, kind, what in (("cells-per-stage", int, "cells per stage (2)"), ("nodes", int, "nodes per cell (2)"),
                             ("train-images", int, "training images used, 0 = all (10000)"),
                             ("search-images", int, "images the searches see (4000)"),
                             ("eval-images", int, "held-out training images that rank candidates (1000)"),
                             ("batch-size", int, "(64)"), ("lr", float, "weight learning rate (1e-3)"),
                             ("arch-lr", float, "architecture learning rate (0.03)"),
                             ("coarse-epochs", int, "coarse DARTS epochs (2)"),
                             ("teacher-epochs", int, "epochs of the cell network (4)"),
                             ("search-epochs", int, "fine search epochs per stage (3)"),
                             ("warmup-epochs", int, "of those, epochs before the architecture moves (1)"),
                             ("prune-threshold", float, "op blocks below this weight are deleted (0.05)"),
                             ("inherit-strength", float, "logit the inherited op starts ahead by (1.0)"),
                             ("distil-steps", int, "steps distilling each epoch's derived stage (100)"),
                             ("retrain-epochs", int, "epochs of the derived network's retraining (3)"),
                             ("random-candidates", int, "genotypes of the random search (8)"),
                             ("seed", int, "(0)")):
        p.add_argument(f"--{flag}", type=kind, help=what)
    p.add_argument("--quick", action="store_true", help="digits and a tiny budget: the whole pipeline in under "
                   "2 minutes")
    p.add_argument("--workers", type=int, default=_default_workers(), help="local processes, one stage each "
                   "(default: the CPU count, at most 4; 1 runs the stages in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the stages on Ray: 'local' or a cluster address")
    p.add_argument("--coarse-dir", help="directory keeping the coarse search and the cell network, shared by "
                   "runs of other methods with the same space, data and seed (default: the run directory)")
    p.add_argument("--sc-length", type=int, default=256, help="stream length of the bit-true SC check")
    p.add_argument("--sc-limit", type=int, help="test images of the bit-true SC check (default 200, --quick 50; "
                   "0: skip)")
    _teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/search-METHOD-DATASET-sSEED)")
    p.set_defaults(func=_cmd_search)
    p = sub.add_parser("dse", help="accelerator design-space searches on the shared estimator")
    dse = p.add_subparsers(dest="search", required=True)
    p = dse.add_parser("confuciux", help="per-layer PEs and buffer under a platform budget: REINFORCE + GA "
                       "(ConfuciuX, MICRO 2020) against baselines at equal evaluations and the exact optimum")
    p.add_argument("--model", default="resnet20,mobilenet", help="comma-separated zoo names or model.pt files")
    p.add_argument("--accel", default="spatial-16x16-kcp", help="spatial or sc preset / file (its dataflow)")
    p.add_argument("--platform", default="cloud,edge", help="comma-separated budgets: cloud, edge")
    p.add_argument("--objective", default="latency", choices=["latency", "energy"])
    p.add_argument("--deployment", default="sequential", choices=["sequential", "pipelined"])
    p.add_argument("--budget", type=int, default=2000, help="estimator evaluations per method")
    p.add_argument("--pe-menu", help="PE counts a layer may get, e.g. 16,32,64 (default: the platform's)")
    p.add_argument("--buffer-menu", help="buffer bytes a layer may get, e.g. 256,512 (default: the platform's)")
    p.add_argument("--max-pes", type=int, help="total PE budget (default: the platform's)")
    p.add_argument("--max-buffer", type=int, help="total buffer budget in bytes (default: the platform's)")
    p.add_argument("--max-area", type=float, help="cap on the sum of the layers' estimated areas in um^2 "
                   "(default: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=_default_workers(), help="local processes for the (platform, "
                   "model) tasks (default: the CPU count, at most 4; 1 runs them in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the tasks on Ray: 'local' or a cluster address "
                   "(optional extra: pip install '.[distributed]')")
    p.add_argument("--out", help="run directory (default runs/dse-confuciux-ACCEL)")
    p.set_defaults(func=_cmd_dse_confuciux)
    p = dse.add_parser("batchdvfs", help="batch size and voltage/frequency point that maximise throughput under "
                       "a power cap (coordinated batching and DVFS, TPDS 2022): binary search and Bayesian "
                       "optimisation against exhaustive search")
    p.add_argument("--model", default="resnet20", help="zoo name or model.pt file")
    p.add_argument("--accel", default="spatial-16x16-kcp", help="accelerator preset or file")
    p.add_argument("--power-cap", help="comma-separated caps in W (default: four caps across the model's power range)")
    p.add_argument("--max-batch", type=int, default=256, help="largest batch size considered")
    p.add_argument("--trials", type=int, default=60, help="evaluations of the Bayesian optimiser per cap")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=_default_workers(), help="local processes, one power cap each "
                   "(default: the CPU count, at most 4; 1 runs them in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the caps on Ray: 'local' or a cluster address")
    p.add_argument("--out", help="run directory (default runs/dse-batchdvfs-MODEL-ACCEL)")
    p.set_defaults(func=_cmd_dse_batchdvfs)
    p = dse.add_parser("evolver", help="per-layer stream lengths and a V/F point of an SC model by Q-learning, "
                       "skipping outliers (Evolver), against the best uniform-L design")
    p.add_argument("--model", default="lenet5", help="zoo name (trained once into --teacher-dir), a model.pt "
                   "or a train run directory")
    p.add_argument("--dataset", default="default")
    p.add_argument("--accel", default="sc-64x64-L256", help="accelerator preset or file (SC: stream lengths; "
                   "binary: bit pairs)")
    p.add_argument("--lengths", default="16,32,64,128,256,512,1024", help="stream lengths a layer may take "
                   "(SC accelerators)")
    p.add_argument("--bits", default="4/4,6/4,4/6,6/6,8/4,8/6,6/8,8/8", help="activation/weight bit pairs a "
                   "layer may take (binary accelerators)")
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--eval-images", type=int, default=500, help="training images (the last N) scored during "
                   "the search (expected mode)")
    p.add_argument("--final-images", type=int, default=2000, help="test images of the final bit-true runs")
    p.add_argument("--calib", type=int, default=500, help="training images that set the conversion scales")
    p.add_argument("--acc-drop", type=float, default=2.0, help="accuracy threshold: the float model's accuracy "
                   "minus this many points")
    p.add_argument("--latency-th", type=float, default=0.5, help="latency threshold, normalised to [0, 1]")
    p.add_argument("--energy-th", type=float, default=0.5, help="energy threshold, normalised to [0, 1]")
    p.add_argument("--samples", type=int, default=16, help="Gaussian logit draws per image in the accuracy proxy")
    p.add_argument("--seed", type=int, default=0)
    _teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/dse-evolver-MODEL-ACCEL)")
    p.set_defaults(func=_cmd_dse_evolver)
    p = sub.add_parser("report", help="gather run directories into one HTML page with paper-ready figures")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories written by scnas commands")
    p.add_argument("--out", default="runs/report", help="report directory (index.html, figures/)")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("convert-checkpoint", help="re-save a model or checkpoint file holding numpy arrays, paths or "
                       "sets as tensors and plain data, so scnas loads it (read without running code)")
    p.add_argument("src", help="the file to convert (a file that names any other class or function is refused)")
    p.add_argument("dst", help="a new file for the converted copy (never overwritten)")
    p.set_defaults(func=_cmd_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `scnas` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    set_command_line(sys.argv[1:] if argv is None else list(argv))
    try:
        return args.func(args)
    except UserError as e:
        _close_progress_bars()
        print(f"scnas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _close_progress_bars()
        print("scnas: interrupted; what was already saved in the run directory is kept.", file=sys.stderr)
        return 130


def _close_progress_bars() -> None:
    """Close the progress bars an error left open, so its sentence starts a line of its own."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.leave = False  # clear the line instead of leaving a half bar above the sentence
        bar.close()


if __name__ == "__main__":
    raise SystemExit(main())
