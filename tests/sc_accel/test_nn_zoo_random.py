"""The converter on every zoo model and on random small nets: SC outputs approach float as L grows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sc_accel.nn import SCConfig, emulate, fixed_point, trace
from sc_accel.nn.run import float_forward
from scnas.zoo import IMAGENET_SHAPED, MODELS, create_model


def _with_bn_stats(model: nn.Module, x: torch.Tensor) -> nn.Module:
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


def _rel_err(y: torch.Tensor, ref: torch.Tensor) -> float:
    return float((y - ref).norm() / ref.norm())


@pytest.mark.parametrize("name", sorted(set(MODELS) - set(IMAGENET_SHAPED)))  # shape-only workloads
def test_every_zoo_model_converts_and_approaches_float(name):
    torch.manual_seed(0)
    model = _with_bn_stats(create_model(name, 3, 10, 12), torch.rand(32, 3, 12, 12))
    x = torch.rand(4, 3, 12, 12)
    with torch.no_grad():
        ref = model(x).double()
    assert torch.allclose(float_forward(trace(model, x), x), ref, atol=1e-6)  # BN folding is exact
    cfg = SCConfig(sng="sobol", batch_size=4)
    err = {L: _rel_err(emulate(model, x, cfg.replace(stream_length=L)), ref) for L in (32, 512)}
    assert err[512] < err[32] / 2 and err[512] < 0.1


@st.composite
def net_specs(draw):
    """Plain-data description of a random small net (built inside the test, after seeding)."""
    c0 = c = draw(st.integers(1, 3))
    size, spec = 8, []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["conv", "res", "cat", "maxpool", "avgpool"]))
        if kind.endswith("pool"):
            if size >= 4:
                spec.append((kind, c, c, 2))
                size //= 2
            continue
        out, k = draw(st.integers(1, 4)), draw(st.sampled_from([1, 3]))
        out = c if kind == "res" else out
        spec.append((kind, c, out, k))
        c = c + out if kind == "cat" else out
    return c0, spec, c * size * size, draw(st.integers(2, 5)), draw(st.integers(0, 2 ** 16))


def build_net(spec: list, n_flat: int, n_out: int) -> nn.Module:
    """The nn.Sequential a net_specs() description stands for."""
    layers: list[nn.Module] = []
    for kind, c, out, k in spec:
        if kind == "maxpool":
            layers.append(nn.MaxPool2d(k))
        elif kind == "avgpool":
            layers.append(nn.AvgPool2d(k))
        elif kind == "res":
            layers.append(_Res(c, k))
        elif kind == "cat":
            layers.append(_Cat(c, out, k))
        else:
            layers += [nn.Conv2d(c, out, k, padding=k // 2), nn.BatchNorm2d(out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(n_flat, n_out))


class _Res(nn.Module):
    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, k, padding=k // 2)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)) + x)


class _Cat(nn.Module):
    def __init__(self, c: int, out: int, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, out, k, padding=k // 2)

    def forward(self, x):
        return torch.cat([x, torch.relu(self.conv(x))], 1)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
          database=None)
@given(net_specs())
def test_random_nets_error_falls_like_one_over_sqrt_length(desc):
    cin, spec, n_flat, n_out, seed = desc
    torch.manual_seed(seed)
    net = _with_bn_stats(build_net(spec, n_flat, n_out), torch.rand(64, cin, 8, 8))
    x = torch.rand(24, cin, 8, 8)
    with torch.no_grad():
        ref = net(x).double()
    # Stochastic error: against the fixed-point twin at the same comparator width (which
    # carries the quantisation error); total error: against the float model.
    twin = {L: fixed_point(net, x, int(np.log2(L)))(x) for L in (64, 1024)}
    noise, total = {}, {}
    for sng, seeds in (("bernoulli", 8), ("sobol", 1)):
        y = {L: [emulate(net, x, SCConfig(sng=sng, seed=seed + k, stream_length=L)) for k in range(seeds)]
             for L in (64, 1024)}
        noise[sng] = {L: float(np.sqrt(np.mean([_rel_err(v, twin[L]) ** 2 for v in y[L]]))) for L in y}
        total[sng] = {L: _rel_err(y[L][0], ref) for L in y}
    assume(noise["bernoulli"][1024] > 0)  # all-zero activations: nothing stochastic left
    # Bernoulli: RMS error ~ 1/sqrt(L), a 4x drop from 64 to 1024 bits. When ReLUs leave only
    # a few active units, all outputs share those few noise terms, so the mean square is taken
    # over 8 seeds: with k >= 2 active units each mean square is a chi-square with >= 16
    # degrees of freedom, the ratio of the two RMS values is 4 sqrt(F(16, 16)), and its 0.1%
    # quantile is 1.75. (Hypothesis is derandomized: the same nets on every run.)
    assert noise["bernoulli"][64] / noise["bernoulli"][1024] > 1.75, noise
    # Low-discrepancy streams: error ~ 1/L per product, so they beat Bernoulli at 1024 bits.
    assert noise["sobol"][1024] < noise["bernoulli"][1024], noise
    for sng in total:
        assert total[sng][1024] < total[sng][64], total
