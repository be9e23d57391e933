"""`scnas dse confuciux`: per-layer PEs and buffer under a platform budget (ConfuciuX)."""

from __future__ import annotations

import argparse

from reports import plot_dse
from sc_accel.dse.assign import AGENTS, check_budget
from sc_accel.dse.space import check_seed
from scnas.accel import load_accel
from scnas.commands.common import (BadArgument, add_config_option, check_positive, default_of, default_workers,
                                   input_shape, optional_list)
from scnas.dse_run import confuciux_table, platform_from, run_confuciux
from scnas.estimate_run import resolve_model

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `dse confuciux` subcommand; its defaults are run_confuciux's (but --workers)."""
    p = sub.add_parser("confuciux", help="per-layer PEs and buffer under a platform budget: REINFORCE + GA "
                       "(ConfuciuX, MICRO 2020) against baselines at equal evaluations and the exact optimum")
    p.add_argument("--model", default="resnet20,mobilenet", help="comma-separated zoo names or model.pt files "
                   "(ConfuciuX's own workloads: resnet50,mobilenet_v2 --input-shape 1,3,224,224)")
    p.add_argument("--input-shape", help="B,C,H,W of every model (default: each model's own; zoo: 1,1,28,28 "
                   "for lenet5, 1,3,224,224 for resnet50 and mobilenet_v2, else 1,3,32,32)")
    p.add_argument("--accel", default="spatial-16x16-kcp", help="spatial or sc preset / file (its dataflow)")
    p.add_argument("--platform", default="cloud,edge", help="comma-separated budgets: cloud, edge")
    p.add_argument("--objective", default=default_of(run_confuciux, "objective"), choices=["latency", "energy"],
                   help="what the search minimises")
    p.add_argument("--deployment", default=default_of(run_confuciux, "deployment"),
                   choices=["sequential", "pipelined"],
                   help="layers run one after another, or pipelined on their own PEs")
    p.add_argument("--budget", type=int, default=default_of(run_confuciux, "budget"),
                   help="estimator evaluations per method")
    p.add_argument("--pe-menu", help="PE counts a layer may get, e.g. 16,32,64 (default: the platform's)")
    p.add_argument("--buffer-menu", help="buffer bytes a layer may get, e.g. 256,512 (default: the platform's)")
    p.add_argument("--max-pes", type=int, help="total PE budget (default: the platform's)")
    p.add_argument("--max-buffer", type=int, help="total buffer budget in bytes (default: the platform's)")
    p.add_argument("--max-area", type=float, help="cap on the sum of the layers' estimated areas in um^2 "
                   "(default: none)")
    p.add_argument("--max-power", type=float, help="cap on the chip's estimated power in W: leakage of every "
                   "layer's array plus the largest layer's dynamic power (sequential) or the stages' summed energy "
                   "per interval (pipelined) (default: none)")
    p.add_argument("--agents", help="RL agents to run: masked (a choice that breaks a cap is never drawn), "
                   "unmasked (the reference's: it ends the episode with a penalty), or both (default masked,unmasked)")
    p.add_argument("--no-mask", action="store_true", help="run only the unmasked agent (same as --agents unmasked)")
    p.add_argument("--seed", type=int, default=default_of(run_confuciux, "seed"), help="seed of every method")
    p.add_argument("--workers", type=int, default=default_workers(), help="local processes for the (platform, "
                   "model) tasks (default: the CPU count, at most 4; 1 runs them in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the tasks on Ray: 'local' or a cluster address "
                   "(optional extra: pip install '.[distributed]')")
    p.add_argument("--out", help="run directory (default runs/dse-confuciux-ACCEL)")
    add_config_option(p)
    p.set_defaults(func=run)


def _platforms(args: argparse.Namespace) -> list:
    """The budgets of --platform, narrowed by the menu and cap flags (all checked first)."""
    check_positive(args, ("budget", "workers", "max_pes", "max_buffer"))
    check_budget(args.budget, "--budget ")
    check_seed(args.seed, "--seed ")
    pe_menu, buf_menu = optional_list(args.pe_menu, int, "pe-menu"), optional_list(args.buffer_menu, int, "buffer-menu")
    if args.max_area is not None and not 0 < args.max_area < float("inf"):
        raise BadArgument(f"--max-area {args.max_area} must be a positive area in um^2.")
    if args.max_power is not None and not 0 < args.max_power < float("inf"):
        raise BadArgument(f"--max-power {args.max_power} must be a positive power in W.")
    return [platform_from(p, pe_menu, buf_menu, args.max_pes, args.max_buffer, args.max_area, args.max_power)
            for p in optional_list(args.platform, str, "platform")]


def _agents(args: argparse.Namespace) -> tuple[str, ...]:
    """--agents as a tuple (--no-mask: unmasked only); unknown names end in one sentence."""
    agents = optional_list(args.agents, str, "agents") if args.agents is not None else list(AGENTS)
    if args.no_mask:
        if args.agents is not None and agents != ["unmasked"]:
            raise BadArgument(f"--no-mask runs the unmasked agent only; it contradicts --agents {args.agents}.")
        agents = ["unmasked"]
    if not agents or any(a not in AGENTS for a in agents) or len(set(agents)) != len(agents):
        raise BadArgument(f"--agents {args.agents} must be masked, unmasked or masked,unmasked.")
    return tuple(agents)


def run(args: argparse.Namespace) -> int:
    """Search every (platform, model), print the table, draw the figures."""
    platforms = _platforms(args)
    agents = _agents(args)
    accel = load_accel(args.accel)
    shape = input_shape(args.input_shape)
    models = {}
    for spec in optional_list(args.model, str, "model"):
        model, name, shape = resolve_model(spec, shape)
        models[name] = (model, shape)
    out = f"runs/dse-confuciux-{args.accel}" if args.out is None else args.out
    res = run_confuciux(models, accel, platforms, out, args.objective, args.deployment, args.budget, args.seed,
                        workers=args.workers, ray=args.ray, agents=agents)
    print(confuciux_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0
