"""Run directories that survive kills and concurrent use.

Every file a run keeps is written atomically (temporary file in the same directory, fsync,
rename), so a kill leaves the old file or the new one, never half of one. A command takes an
exclusive lock on its run directory for as long as it writes there, and refuses a directory
that another command made (config.toml names it), so two runs never interleave and an emulate
run never overwrites a train run's results.
"""

from __future__ import annotations

import contextlib
import fcntl
import tomllib
from collections.abc import Iterator
from pathlib import Path

from sc_accel.errors import InvalidInputError, check_out_dir
from sc_accel.fileio import atomic_torch_save, atomic_write_bytes, writable_dir

__all__ = ["RunDirError", "atomic_write_bytes", "atomic_torch_save", "claim_run_dir", "check_run_dir"]


_FIX = "give a directory for the run"


class RunDirError(InvalidInputError):
    """The run directory cannot be used: not a directory, not writable, another command's, busy."""


def _owner(out: Path) -> str | None:
    """The command recorded in out/config.toml, or None for a new or foreign directory."""
    cfg = out / "config.toml"
    if not cfg.is_file():
        return None
    try:
        command = tomllib.loads(cfg.read_text(errors="replace")).get("command")
    except (tomllib.TOMLDecodeError, RecursionError, OSError):
        return None
    return command if isinstance(command, str) else None


def _holds_files(out: Path) -> bool:
    """Whether `out` holds anything besides a lock file and the temporary files of an atomic write
    that a kill interrupted (`.NAME.XXXX.tmp`)."""
    return any(e.name != ".lock" and not (e.name.startswith(".") and e.name.endswith(".tmp")) for e in out.iterdir())


def _nonempty(out: str | Path, flag: str) -> Path:
    if not str(out).strip():  # Path("") would quietly be the current directory
        raise RunDirError(f"{flag} is empty; {_FIX}.")
    return Path(out)


def _check_owner(out: Path, command: str, flag: str) -> str | None:
    """The command that made `out` (None: no readable config.toml); another command's is refused."""
    owner = _owner(out)
    if owner not in (None, command):
        raise RunDirError(f"{out} is a run directory of `scnas {owner}`; give `scnas {command}` "
                          f"another {flag} so that run is not overwritten.")
    return owner


def _foreign(out: Path, command: str, flag: str) -> RunDirError:
    return RunDirError(f"{out} holds files but no readable scnas config.toml, so it is not a run directory; "
                       f"give `scnas {command}` an empty or new {flag} so those files are kept.")


def check_run_dir(out: str | Path, command: str, flag: str = "--out") -> None:
    """The refusals of claim_run_dir, made without creating or locking anything, so a command can
    say them before long work that comes first (training a zoo teacher)."""
    out = _nonempty(out, flag)
    check_out_dir(out, flag, RunDirError, _FIX)
    if out.is_dir() and _check_owner(out, command, flag) is None and _holds_files(out):
        raise _foreign(out, command, flag)


@contextlib.contextmanager
def claim_run_dir(out: str | Path, command: str, flag: str = "--out", foreign_ok: bool = False) -> Iterator[Path]:
    """Use `out` as the run directory of `command`: create it, refuse another command's
    directory, and hold an exclusive lock while the block runs (a second run on the same
    directory stops at once with a sentence instead of interleaving its writes). A directory
    that holds files but no readable config.toml is a user's, not a run's, and is refused
    unless `foreign_ok` (the caller vets it itself). `flag` names the option in the sentences."""
    out = _nonempty(out, flag)
    writable_dir(out, "run directory", flag, RunDirError, _FIX)
    _check_owner(out, command, flag)
    had_lock = (out / ".lock").exists()
    lock = open(out / ".lock", "a+")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(f"another scnas command is writing to {out}; wait for it to finish or give "
                              f"another {flag}.") from None
        if not foreign_ok and _owner(out) is None and _holds_files(out):  # under the lock: no run is mid-write
            if not had_lock:
                (out / ".lock").unlink(missing_ok=True)
            raise _foreign(out, command, flag)
        yield out
    finally:
        lock.close()  # closing releases the lock
