"""The search tasks give the same results inline, in a process pool and on a local Ray."""

from __future__ import annotations

import pytest

from sc_accel.dse import PLATFORMS, AssignTask, assign_job
from sc_accel.runner import run_tasks
from sc_accel.runner import RayUnavailableError
from sc_accel.hw import presets
from sc_accel.hw.workload import workload
from scnas.zoo import create_model


def _tasks(budget: int = 120) -> list[AssignTask]:
    layers = tuple(workload(create_model("lenet5", 1, 10, 28), (1, 1, 28, 28)))
    return [AssignTask("lenet5", layers, presets()["spatial-16x16-kcp"], PLATFORMS[p], "latency", "sequential",
                       budget, s) for p, s in (("edge", 0), ("cloud", 1), ("edge", 2))]


@pytest.fixture(scope="module")
def inline():
    return run_tasks(assign_job, _tasks(), workers=1)


def test_inline_results_are_in_task_order_and_report_progress(inline):
    seen = []
    out = run_tasks(assign_job, _tasks(), workers=1, on_done=lambda i, r: seen.append(i))
    assert out == inline and seen == [0, 1, 2]
    assert [r["platform"] for r in out] == ["edge", "cloud", "edge"]
    assert out[0] != out[2]  # another seed, another search


def test_process_pool_equals_inline(inline):
    seen = []
    out = run_tasks(assign_job, _tasks(), workers=2, on_done=lambda i, r: seen.append(i))
    assert out == inline
    assert sorted(seen) == [0, 1, 2]


def test_local_ray_equals_inline(inline):
    import ray

    try:
        out = run_tasks(assign_job, _tasks(), ray="local")
    finally:
        ray.shutdown()
    assert out == inline


def test_unreachable_ray_cluster_is_one_sentence():
    import ray

    try:
        with pytest.raises(RayUnavailableError, match="cannot reach the Ray cluster"):
            run_tasks(assign_job, _tasks(2)[:1], ray="127.0.0.1:1")
    finally:
        ray.shutdown()
