"""What the command modules share: the one-line-error parser, list parsing, defaults read
from the dataclass or function an option feeds (so each default is written once), and the
options several commands take."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

from reports.stats import mean_std
from sc_accel.errors import UserError
from scnas.config import command_line, read_run_config, recorded_options, set_command_line
from scnas.data import DATASETS

__all__ = ["BadArgument", "Parser", "parse_list", "EXAMPLES", "default_of", "list_default", "config_from",
           "default_workers", "check_positive", "optional_list", "add_config_option", "command_words", "apply_config",
           "without_option", "SEED_LIST_HELP", "add_seed_option", "parse_seeds", "per_seed", "run_out", "dataset_help",
           "DefaultsFormatter", "shows_default", "CommandParser", "add_quiet_option", "on_off", "input_shape"]


class BadArgument(UserError, ValueError):
    """A command-line argument that parsed but makes no sense."""


class Parser(argparse.ArgumentParser):
    """argparse with the suite's error format: one line `scnas: error: ...`, exit 2 (argparse
    prints its usage first, which buries the sentence)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"scnas: error: {message}; see `{self.prog} --help`.", file=sys.stderr)
        raise SystemExit(2)


EXAMPLES = {"stream-length": "64,256,1024", "calib-percentile": "100,99,98", "sng": "lfsr,sobol", "share": "1,8", "upscale": "on,off",
            "decorrelate": "xor,rotate", "encoding": "unipolar,bipolar",
            "maxpool": "or,selector", "mode": "bit,expected", "input-shape": "1,3,32,32",
            "pe-menu": "16,32,64", "buffer-menu": "256,512,1024", "platform": "cloud,edge",
            "model": "resnet20,mobilenet", "power-cap": "0.5,1.0", "lengths": "16,64,256",
            "bits": "8/8,8/4", "channels": "16,32,64"}


def _example(flag: str) -> str:
    """An example value of list flag `flag` for an error message."""
    return EXAMPLES.get(flag, "1,2,3")


def on_off(text: str) -> bool:
    """An on/off value (on, off, true, false, yes, no), as config.toml's booleans read back;
    ValueError otherwise (an argparse `type`, and list flags' booleans)."""
    if text.lower() not in ("on", "off", "true", "false", "yes", "no"):
        raise ValueError(text)
    return text.lower() in ("on", "true", "yes")


def input_shape(text: str | None) -> tuple[int, ...] | None:
    """--input-shape as a tuple (None: the model's own)."""
    shape = tuple(parse_list(text, int, "input-shape")) if text else None
    if shape is not None and (len(shape) not in (2, 4) or min(shape) < 1):
        raise BadArgument(f"--input-shape {text} must be B,C,H,W (or B,F) with positive sizes.")
    return shape


def _list_item(item: str, kind: type) -> Any:
    """One item of a list flag; ValueError when it is not a `kind`."""
    return on_off(item) if kind is bool else kind(item)


def parse_list(text: str, kind: type, name: str) -> list:
    """'16,32,64' -> [16, 32, 64]; 'on,off' -> [True, False] for booleans."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        try:
            out.append(_list_item(item, kind))
        except ValueError:
            raise BadArgument(f"--{name} value {item!r} is not a valid {kind.__name__}; "
                              f"give a comma-separated list such as {_example(name)}.") from None
    return out


def default_of(owner: Callable[..., Any], name: str) -> Any:
    """The default of dataclass field `name`, or of parameter `name` of a function: an
    option feeding it takes its default from here, never from a second literal."""
    if dataclasses.is_dataclass(owner):
        f = next(f for f in dataclasses.fields(owner) if f.name == name)
        return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
    return inspect.signature(owner).parameters[name].default


def list_default(owner: Callable[..., Any], name: str) -> str:
    """default_of as the text of a comma-separated list flag (booleans as on/off)."""
    v = default_of(owner, name)
    items = v if isinstance(v, (list, tuple)) else [v]
    return ",".join(("on" if x else "off") if isinstance(x, bool) else str(x) for x in items)


def config_from(cls: type, args: argparse.Namespace, **given: Any) -> Any:
    """cls(...) from every field of dataclass `cls` that the command has an option for (same
    name), then `given`."""
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**fields, **given})


def default_workers() -> int:
    """The local process pool of `scnas search` and `scnas dse`: one process per CPU, at most 4
    (the searches have a handful of independent tasks)."""
    return max(1, min(4, os.cpu_count() or 1))


def check_positive(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Refuse an integer option below 1 (one left out, None, passes)."""
    for name in names:
        v = getattr(args, name)
        if v is not None and v < 1:
            raise BadArgument(f"--{name.replace('_', '-')} {v} must be a positive integer.")


