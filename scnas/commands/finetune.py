"""`scnas finetune`: SC-aware fine-tuning of a trained model for one SC configuration."""

from __future__ import annotations

import argparse
from pathlib import Path

from sc_accel.nn import SCConfig
from sc_accel.nn.surrogate import SURROGATE_MODES
from sc_accel.errors import MAX_EPOCHS, MAX_TRAIN_BATCH, check_count
from scnas.commands.common import (BadArgument, add_config_option, add_seed_option, dataset_help, default_of,
                                   per_seed, run_out)
from scnas.commands.teacher import resolve_teacher
from scnas.config import read_config
from scnas.data import load_dataset
from scnas.finetune import FinetuneConfig, finetune
from scnas.sweep import model_hash
from scnas.train import TrainConfig, load_model

__all__ = ["add_parser", "run", "sc_config_of", "add_sc_aware_options", "sc_aware_config", "finetune_output",
           "AUTO_PERCENTILES", "add_percentile_option", "calib_search_of"]

_F = FinetuneConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `finetune` subcommand."""
    p = sub.add_parser("finetune", help="SC-aware fine-tuning of a trained model for one SC configuration")
    p.add_argument("--model", default="lenet5", help="zoo name (trained once into --teacher-dir), a model.pt or a "
                   "run directory of train, recast or search")
    p.add_argument("--dataset", default="default", help=dataset_help())
    p.add_argument("--sc-config", help="TOML/JSON of SCConfig settings (stream_length, sng, share, maxpool, "
                   "layers, ...); the flags below override it")
    p.add_argument("--stream-length", type=int, help="stream length L the model is trained for (default 64)")
    p.add_argument("--sng", help="generator kind: lfsr, sobol, vdc, bernoulli, counter")
    p.add_argument("--share", type=int, help="SNG sharing degree")
    p.add_argument("--maxpool", help="max pooling: or, selector, binary")
    add_percentile_option(p)
    p.add_argument("--mode", default=_F.mode, help=f"surrogate: {' or '.join(SURROGATE_MODES)} (moments: noise "
                   "injection with the expected backend's variance; bit: bit-true forward, straight-through backward)")
    p.add_argument("--epochs", type=int, default=_F.epochs, help="epochs of SC-aware fine-tuning; the run keeps the "
                   "epoch (0: the untouched model) whose bit-true accuracy on the held-out training images is highest")
    p.add_argument("--bit-epochs", type=int, default=_F.bit_epochs, help="with --mode moments: the last epochs run "
                   "bit-true instead (exact, several times slower; 0 for none)")
    p.add_argument("--batch-size", type=int, default=_F.batch_size, help="images per optimiser step")
    p.add_argument("--lr", type=float, default=_F.lr, help="peak learning rate of AdamW (cosine decay to 0)")
    p.add_argument("--distill", type=float, default=_F.distill, help="weight (0-1) of a distillation term: the KL "
                   "divergence from the source model's own float outputs at temperature 2 (0: the labels only)")
    add_seed_option(p, _F.seed, "seed of the stream generators, the injected noise and the batch order")
    p.add_argument("--calib", type=int, default=_F.calib_images, help="training images that set the scales (the "
                   "first N, as in `scnas emulate`; with --train-limit, of that subset)")
    p.add_argument("--train-limit", type=int, help="use only the first N training images (of which the last fifth, at "
                   "most 2,000, are held out from training to choose the percentile and the epoch kept)")
    p.add_argument("--limit", type=int, help="use only the first N test images for the accuracies")
    p.add_argument("--teacher-epochs", type=int, default=default_of(TrainConfig, "epochs"),
                   help="epochs when a zoo teacher must be trained first")
    p.add_argument("--teacher-dir", help="cache of trained zoo teachers (as in `scnas emulate`)")
    p.add_argument("--data-dir", help="directory holding the dataset's files")
    p.add_argument("--out", help="run directory (default runs/finetune-MODEL-DATASET-SNG-L<L>-MODE)")
    add_config_option(p)
    p.set_defaults(func=run)


AUTO_PERCENTILES = (100.0, 99.9, 99.5, 99.0, 98.0, 97.0, 96.0)


def add_percentile_option(p: argparse.ArgumentParser) -> None:
    """--calib-percentile P|auto."""
    p.add_argument("--calib-percentile", metavar="P|auto", help="percentile of the calibration activations "
                   "mapped to a stream of all ones (50-100), or auto: the one of "
                   f"{', '.join(f'{v:g}' for v in AUTO_PERCENTILES)} whose bit-true accuracy on held-out training "
                   "images is highest, before training and after every epoch (default: the number the --sc-config "
                   "file gives, else auto)")


def calib_search_of(args: argparse.Namespace) -> tuple[tuple[float, ...] | None, float | None]:
    """(percentiles to search, or None; a fixed percentile, or None) that --calib-percentile and
    --sc-config ask for: the flag first, then the file's calib_percentile, else the search."""
    flag = getattr(args, "calib_percentile", None)
    if flag is None:
        if getattr(args, "sc_config", None) and "calib_percentile" in read_config(args.sc_config):
            return None, None
        return AUTO_PERCENTILES, None
    if str(flag).strip().lower() == "auto":
        return AUTO_PERCENTILES, None
    try:
        value = float(flag)
    except ValueError:
        raise BadArgument(f"--calib-percentile {flag!r} is neither a number from 50 to 100 nor auto.") from None
    if not 50.0 <= value <= 100.0:
        raise BadArgument(f"--calib-percentile {flag!r} is not from 50 to 100.")
    return None, value


