"""Run independent search tasks in this process, a local process pool, or on a Ray cluster.

A task is a picklable top-level function and a plain-data argument; its result must depend
only on that argument (every task seeds itself and runs torch on one thread), so the three
backends give identical results. Ray is an optional extra (`pip install .[distributed]`).
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from sc_accel.errors import InvalidInputError

__all__ = ["run_tasks", "check_ray", "RayUnavailableError"]


class RayUnavailableError(InvalidInputError):
    """--ray was given but Ray is not installed or the cluster cannot be reached."""


def run_tasks(fn: Callable[[dict], dict], tasks: list[dict], workers: int = 1, ray: str | None = None,
              on_done: Callable[[int, dict], None] | None = None) -> list[dict]:
    """fn(task) for every task, results in task order. `on_done(i, result)` is called as each
    finishes (the caller checkpoints there). workers <= 1: in this process; otherwise a pool
    of that many processes; `ray` ("local" or a cluster address): Ray tasks."""
    done = on_done or (lambda i, r: None)
    out: list[dict | None] = [None] * len(tasks)
    if ray is not None:
        return _run_ray(fn, tasks, ray, done)
    if workers <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            out[i] = fn(t)
            done(i, out[i])
        return out  # type: ignore[return-value]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx,
                             initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        futs = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for f in as_completed(futs):
            i = futs[f]
            out[i] = f.result()
            done(i, out[i])
    return out  # type: ignore[return-value]


def _die_with_parent(parent: int) -> None:
    """Pool worker set-up: end when the parent process dies (a kill -9 of the command would
    otherwise leave its workers waiting for tasks forever). Linux's PR_SET_PDEATHSIG where
    there is one; a worker whose parent is already gone ends at once."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the check below still catches a parent gone early
        pass
    if os.getppid() != parent:
        os._exit(1)


def check_ray(address: str) -> None:
    """Refuse, before any work, a `--ray` value that cannot run tasks: Ray missing, or an
    address that is not 'local' or a reachable HOST:PORT."""
    if importlib.util.find_spec("ray") is None:
        raise RayUnavailableError("--ray needs Ray, an optional extra: pip install '.[distributed]' "
                                  "(or leave --ray out to use a local process pool).")
    _check_reachable(address)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse at once an address whose host:port does not accept a connection (ray.init would
    retry for minutes). "local" and "auto" are left to Ray."""
    if address in ("local", "auto"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailableError(f"--ray {address!r} is not 'local' or a HOST:PORT address.")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise RayUnavailableError(f"cannot reach the Ray cluster at {address!r} ({e.strerror or e}); give a "
                                  "reachable address or --ray local.") from None


def _run_ray(fn: Callable[[dict], dict], tasks: list[dict], address: str,
             done: Callable[[int, dict], None]) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise RayUnavailableError("--ray needs Ray, an optional extra: pip install '.[distributed]' "
                                  "(or leave --ray out to use a local process pool).") from None
    _check_reachable(address)
    try:
        if not ray.is_initialized():
            ray.init(address=None if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise RayUnavailableError(f"cannot reach the Ray cluster at {address!r} ({e}); give a reachable "
                                  "address or --ray local.") from None
    remote = ray.remote(num_cpus=1)(fn)
    refs = {remote.remote(t): i for i, t in enumerate(tasks)}
    out: list[dict | None] = [None] * len(tasks)
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for r in ready:
            i = refs[r]
            out[i] = ray.get(r)
            done(i, out[i])
    return out  # type: ignore[return-value]
