"""The memory guard of bit-true runs: refuse what cannot fit, batch what can, same bits."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

from sc_accel.nn import SCConfig, convert, emulate
from sc_accel.nn.emulate import variance_factor
from sc_accel.graph import trace
from sc_accel.nn.memory import MemoryLimitError, bit_memory, fit_batch
from sc_accel.nn.plan import make_plan, node_stats


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 5)).eval()


def _plan(cfg: SCConfig, x: torch.Tensor):
    graph = trace(_net(), x[:2].float())
    return graph, make_plan(graph, cfg, node_stats(graph, x.double(), cfg.calib_percentile))


def test_memory_grows_with_length_and_matches_a_hand_count():
    x = torch.rand(8, 1, 8, 8)
    sizes = {}
    for L in (64, 1024):
        graph, plan = _plan(SCConfig(stream_length=L), x)
        sizes[L] = bit_memory(graph, plan, SCConfig(stream_length=L))
    fixed64, per64 = sizes[64]
    assert sizes[1024][0] > 10 * fixed64 and sizes[1024][1] == 16 * per64
    # weights: 36 + 320 taps, one word each, twice; per image: streams of every conversion twice
    graph, plan = _plan(SCConfig(stream_length=64), x)
    elems = sum(int(np.prod(c.shape)) * (2 if c.signed else 1) for c in plan.conversions.values())
    assert per64 == elems * 8 * 2 and fixed64 > (36 + 320) * 8 * 2


def test_fit_batch_refuses_with_the_figures_and_shrinks_batches():
    x = torch.rand(8, 1, 8, 8)
    cfg = SCConfig(stream_length=1 << 16, batch_size=250)
    graph, plan = _plan(cfg, x)
    fixed, per_image = bit_memory(graph, plan, cfg)
    with pytest.raises(MemoryLimitError, match=r"at L=65536 needs about .* usable here; use a shorter stream"):
        fit_batch(graph, plan, cfg, available=int((fixed + per_image) / 0.6) - 1)
    assert fit_batch(graph, plan, cfg, available=int((fixed + 10 * per_image) / 0.6) + 1) == 10
    assert fit_batch(graph, plan, cfg, available=1 << 50) == 250


def test_smaller_batches_give_the_same_bits(monkeypatch):
    x = torch.rand(12, 1, 8, 8)
    cfg = SCConfig(stream_length=256, batch_size=12)
    whole = emulate(_net(), x, cfg)
    em = sys.modules["sc_accel.nn.emulate"]  # the module (the package attribute is the function)
    monkeypatch.setattr(em, "fit_batch", lambda g, p, c: 5)
    model = convert(_net(), cfg, x)
    assert model.config.batch_size == 5
    assert torch.equal(model(x), whole)


def test_absurd_lengths_are_refused_before_allocating():
    x = torch.rand(4, 1, 8, 8)
    with pytest.raises(MemoryLimitError, match="L=1000000000 needs about"):
        emulate(_net(), x, SCConfig(stream_length=10**9))
    with pytest.raises(MemoryLimitError, match="stream variance at L=1000000000"):
        variance_factor(SCConfig(stream_length=10**9, mode="expected"))


def _reuse_in_fresh_process(env: dict) -> str:
    code = ("from sc_accel.nn.memory import reuse_freed_memory as r; a = r(); b = r(); print(a, b)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_reuse_freed_memory_applies_once_on_glibc_and_can_be_turned_off():
    """mallopt is process-wide: checked in fresh processes. On glibc (CI's Debian) it applies,
    a second call answers the same without calling it again; SC_ACCEL_MALLOC=default opts out."""
    import ctypes.util
    env = {k: v for k, v in os.environ.items() if k != "SC_ACCEL_MALLOC"}
    glibc = "libc.so" in (ctypes.util.find_library("c") or "")
    assert _reuse_in_fresh_process(env) == ("True True" if glibc else "False False")
    assert _reuse_in_fresh_process({**env, "SC_ACCEL_MALLOC": "default"}) == "False False"
