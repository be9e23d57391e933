"""Atomic file writes, shared by every package that keeps files a kill must not corrupt
(scnas run directories, recast checkpoints): temporary file in the same directory, fsync,
rename, so a reader or a crash sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tempfile
import warnings
from pathlib import Path

from sc_accel.errors import DataFileError, InvalidInputError, UserError, brief, check_out_dir

__all__ = ["UnsafeFileError", "DamagedFileError", "atomic_write_bytes", "atomic_torch_save", "load_tensors", "file_mode",
           "writable_dir"]


class UnsafeFileError(DataFileError):
    """A model or checkpoint file holds objects that only full unpickling (running code) could load."""


class DamagedFileError(DataFileError):
    """A model or checkpoint file that cannot be read; `why` is the reason alone, for callers
    that phrase the sentence their own way."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why

    def __reduce__(self) -> tuple:  # whole across processes (a pool or Ray task reading a checkpoint)
        return type(self), (str(self), self.why)


def file_mode() -> int:
    """The mode a new file gets under the process umask (0o666 & ~umask), as open() would give it.
    Read from /proc where it can be (setting the umask to read it is not thread-safe)."""
    try:
        with open("/proc/self/status") as f:
            mask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def writable_dir(path: Path, what: str, name: str, error: type[UserError] = InvalidInputError,
                 fix: str = "give a directory") -> None:
    """Create directory `path` (the option `name` gave it) or raise `error` in one sentence: it is
    a file or lies under one, or cannot be written (probed with a private temporary file, so
    concurrent callers cannot race on it). `what` names it in the sentence ("run directory")."""
    check_out_dir(path, name, error, fix)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise error(f"cannot write to {what} {path} ({e.strerror}); choose another {name}.") from None


def atomic_write_bytes(path: str | Path, data: bytes, exclusive: bool = False) -> None:
    """Replace `path` with `data` so that readers and a crash see the old or the new file only.
    `exclusive`: create `path` only if nothing is there, else FileExistsError (even when another
    writer gets there between a check and the write: the file is linked in, never renamed over)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())  # mkstemp makes 0600; a run's files follow the umask like any other
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def atomic_torch_save(obj: object, path: str | Path) -> None:
    """torch.save, atomically (a checkpoint is whole or absent, never 0 bytes)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_tensors(path: str | Path, what: str = "file", damaged_hint: str = "delete it or give another file") -> object:
    """The content of a torch file, read with `weights_only=True`: tensors and plain data only, so
    loading a crafted file never runs its code. A file that needs more (an old checkpoint with
    pickled objects, or a crafted one) raises UnsafeFileError without running anything; a damaged
    one raises DamagedFileError naming `what` and the fix `damaged_hint`."""
    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing them
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():  # it names a class or function to import and call: code, not data
            raise UnsafeFileError(
                f"{what} {path} holds Python objects beyond tensors and plain data, which loading would have to "
                f"run as code, so it was not loaded; if they are only numpy arrays, numbers, paths or sets, "
                f"`scnas convert-checkpoint {path} NEW.pt` makes a copy scnas loads (use NEW.pt, or move it over "
                f"the original to resume a run), otherwise retrain it.") from None
        raise _damaged(what, path, damaged_hint, "it is not in the tensors-and-plain-data form scnas loads") from None
    except Exception as e:  # noqa: BLE001 (torch raises zip, EOF, runtime and key errors for a damaged file)
        raise _damaged(what, path, damaged_hint, brief(e)) from None


def _damaged(what: str, path: str | Path, hint: str, why: str) -> DamagedFileError:
    return DamagedFileError(f"{what} {path} is damaged or not a file scnas wrote ({why}); {hint}.", why)
