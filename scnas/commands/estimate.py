"""`scnas estimate`: latency, energy and area of a model on accelerator presets or files."""

from __future__ import annotations

import argparse

from reports import estimate_table, plot_estimate
from sc_accel.nn import SCConfig
from scnas.accel import load_accel
from scnas.commands.common import add_config_option, default_of, input_shape, parse_list
from scnas.config import read_config
from scnas.estimate_run import expand_stream_lengths, resolve_model, run_estimate

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `estimate` subcommand and its options."""
    p = sub.add_parser("estimate", help="latency/energy/area of a model on accelerator presets or files")
    p.add_argument("--model", default="lenet5", help="zoo name, a model.pt or a train run directory")
    p.add_argument("--input-shape", help="B,C,H,W (default 1,1,28,28 for lenet5, 1,3,224,224 for resnet50 and "
                   "mobilenet_v2, else 1,3,32,32)")
    p.add_argument("--accel", nargs="+", default=["systolic-32x32-ws"], metavar="PRESET_OR_FILE",
                   help="accelerator preset names (configs/accel) or .toml/.json files")
    p.add_argument("--compare", nargs="+", metavar="PRESET_OR_FILE",
                   help="several accelerators side by side (same as giving several to --accel)")
    p.add_argument("--sc-config", help="TOML/JSON of SCConfig settings applied to the SC accelerators")
    p.add_argument("--cost-table", default=default_of(run_estimate, "table"),
                   help="energy/area table: default, or the SC PE calibrated to uSystolic (HPCA 2022)")
    p.add_argument("--stream-length", help="comma-separated L values; each SC accelerator runs once per L")
    p.add_argument("--out", help="run directory (default runs/estimate-MODEL)")
    add_config_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Estimate on every accelerator (and stream length), print the table, draw the figures."""
    accels = [load_accel(s) for s in args.compare or args.accel]
    shape = input_shape(args.input_shape)
    sc = SCConfig.from_dict(read_config(args.sc_config)) if args.sc_config else None
    lengths = parse_list(args.stream_length, int, "stream-length") if args.stream_length else None
    accels = expand_stream_lengths(accels, lengths, sc)
    model, name, shape = resolve_model(args.model, shape)
    out = f"runs/estimate-{name}" if args.out is None else args.out
    res = run_estimate(model, name, shape, accels, out, table=args.cost_table)
    print(estimate_table(res))
    for f in plot_estimate(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0
