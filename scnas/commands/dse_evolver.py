"""`scnas dse evolver`: per-layer stream lengths (or bit pairs) and a V/F point by Q-learning (Evolver)."""

from __future__ import annotations

import argparse
from pathlib import Path

from reports import plot_dse
from sc_accel.dse.evolver import BIT_PAIRS, LENGTHS, MAX_EPISODES, MAX_SAMPLES
from sc_accel.dse.space import check_seed
from sc_accel.errors import MAX_EPOCHS, check_count
from scnas.accel import load_accel
from scnas.commands.common import BadArgument, add_config_option, dataset_help, default_of, optional_list
from scnas.commands.finetune import finetune_output, sc_config_of
from scnas.commands.teacher import add_teacher_options, resolve_teacher
from scnas.config import read_json, write_json, write_toml
from scnas.data import load_dataset
from scnas.dse_run import check_shaping, evolver_table, run_evolver
from scnas.finetune import FinetuneConfig

__all__ = ["add_parser", "run", "finetune_policy"]

# options feeding run_evolver's parameter of the same name (calib: calib_images): name -> (type, help)
_SEARCH = {"episodes": (int, "Q-learning episodes"),
           "eval_images": (int, "training images (the last N) scored during the search (expected mode)"),
           "final_images": (int, "test images of the final bit-true runs"),
           "calib": (int, "training images that set the conversion scales"),
           "acc_drop": (float, "accuracy threshold: the float model's accuracy minus this many points"),
           "latency_th": (float, "latency threshold, normalised to [0, 1]"),
           "energy_th": (float, "energy threshold, normalised to [0, 1]"),
           "shaping": (float, "reward of a policy under the accuracy threshold: shaping x A, a number in [0, 1] "
                       "(0: the paper's zero reward)"),
           "samples": (int, "Gaussian logit draws per image in the accuracy proxy"),
           "seed": (int, "seed of the search (Q-learning, streams, the accuracy proxy's draws)")}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `dse evolver` subcommand; its defaults are run_evolver's and sc_accel.dse.evolver's."""
    p = sub.add_parser("evolver", help="per-layer stream lengths and a V/F point of an SC model by Q-learning, "
                       "skipping outliers (Evolver), against the best uniform-L design")
    p.add_argument("--model", default="lenet5", help="zoo name (trained once into --teacher-dir), a model.pt "
                   "or a train run directory")
    p.add_argument("--dataset", default=default_of(load_dataset, "name"), help=dataset_help())
    p.add_argument("--accel", default="sc-64x64-L256", help="accelerator preset or file (SC: stream lengths; "
                   "binary: bit pairs)")
    p.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="stream lengths a layer may take "
                   "(SC accelerators)")
    p.add_argument("--bits", default=",".join(f"{a}/{w}" for a, w in BIT_PAIRS), help="activation/weight bit "
                   "pairs a layer may take (binary accelerators)")
    for name, (kind, what) in _SEARCH.items():
        param = "calib_images" if name == "calib" else name
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default_of(run_evolver, param), help=what)
    p.add_argument("--finetune-epochs", type=int, default=0, help="then fine-tune the model SC-aware for the "
                   "chosen policy's per-layer stream lengths (`scnas finetune`'s recipe) for N epochs into "
                   "RUN/finetune (0: no fine-tune; SC accelerators only)")
    add_teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/dse-evolver-MODEL-ACCEL)")
    add_config_option(p)
    p.set_defaults(func=run)


def _bit_pair(v: str) -> tuple[int, int]:
    """'8/4' -> (8, 4): activation and weight bits of a binary layer."""
    try:
        a, w = v.split("/")
        return int(a), int(w)
    except ValueError:
        raise BadArgument(f"--bits value {v!r} is not an activation/weight pair such as 8/4.") from None


def run(args: argparse.Namespace) -> int:
    """Search the per-layer choices, print the table, draw the figures."""
    check_seed(args.seed, "--seed ")
    for flag, v, hi in (("episodes", args.episodes, MAX_EPISODES), ("samples", args.samples, MAX_SAMPLES)):
        if v > hi:  # below 1 is refused by run_evolver
            raise BadArgument(f"--{flag} {v} must be an integer from 1 to {hi:,}.")
    check_shaping(args.shaping)  # before a teacher is trained
    check_count("--finetune-epochs ", args.finetune_epochs, 0, MAX_EPOCHS, "0: no fine-tune", error=BadArgument)
    lengths, bits = optional_list(args.lengths, int, "lengths"), optional_list(args.bits, str, "bits")
    ds = load_dataset(args.dataset, args.data_dir)
    accel = load_accel(args.accel)
    if args.finetune_epochs and accel.kind != "sc":
        raise BadArgument(f"--finetune-epochs fine-tunes for SC stream lengths, and {args.accel} is a binary "
                          "array; leave it out there.")
    # SC array: stream lengths; binary array: (activation, weight) bit pairs such as 8/4
    choices = tuple(lengths) if accel.kind == "sc" else tuple(_bit_pair(v) for v in bits)
    model, name, path = resolve_teacher(args.model, ds, args, with_path=True)
    out = f"runs/dse-evolver-{name}-{args.accel}" if args.out is None else args.out
    prior = _prior_finetune(Path(out), args.finetune_epochs)  # checked before anything is written
    res = run_evolver(model, name, ds, accel, out, choices, args.episodes, args.eval_images, args.final_images,
                      args.calib, args.acc_drop, args.latency_th, args.energy_th, args.samples, args.seed,
                      shaping=args.shaping)
    print(evolver_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    if args.finetune_epochs:
        finetune_policy(path, ds, Path(out), args.finetune_epochs, args.seed, args.calib, args.final_images)
    elif prior is not None:  # a rerun without the flag keeps the fine-tune already done
        results = read_json(Path(out) / "results.json")
        results["finetune"] = prior
        write_json(results, Path(out) / "results.json")
    return 0


def _prior_finetune(run: Path, epochs: int) -> dict | None:
    """The fine-tune a finished run already holds (results.json's "finetune"), or None; a rerun
    asking for another number of fine-tune epochs is refused by name before anything is written."""
    f = run / "results.json"
    prior = read_json(f).get("finetune") if f.is_file() else None
    if not isinstance(prior, dict):
        return None
    if epochs and prior.get("epochs") != epochs:
        raise BadArgument(f"{run} holds a fine-tune of {prior.get('epochs')} epoch(s) (--finetune-epochs); rerun "
                          "with the same, or leave the flag out to keep it, or give another --out.")
    return prior


def finetune_policy(model_path: str | Path, ds, run: Path, epochs: int, seed: int, calib_images: int,
                    test_images: int) -> dict | None:
    """SC-aware fine-tune of the model file for the chosen policy of the finished search in `run`:
    its SCConfig (per-layer stream lengths, generators, seed) goes to RUN/policy_sc.toml and is
    read back as `scnas finetune --sc-config RUN/policy_sc.toml` reads it; the fine-tune (resumed
    from its checkpoint on a rerun) goes to RUN/finetune with the search's calibration images and
    the same first `test_images` test images. results.json gains "finetune": the bit-true test
    accuracy after post-training (conversion only) beside that after the fine-tune. None when the
    search chose no policy."""
    results = read_json(run / "results.json")
    sc_dict = results["evolver"].get("sc_config")
    if not sc_dict:
        print("no policy met the thresholds, so there is nothing to fine-tune")
        return None
    write_toml(sc_dict, run / "policy_sc.toml")
    sc = sc_config_of(argparse.Namespace(sc_config=str(run / "policy_sc.toml"), stream_length=None, sng=None,
                                         share=None, maxpool=None))
    cfg = FinetuneConfig(sc=sc, epochs=epochs, bit_epochs=min(FinetuneConfig.bit_epochs, epochs), seed=seed,
                         calib_images=max(2, calib_images), test_limit=test_images)
    res = finetune_output(model_path, ds, cfg, run / "finetune")
    results["finetune"] = {"epochs": epochs, "mode": cfg.mode, "bit_epochs": cfg.bit_epochs, "run": "finetune",
                           "n_test_images": res["n_test_images"],
                           "bit_accuracy_post_training": res["bit_accuracy_before"],
                           "bit_accuracy_finetuned": res["bit_accuracy_after"],
                           "float_accuracy_finetuned": res["float_accuracy_after"]}
    write_json(results, run / "results.json")
    print(f"chosen policy, bit-true on {res['n_test_images']} test images: "
          f"{100 * res['bit_accuracy_before']:.2f}% after post-training, "
          f"{100 * res['bit_accuracy_after']:.2f}% after {epochs} epoch(s) of SC-aware fine-tuning")
    return results["finetune"]
