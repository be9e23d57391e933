"""Atomic file writes, shared by every package that keeps files a kill must not corrupt
(scnas run directories, recast checkpoints): temporary file in the same directory, fsync,
rename, so a reader or a crash sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_torch_save"]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers and a crash see the old or the new file only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
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