def optional_list(text: str | None, kind: type, flag: str) -> list | None:
    """A comma-separated list flag of `scnas dse`: None when the flag is left out; given
    explicitly, it must hold at least one value (an empty one never falls back to the default)."""
    if text is None:
        return None
    if not text.replace(",", "").strip():
        raise BadArgument(f"--{flag} is empty; give a comma-separated list such as {_example(flag)}, or leave "
                          "the flag out for the default.")
    return parse_list(text, kind, flag)


def dataset_help() -> str:
    """The help text of a --dataset option: the names scnas.data loads (one list, never copied)."""
    return f"{', '.join(DATASETS)} or default (the first one found, see `scnas data`)"


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends each option's text with its default, as ArgumentDefaultsHelpFormatter, but
    not for a flag (store_true), a None default or a text that already says its default, and a
    list default as its items."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if text is None or not shows_default(action):
            return text
        shown = " ".join(map(str, action.default)) if isinstance(action.default, (list, tuple)) else action.default
        return f"{text} (default: {str(shown).replace('%', '%%')})"


def shows_default(action: argparse.Action) -> bool:
    """Whether `--help` adds "(default: ...)" to this option: it has a value and a default that
    its own text does not already state."""
    return (action.default not in (None, argparse.SUPPRESS) and action.nargs != 0 and bool(action.option_strings)
            and "(default" not in (action.help or "").lower() and "%(default)" not in (action.help or ""))


class CommandParser(Parser):
    """The parser of a subcommand (and of theirs, argparse makes them of the same class): its
    help shows every option's default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)
        add_quiet_option(self)


def add_quiet_option(p: argparse.ArgumentParser, top: bool = False) -> None:
    """--quiet: no progress bars, summary lines or progress messages, only the results and
    errors. On `scnas` itself (`scnas --quiet CMD`) and on every command (`scnas CMD --quiet`);
    a command's leaves the value of `scnas --quiet` alone when not given."""
    p.add_argument(*(("-q", "--quiet") if top else ("--quiet",)), action="store_true",
                   default=False if top else argparse.SUPPRESS,
                   help="print only the results: no progress bars, no per-epoch or per-phase lines"
                   + ("" if top else " (same as `scnas --quiet CMD`)"))


# --config: rerun a run from its config.toml (cli.main calls apply_config after the first parse)

_RENAMED = {"settings": "stream_length", "calib_images": "calib", "models": "model"}  # setting -> option dest


def add_config_option(p: argparse.ArgumentParser) -> None:
    """--config RUN/config.toml: the options of the run it records, then the flags given (which win)."""
    p.add_argument("--config", metavar="RUN/config.toml", help="rerun the run this config.toml (or run directory) "
                   "records: its options, overridden by the flags given here")


def command_words(args: argparse.Namespace) -> list[str]:
    """The subcommand path of parsed `args`: ["train"], ["dse", "evolver"]."""
    return [args.command] + ([args.search] if args.command == "dse" else [])


