"""What the command modules share: the one-line-error parser, list parsing, defaults read
from the dataclass or function an option feeds (so each default is written once), and the
options several commands take."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import sys
from typing import Any, Callable

from sc_accel.errors import UserError
from scnas.data import DATASETS

__all__ = ["BadArgument", "Parser", "parse_list", "EXAMPLES", "default_of", "list_default", "config_from",
           "default_workers", "check_positive", "optional_list"]


class BadArgument(UserError, ValueError):
    """A command-line argument that parsed but makes no sense."""


class Parser(argparse.ArgumentParser):
    """argparse with the suite's error format: one line `scnas: error: ...`, exit 2 (argparse
    prints its usage first, which buries the sentence)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"scnas: error: {message}; see `{self.prog} --help`.", file=sys.stderr)
        raise SystemExit(2)


EXAMPLES = {"stream-length": "64,256,1024", "sng": "lfsr,sobol", "share": "1,8", "upscale": "on,off",
            "decorrelate": "xor,rotate", "encoding": "unipolar,bipolar",
            "maxpool": "or,selector", "mode": "bit,expected", "input-shape": "1,3,32,32",
            "pe-menu": "16,32,64", "buffer-menu": "256,512,1024", "platform": "cloud,edge",
            "model": "resnet20,mobilenet", "power-cap": "0.5,1.0", "lengths": "16,64,256",
            "bits": "8/8,8/4", "channels": "16,32,64"}


def _list_item(item: str, kind: type) -> Any:
    """One item of a list flag; ValueError when it is not a `kind`."""
    if kind is not bool:
        return kind(item)
    if item.lower() not in ("on", "off", "true", "false", "yes", "no"):
        raise ValueError(item)
    return item.lower() in ("on", "true", "yes")


def parse_list(text: str, kind: type, name: str) -> list:
    """'16,32,64' -> [16, 32, 64]; 'on,off' -> [True, False] for booleans."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        try:
            out.append(_list_item(item, kind))
        except ValueError:
            raise BadArgument(f"--{name} value {item!r} is not a valid {kind.__name__}; "
                              f"give a comma-separated list such as {EXAMPLES.get(name, '1,2,3')}.") from None
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
        raise BadArgument(f"--{flag} is empty; give a comma-separated list such as {EXAMPLES[flag]}, or leave "
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


__all__ += ["dataset_help", "DefaultsFormatter", "shows_default", "CommandParser"]