def sc_config_of(args: argparse.Namespace, base: SCConfig | None = None) -> SCConfig:
    """The SCConfig a command trains for: --sc-config's file (or `base`), then the flags given."""
    d = (base or SCConfig(stream_length=64)).to_dict()
    if getattr(args, "sc_config", None):
        d.update(read_config(args.sc_config))
    for flag in ("stream_length", "sng", "share", "maxpool"):
        if getattr(args, flag, None) is not None:
            d[flag] = getattr(args, flag)
    fixed = calib_search_of(args)[1]
    if fixed is not None:
        d["calib_percentile"] = fixed
    d["mode"] = "bit"
    return SCConfig.from_dict(d)


def add_sc_aware_options(p: argparse.ArgumentParser, what: str) -> None:
    """--sc-aware L / --sc-config FILE of a command whose trained model (`what`) is then fine-tuned
    SC-aware into RUN/sc-aware (a finetune run directory)."""
    p.add_argument("--sc-aware", type=int, metavar="L", help=f"then fine-tune {what} SC-aware for stream length L "
                   "(the default recipe of `scnas finetune`) into RUN/sc-aware")
    p.add_argument("--sc-config", help=f"then fine-tune {what} SC-aware for this SCConfig (TOML/JSON; --sc-aware "
                   "overrides its stream_length) into RUN/sc-aware")
    p.add_argument("--sc-aware-epochs", type=int, default=_F.epochs, help="epochs of that SC-aware fine-tune")


def sc_aware_config(args: argparse.Namespace) -> FinetuneConfig | None:
    """The SC-aware fine-tune that --sc-aware / --sc-config ask for (checked), or None."""
    if args.sc_aware is None and args.sc_config is None:
        if args.sc_aware_epochs != _F.epochs:
            raise BadArgument("--sc-aware-epochs needs --sc-aware L or --sc-config FILE, the fine-tune it counts.")
        return None
    check_count("--sc-aware-epochs ", args.sc_aware_epochs, 1, MAX_EPOCHS, error=BadArgument)
    sc = sc_config_of(argparse.Namespace(sc_config=args.sc_config, stream_length=args.sc_aware, sng=None,
                                         share=None, maxpool=None)).replace(seed=int(args.seed or 0))
    search = calib_search_of(argparse.Namespace(sc_config=args.sc_config))[0]
    return FinetuneConfig(sc=sc, epochs=args.sc_aware_epochs, bit_epochs=min(_F.bit_epochs, args.sc_aware_epochs),
                          seed=int(args.seed or 0), train_limit=getattr(args, "train_limit", None),
                          calib_search=search)