def apply_config(parser: argparse.ArgumentParser, args: argparse.Namespace,
                 argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(args, argv) with --config's options in place of --config, less those the flags given set
    again (they win), parsed again; unchanged without --config. The file's recorded command line
    is used, else its settings mapped to options; a config.toml of another command, or options
    this scnas does not know, are refused."""
    if getattr(args, "config", None) is None:
        return args, argv
    path, cfg = read_run_config(args.config)
    words = command_words(args)
    theirs = [cfg["command"]] + ([cfg["search"]] if cfg["command"] == "dse" else [])
    if theirs != words:
        raise BadArgument(f"{path} is the config.toml of a `scnas {' '.join(theirs)}` run, not of `scnas "
                          f"{' '.join(words)}`; run `scnas {' '.join(theirs)} --config {path}` instead.")
    sub = _subparser(parser, words)
    options = recorded_options(cfg, words)
    options = _settings_options(sub, cfg, path, words) if options is None else options
    unknown = parser.parse_known_args(words + options)[1]
    if unknown:
        raise BadArgument(f"{path} records options this scnas does not know ({' '.join(unknown)}); remove them "
                          "from its [run] argv, or run the command without --config.")
    at = next(i + len(words) for i in range(len(argv)) if argv[i:i + len(words)] == words)
    given, config = _option_groups(sub, argv[at:]), sub._option_string_actions["--config"]
    again = {a for a, _ in given if a is not None} | {config}
    kept = [t for a, tokens in _option_groups(sub, options) if a not in again for t in tokens]
    argv = argv[:at] + kept + [t for a, tokens in given if a is not config for t in tokens]
    return parser.parse_args(argv), argv


def _option_groups(sub: argparse.ArgumentParser, tokens: list[str]) -> list[tuple[object, list[str]]]:
    """`tokens` cut into (action, its tokens): an option with its value; a token that names no
    option of `sub` is a group of its own (action None)."""
    groups: list[tuple[object, list[str]]] = []
    i = 0
    while i < len(tokens):
        action = sub._option_string_actions.get(tokens[i].split("=", 1)[0]) if tokens[i].startswith("-") else None
        n = 1 if action is None or "=" in tokens[i] else _value_count(action, tokens[i + 1:])
        groups.append((action, tokens[i:i + n]))
        i += n
    return groups


def _value_count(action: argparse.Action, rest: list[str]) -> int:
    """1 + how many of `rest` an option's action takes: none for a switch, one by default, and
    for nargs '+', '*' or '?' the tokens up to the next option (as argparse reads them)."""
    if action.nargs == 0:
        return 1
    if action.nargs not in ("+", "*", "?"):
        return 1 + (action.nargs if isinstance(action.nargs, int) else 1)
    values = 0
    while values < len(rest) and not (rest[values].startswith("-") and not _is_number(rest[values])):
        values += 1
        if action.nargs == "?":
            break
    return 1 + values


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def without_option(tokens: list[str], flag: str) -> list[str]:
    """`tokens` less every `flag VALUE` and `flag=VALUE`."""
    out, skip = [], False
    for t in tokens:
        if not skip and t != flag and not t.startswith(flag + "="):
            out.append(t)
        skip = t == flag and not skip
    return out


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """The parser of subcommand path `words`."""
    for w in words:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[w]
    return parser


def _option_text(v: object) -> str:
    """A setting as its option's text: lists comma-separated, booleans on/off."""
    if isinstance(v, list):
        return ",".join(_option_text(x) for x in v)
    return ("on" if v else "off") if isinstance(v, bool) else repr(v) if isinstance(v, float) else str(v)


def _settings_options(sub: argparse.ArgumentParser, cfg: dict, path: Path, words: list[str]) -> list[str]:
    """Options rebuilt from a config.toml that records no command line (a run made from Python):
    every setting with an option of its name; the others (hashes, counts: what the run derived) are
    skipped and named in a note, since no option sets them."""
    actions = {a.dest: a for a in sub._actions if a.option_strings}
    options, skipped = [], []
    for key, value in cfg.items():
        action = actions.get(_RENAMED.get(key, key))
        if key in ("run", "command", "search") or value in ("", []):
            continue
        if action is None or isinstance(value, dict):
            skipped.append(key)
        elif action.nargs == 0:  # a switch such as --adaptor
            options += [action.option_strings[0]] if value else []
        else:
            value = list(dict.fromkeys(value)) if key == "settings" else value  # emulate: one length per setting
            options += [action.option_strings[0], _option_text(value)]
    print(f"note: {path} records no `scnas {' '.join(words)}` command line, so its options were rebuilt from "
          f"its settings{'; skipped (no option sets them): ' + ', '.join(skipped) if skipped else ''}.",
          file=sys.stderr)
    return options


# --seed 0,1,2: one sub-run per seed in OUT/seed-N (per_seed), a single seed as before

RunOne = Callable[[argparse.Namespace], "tuple[str, dict[str, float]]"]


SEED_LIST_HELP = "a comma-separated list such as 0,1,2 makes one run per seed, in OUT/seed-N"


def add_seed_option(p: argparse.ArgumentParser, default: int | None, what: str) -> None:
    """--seed: one seed, or a comma-separated list run one after another (see per_seed)."""
    p.add_argument("--seed", default=default, help=f"{what}; {SEED_LIST_HELP}")


def parse_seeds(text: str | int | None) -> list:
    """'0,1,2' -> [0, 1, 2]: non-negative integers, each once (an int or None, a default, as is)."""
    if text is None or isinstance(text, int):
        return [text]
    seeds: list[int] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise BadArgument(f"--seed {text!r} has an empty item; give seeds such as 0,1,2.")
        if not re.fullmatch(r"[+-]?\d+", item):
            raise BadArgument(f"--seed value {item!r} is not an integer; give seeds such as 0,1,2.")
        if int(item) < 0:
            raise BadArgument(f"--seed {item} is negative; give seeds of 0 or more, such as 0,1,2.")
        if int(item) in seeds:
            raise BadArgument(f"--seed {text!r} repeats seed {int(item)}; give each seed once.")
        seeds.append(int(item))
    return seeds


def per_seed(args: argparse.Namespace, run_one: RunOne) -> int:
    """Run `run_one` (it returns its run directory and its main accuracies) once per --seed:
    one seed as before, several one after another in OUT/seed-N, each a normal run directory,
    with a line per seed and the mean ± std over seeds at the end. The list is checked first."""
    seeds = parse_seeds(args.seed)
    if len(seeds) == 1:
        run_one(argparse.Namespace(**{**vars(args), "seed": seeds[0]}))
        return 0
    if args.out is not None and (Path(args.out) / "config.toml").is_file():
        raise BadArgument(f"{args.out} is the run directory of one seed; give the seed list another --out (it "
                          "makes OUT/seed-N).")
    found: dict[str, list[float]] = {}
    for seed in seeds:
        sub = {**vars(args), "seed": seed, "seed_dir": f"seed-{seed}",
               "out": None if args.out is None else str(Path(args.out) / f"seed-{seed}")}
        out, accuracies = run_one(argparse.Namespace(**sub))
        print(f"seed {seed}: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in accuracies.items()) + f" ({out})")
        for k, v in accuracies.items():
            found.setdefault(k, []).append(v)
    for k, values in found.items():
        mean, std = mean_std(values)
        print(f"{k} over {len(values)} seeds: {100 * mean:.2f} ± {100 * std:.2f}%")
    return 0


def run_out(args: argparse.Namespace, default: str) -> str:
    """The run directory: --out, else `default`; a sub-run of a seed list goes to OUT/seed-N and
    records the command line that makes it alone (its seed and directory), so --config reruns it."""
    seed_dir = getattr(args, "seed_dir", None)
    if seed_dir is None:
        return default if args.out is None else args.out
    out = args.out if args.out is not None else f"{default}/{seed_dir}"
    argv = command_line()
    if argv:
        set_command_line(without_option(without_option(argv, "--seed"), "--out") + ["--seed", str(args.seed),
                                                                                    "--out", out])
    return out
