"""The `scnas` subcommands, one module each: `add_parser(subparsers)` declares a command's
options beside `run(args) -> int`, its handler; common.py holds what they share."""

from scnas.commands import (bench, convert, data, dse, emulate, estimate, finetune, recast, report, search,
                            train)

__all__ = ["COMMANDS"]

# in the order `scnas --help` lists them
COMMANDS = (data, bench, train, finetune, emulate, estimate, recast, search, dse, report, convert)