def finetune_output(path: str | Path, ds, cfg: FinetuneConfig, out: str | Path) -> dict:
    """SC-aware fine-tune of the model file a command just wrote (a recast student, a searched
    network) into `out`; prints and returns the results."""
    model, meta = load_model(path)
    res = finetune(model, ds, cfg, out, {**meta, "path": str(Path(path).resolve()), "model_hash": model_hash(model)})
    overrides = {o["stream_length"] for o in cfg.sc.layers.values() if "stream_length" in o}
    lengths = sorted({cfg.sc.stream_length} | overrides)
    at = f"L={lengths[0]}" if len(lengths) == 1 else f"per-layer L {lengths[0]}-{lengths[-1]}"
    print(f"SC-aware at {at} ({cfg.sc.sng}), bit-true on {res['n_test_images']} test images: "
          f"{100 * res['bit_accuracy_before']:.2f}% before, {100 * res['bit_accuracy_after']:.2f}% after; "
          f"model in {out}/model.pt")
    return res


def run(args: argparse.Namespace) -> int:
    """Fine-tune (once per seed) and print the accuracies before and after."""
    return per_seed(args, _finetune_one)


def _check_flags(args: argparse.Namespace) -> None:
    """The counts by the flags that set them (the config's own checks name its fields)."""
    check_count("--epochs ", args.epochs, 1, MAX_EPOCHS, error=BadArgument)
    check_count("--bit-epochs ", args.bit_epochs, 0, args.epochs, "at most --epochs", error=BadArgument)
    check_count("--batch-size ", args.batch_size, 1, MAX_TRAIN_BATCH, error=BadArgument)
    check_count("--calib ", args.calib, 2, 1 << 20, error=BadArgument)
    if args.train_limit is not None:
        check_count("--train-limit ", args.train_limit, 2, 1 << 30, "one to train on, one held out", error=BadArgument)
    if not 0 <= args.distill <= 1:
        raise BadArgument(f"--distill {args.distill!r} is not a weight from 0 to 1.")
    if args.limit is not None:
        check_count("--limit ", args.limit, 1, 1 << 30, error=BadArgument)


def _finetune_one(args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    _check_flags(args)
    search = calib_search_of(args)[0]  # a bad --calib-percentile: refused before the data are read
    ds = load_dataset(args.dataset, args.data_dir)
    sc = sc_config_of(args).replace(seed=int(args.seed))
    cfg = FinetuneConfig(sc=sc, mode=args.mode, epochs=args.epochs, bit_epochs=args.bit_epochs, batch_size=args.batch_size, lr=args.lr,
                         seed=int(args.seed), calib_images=args.calib, train_limit=args.train_limit,
                         test_limit=args.limit, calib_search=search, distill=args.distill)
    teacher_args = argparse.Namespace(**{**vars(args), "epochs": args.teacher_epochs})
    model, name, path = resolve_teacher(args.model, ds, teacher_args, with_path=True)
    source = {**load_model(path)[1], "path": path, "model_hash": model_hash(model)}
    out = run_out(args, f"runs/finetune-{name}-{ds.name}-{sc.sng}-L{sc.stream_length}-{cfg.mode}")
    res = finetune(model, ds, cfg, out, source)
    print(f"{name} on {ds.name} at L={sc.stream_length} ({sc.sng}), bit-true on {res['n_test_images']} test "
          f"images: {100 * res['bit_accuracy_before']:.2f}% before, {100 * res['bit_accuracy_after']:.2f}% after "
          f"SC-aware fine-tuning (float {100 * res['float_accuracy_after']:.2f}%; epoch {res['kept_epoch']} kept, "
          f"percentile {res['sc_config']['calib_percentile']:g}); model in {out}/model.pt")
    return out, {"bit-true before": res["bit_accuracy_before"], "bit-true after": res["bit_accuracy_after"]}

