"""Progress bars and progress lines: the one place that decides what long work shows.

Three modes, chosen when a bar is made:
- "bars": stderr is a terminal, so tqdm draws its bar there;
- "lines": stderr is a pipe or a file (a log), so there is no bar (no carriage returns or cursor
  codes) and each bar prints one summary line to stderr when its phase ends, e.g.
  "coarse search epoch 3/10: 40/40 (12 s)";
- "quiet": `scnas --quiet`, nothing at all, neither bars nor summaries nor `say` lines.
Library code (nas, recast, sc_accel, scnas) makes every bar with `bar()` and prints a progress
message with `say()`; the CLI sets quiet once per command.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm import tqdm

__all__ = ["bar", "say", "set_quiet", "is_quiet", "mode", "close_all", "LineProgress"]

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Silence (True) or allow (False) every progress bar, summary line and `say` line."""
    global _QUIET
    _QUIET = bool(quiet)


def is_quiet() -> bool:
    """Whether `--quiet` is on."""
    return _QUIET


def mode() -> str:
    """"quiet", "bars" (stderr is a terminal) or "lines" (stderr is a pipe or a file)."""
    if _QUIET:
        return "quiet"
    isatty = getattr(sys.stderr, "isatty", None)
    return "bars" if isatty is not None and isatty() else "lines"


def say(text: str) -> None:
    """A progress message (an epoch's loss, "resuming ..."), on stdout; nothing when quiet."""
    if not _QUIET:
        print(text, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class LineProgress:
    """tqdm's interface (iterate, update, set_postfix, set_description, close, n) without a bar:
    it counts, and when closed prints one summary line to stderr if `summary`."""

    def __init__(self, iterable: Iterable | None, desc: str, total: int | None, initial: int, summary: bool):
        self.iterable, self.desc, self.n, self.summary = iterable, desc, initial, summary
        sized = total is None and hasattr(iterable, "__len__")
        self.total = len(iterable) if sized else total  # type: ignore[arg-type]
        self.postfix: dict[str, Any] = {}
        self.closed = False
        self._t0 = time.perf_counter()

    def __iter__(self) -> Iterator:
        for item in () if self.iterable is None else self.iterable:
            yield item
            self.n += 1
        self.close()

    def __len__(self) -> int:
        return self.total or 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **values: Any) -> None:
        self.postfix = values

    def set_description(self, desc: str) -> None:
        """Ignored: the summary line names the phase the bar was made for."""

    def line(self) -> str:
        """The summary line: "DESC: N/TOTAL, KEY VALUE (SECONDS)"."""
        done = f"{self.n}/{self.total}" if self.total is not None else str(self.n)
        post = "".join(f", {k} {v}" for k, v in self.postfix.items())
        return f"{self.desc or 'done'}: {done}{post} ({_duration(time.perf_counter() - self._t0)})"

    def close(self) -> None:
        if not self.closed and self.summary and not _QUIET:
            print(self.line(), file=sys.stderr, flush=True)
        self.closed = True


def bar(iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, initial: int = 0,
        leave: bool = True, disable: bool = False, summary: bool = True) -> tqdm | LineProgress:
    """A progress bar over `iterable` (or one advanced by update()): tqdm on a terminal, else a
    LineProgress that prints one summary line when it closes (`summary=False`: the caller
    prints its own line); `disable` or --quiet: nothing shown."""
    shown = "quiet" if disable else mode()
    if shown == "bars":
        return tqdm(iterable, desc=desc, total=total, initial=initial, leave=leave)
    return LineProgress(iterable, desc, total, initial, summary and shown == "lines")


def close_all() -> None:
    """Close the tqdm bars an error left open, so its sentence starts a line of its own."""
    for b in list(getattr(tqdm, "_instances", ())):
        b.leave = False  # clear the line instead of leaving a half bar above the sentence
        b.close()
