"""`scnas emulate`: accuracy of a trained CNN on emulated SC hardware over a grid of settings."""

from __future__ import annotations

import argparse

from reports import plot_emulation
from sc_accel.nn import SCConfig
from scnas.commands.common import (BadArgument, add_config_option, add_seed_option, dataset_help, default_of,
                                   list_default, parse_list, per_seed, run_out)
from scnas.commands.teacher import add_teacher_options, resolve_teacher
from scnas.data import load_dataset
from scnas.edt_run import EDTSpec, print_edt
from scnas.train import load_model
from scnas.zoo import MODELS
from scnas.sweep import check_scale_out, print_table, run_sweep, setting_label, settings_grid

__all__ = ["add_parser", "run"]

# list flags named after the SCConfig field whose default they take: flag -> help
_SETTINGS = {"sng": "generator kinds: lfsr, sobol, vdc, bernoulli, counter",
             "share": "SNG sharing degrees",
             "decorrelate": "how consumers of a shared SNG re-wire it: xor, rotate, none",
             "upscale": "weight/activation up-scaling: on, off",
             "maxpool": "max pooling: or, selector, binary",
             "mode": "bit (bit-true) or expected (analytic proxy)",
             "encoding": "unipolar (AND, sign-magnitude) or bipolar (XNOR)",
             "calib_percentile": "percentiles of the calibration activations mapped to a stream of all ones, 50-100 "
                                 "(below 100 clips the largest values for resolution on short streams)"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `emulate` subcommand; a setting left out is SCConfig's default (a one-item list)."""
    p = sub.add_parser("emulate", help="accuracy of a trained CNN on emulated SC hardware over settings")
    p.add_argument("--model", default="lenet5", help="zoo name (trained once into --teacher-dir), "
                   "a model.pt or a train run directory")
    p.add_argument("--dataset", default=default_of(load_dataset, "name"), help=dataset_help())
    p.add_argument("--stream-length", help=f"comma-separated L values (default {_LENGTHS}; for a model `scnas "
                   "finetune` wrote, the L it was trained for)")
    for flag, what in _SETTINGS.items():
        p.add_argument(f"--{flag.replace('_', '-')}", help=f"{what} (default {list_default(SCConfig, flag)}, or the fine-tuned "
                       "model's own)")
    add_seed_option(p, None, f"seed of the stream generators (default {default_of(SCConfig, 'seed')}, or the "
                    "fine-tuned model's own)")
    p.add_argument("--limit", type=int, help="use only the first N test images")
    p.add_argument("--calib", type=int, default=default_of(run_sweep, "calib_n"),
                   help="training images used to calibrate scales")
    p.add_argument("--edt", nargs="+", action="extend", metavar="RULE:VALUES",
                   help="early decision termination, measured bit-true: margin:Z (stop when the top-1 margin "
                        "exceeds Z noise standard deviations) and/or stable:M (top-1 unchanged over M checkpoints); "
                        "several values sweep, e.g. --edt margin:1,2,4 stable:2 (Z in units of the noise measured bit-true on "
                        "calibration images at each checkpoint)")
    p.add_argument("--edt-checkpoints", help="stream lengths where EDT may stop (default: powers of two from L/16 "
                   "up to L; L is always the last)")
    p.add_argument("--workers", type=int, default=1, help="local processes sharing the (setting, block of images) "
                   "tasks, each with CPUs/N threads (default 1: this process, every core)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the tasks on Ray: 'local' or a cluster address "
                   "(optional extra: pip install '.[distributed]')")
    p.add_argument("--chunk", type=int, default=default_of(run_sweep, "chunk"),
                   help="test images per task; each finished task is saved, so a killed run redoes only the rest")
    add_teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/emulate-MODEL-DATASET)")
    add_config_option(p)
    p.set_defaults(func=run)


_LENGTHS = "32,64,128,256,512,1024"


