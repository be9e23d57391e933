"""Errors a user can cause. The `scnas` CLI prints their message and exits 2.

Every class subclasses both `UserError` (so the CLI can tell them from bugs) and
the builtin a caller would expect (`ValueError`, `FileNotFoundError`).
"""

from collections.abc import Iterable

import numpy as np

__all__ = ["UserError", "InvalidInputError", "DataFileError", "check_known", "is_int"]


class UserError(Exception):
    """Marker base: the message is one sentence that says what to do."""


class InvalidInputError(UserError, ValueError):
    """A value, shape, option or configuration the user gave is not usable."""


class DataFileError(UserError, FileNotFoundError):
    """A data file is missing or corrupt; the message names the path and the fix."""


def check_known(given: Iterable[str], known: Iterable[str], what: str,
                error: type[UserError] = InvalidInputError, hint: str | None = None) -> None:
    """Raise `error` naming the keys of `given` outside `known` (config dicts, keyword sets)."""
    known = set(known)
    bad = sorted(set(given) - known)
    if bad:
        raise error(f"unknown {what} {', '.join(bad)}; {hint or 'known: ' + ', '.join(sorted(known))}.")


def is_int(value: object) -> bool:
    """An integer argument: a Python or numpy integer, not a bool (True is an int in Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
