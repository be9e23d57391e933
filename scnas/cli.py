"""The one `scnas` command. Subcommands: data, bench, train, emulate, estimate, recast, search, dse,
report, convert-checkpoint; each lives in its own module of scnas.commands.

User errors (sc_accel.errors.UserError) print one sentence and exit 2; library code
never exits.
"""

from __future__ import annotations

import argparse
import sys

from sc_accel import progress
from sc_accel.errors import UserError
from scnas.commands import COMMANDS
from scnas.commands.common import CommandParser, Parser, add_quiet_option, apply_config
from scnas.config import set_command_line, version

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = Parser(prog="scnas", description="CNN and stochastic-computing accelerator co-design. Progress "
                    "bars show on a terminal; piped to a file, each phase prints one summary line instead.")
    parser.add_argument("--version", action="version", version=f"scnas {version()}")
    add_quiet_option(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `scnas` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args, argv = apply_config(parser, args, argv)  # --config RUN/config.toml: its options, then the flags given
        set_command_line(argv)
        progress.set_quiet(args.quiet)
        return args.func(args)
    except UserError as e:
        progress.close_all()
        print(f"scnas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.close_all()
        print("scnas: interrupted; what was already saved in the run directory is kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