def recorded_config(spec: str) -> SCConfig | None:
    """The SCConfig a model file records (`scnas finetune` trained it for that hardware), or None."""
    if spec in MODELS:
        return None
    d = load_model(spec)[1].get("sc_config")
    if d is None:
        return None
    if not isinstance(d, dict):
        raise BadArgument(f"{spec} records an SC configuration that is not a table; re-run `scnas finetune`.")
    return SCConfig.from_dict(d)


def with_defaults(args: argparse.Namespace, recorded: SCConfig | None) -> argparse.Namespace:
    """args with every setting flag left out set to the recorded config's value (a fine-tuned
    model runs on the hardware it was trained for), else to SCConfig's default."""
    out = argparse.Namespace(**vars(args))
    for flag in _SETTINGS:
        if getattr(args, flag) is None:
            v = getattr(recorded, flag) if recorded is not None else default_of(SCConfig, flag)
            setattr(out, flag, ("on" if v else "off") if isinstance(v, bool) else str(v))
    if args.stream_length is None:
        out.stream_length = str(recorded.stream_length) if recorded is not None else _LENGTHS
    if args.seed is None:
        out.seed = recorded.seed if recorded is not None else default_of(SCConfig, "seed")
    return out


def _grid(args: argparse.Namespace, recorded: SCConfig | None = None) -> list[SCConfig]:
    """Every combination of the list flags; the fields no flag sets (per-layer lengths, widths,
    weight generator, ...) come from the recorded config when there is one."""
    grid = _flag_grid(args)
    if recorded is None:
        return grid
    fields = ("stream_length", "sng", "share", "decorrelate", "upscale", "maxpool", "mode", "seed", "encoding",
              "calib_percentile")
    return [recorded.replace(**{f: getattr(c, f) for f in fields}, batch_size=c.batch_size) for c in grid]


def _flag_grid(args: argparse.Namespace) -> list[SCConfig]:
    return settings_grid(parse_list(args.stream_length, int, "stream-length"),
                         parse_list(args.sng, str, "sng"), parse_list(args.share, int, "share"),
                         parse_list(args.upscale, bool, "upscale"), parse_list(args.maxpool, str, "maxpool"),
                         parse_list(args.mode, str, "mode"), args.seed,
                         decorrelates=parse_list(args.decorrelate, str, "decorrelate"),
                         encodings=parse_list(args.encoding, str, "encoding"),
                         percentiles=parse_list(args.calib_percentile, float, "calib-percentile"))


def run(args: argparse.Namespace) -> int:
    """Sweep the settings (once per seed), print the table and draw the figures."""
    return per_seed(args, _emulate_one)


def _emulate_one(args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    """Sweep with one seed; (the run directory, the accuracy of each setting)."""
    ds = load_dataset(args.dataset, args.data_dir)
    recorded = recorded_config(args.model)
    args = with_defaults(args, recorded)
    configs = _grid(args, recorded)
    edt = EDTSpec.parse(args.edt, None if args.edt_checkpoints is None
                        else parse_list(args.edt_checkpoints, int, "edt-checkpoints"))
    if args.limit is not None and args.limit < 1:
        raise BadArgument(f"--limit {args.limit} must be a positive number of test images.")
    check_scale_out(args.workers, args.ray, args.chunk)  # before a teacher is trained or a directory made
    model, name = resolve_teacher(args.model, ds, args)
    out = run_out(args, f"runs/emulate-{name}-{ds.name}")
    res = run_sweep(model, name, ds, configs, out, limit=args.limit, calib_n=args.calib, edt=edt,
                    workers=args.workers, ray=args.ray, chunk=args.chunk)
    print_table(res)
    print_edt(res)
    for f in plot_emulation(f"{out}/results.json"):
        print(f"wrote {f}")
    return out, {f"{setting_label(s['config'])} L={s['config']['stream_length']}": s["accuracy"]
                 for s in res["settings"]}
