"""Errors a user can cause. The `scnas` CLI prints their message and exits 2.

Every class subclasses both `UserError` (so the CLI can tell them from bugs) and
the builtin a caller would expect (`ValueError`, `FileNotFoundError`).
"""

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["UserError", "InvalidInputError", "DataFileError", "NonFiniteError", "check_known", "is_int",
           "check_finite_loss", "checked_step", "check_finite_data", "check_training_data", "check_out_dir",
           "MAX_CLASSES", "brief", "check_count", "MAX_EPOCHS", "MAX_TRAIN_BATCH"]

MAX_EPOCHS = 10_000  # epochs (and steps per phase) of one run; more would run for months on any machine
MAX_TRAIN_BATCH = 65_536  # images per training batch
MAX_CLASSES = 100_000  # labels index a classifier's outputs; more would mean a label is not a class index


class UserError(Exception):
    """Marker base: the message is one sentence that says what to do."""


class InvalidInputError(UserError, ValueError):
    """A value, shape, option or configuration the user gave is not usable."""


class DataFileError(UserError, FileNotFoundError):
    """A data file is missing or corrupt; the message names the path and the fix."""


def brief(e: BaseException, limit: int = 80) -> str:
    """An exception as `Type: first line`, cut at a word boundary within `limit` characters, for a
    parenthesis inside a one-sentence error (library messages can be long and multi-line)."""
    lines = str(e).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0]
        text = (cut if len(cut) > limit // 2 else text[:limit]).rstrip(" ,;:(") + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class NonFiniteError(InvalidInputError):
    """Training met a NaN or infinite loss, or data holding NaN or inf: nothing more can be learnt."""


def check_finite_loss(loss: float, where: str) -> None:
    """Stop training at the first non-finite loss, naming the likely causes, so that no NaN
    weights are saved or scored (call it before the optimiser step)."""
    if not np.isfinite(loss):
        raise NonFiniteError(f"the loss became {loss} in {where}; the learning rate is likely too high or the "
                             "training data holds NaN or inf values, so lower the learning rate or clean the data.")


def checked_step(opt: Any, loss: Any, where: str) -> float:
    """One optimiser step on `loss` (zero_grad, backward, step), refused before it is taken when
    the loss is not finite (check_finite_loss); returns the loss value. Every training loop of
    the suite steps through here."""
    value = loss.item()
    check_finite_loss(value, where)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return value


def check_finite_data(x: object, what: str) -> None:
    """Refuse data holding NaN or inf before training on it (one bad pixel makes every weight NaN)."""
    arr = np.asarray(x)
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise NonFiniteError(f"{what} hold {bad} NaN or infinite value{'s' if bad > 1 else ''}; clean the data "
                             "before training on it.")


def check_training_data(x: object, y: object, what: str = "data", min_images: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, C, H, W) as float32, labels (N,) as int64) from user data, or one sentence on
    what is wrong: shapes, non-numeric or non-finite images, labels that are not whole numbers
    from 0 to MAX_CLASSES - 1 (one huge label would size a classifier head of that many outputs)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    xa, ya = np.asarray(x), np.asarray(y)
    if xa.ndim != 4 or ya.ndim != 1 or len(xa) != len(ya) or len(xa) < min_images:
        raise InvalidInputError(f"{what} must be images (N, C, H, W) and labels (N,) with N >= {min_images}; got "
                                f"shapes {xa.shape} and {ya.shape}.")
    if xa.dtype.kind not in "biuf" or ya.dtype.kind not in "iuf":
        raise InvalidInputError(f"{what} must hold numbers (images {xa.dtype}, labels {ya.dtype}); give float "
                                "images and integer labels.")
    check_finite_data(xa, f"the images of {what}")
    if ya.dtype.kind == "f" and not (np.isfinite(ya).all() and (ya == np.round(ya)).all()):
        raise InvalidInputError(f"the labels of {what} include values that are not whole numbers; give integer "
                                "class indices.")
    if len(ya) and (ya.min() < 0 or ya.max() >= MAX_CLASSES):
        raise InvalidInputError(f"the labels of {what} run from {ya.min():g} to {ya.max():g}; class indices must be "
                                f"from 0 to {MAX_CLASSES - 1}.")
    return xa.astype(np.float32, copy=False), ya.astype(np.int64)


def check_out_dir(out: object, what: str = "out", error: type[UserError] = InvalidInputError,
                  fix: str = "give a directory") -> None:
    """Refuse an output path that is a file or lies under one, before any work is done."""
    from pathlib import Path

    p = Path(str(out))
    for parent in [p, *p.parents]:
        if parent.exists():
            if not parent.is_dir():
                where = "is a file" if parent == p else f"is under the file {parent}"
                raise error(f"{what} {p} {where}; {fix}.")
            return


def check_count(name: str, value: object, low: int, high: int, why: str = "",
                error: type[UserError] = InvalidInputError) -> None:
    """Refuse (as `error`) a value that is not an integer from `low` to `high`: epochs, batch
    sizes, budgets, seeds. `name` is how the caller knows it ("epochs=" in the API, "--budget "
    on the command line); `why` says where `high` comes from."""
    if not is_int(value) or not low <= value <= high:
        raise error(f"{name}{value!r} must be an integer from {low:,} to {high:,}{f' ({why})' if why else ''}.")


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
