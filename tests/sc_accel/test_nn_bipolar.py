"""Bipolar encoding: XNOR multipliers on streams of (v + 1) / 2, against its expected value."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from sc_accel.bits import stream_counts
from sc_accel.nn import SCConfig, convert, emulate, fixed_point
from sc_accel.nn.backends import bipolar_levels
from sc_accel.nn.ops import moment_op
from sc_accel.nn.run import run_graph
from sc_accel.streams import encode

BIP = SCConfig(stream_length=256, sng="bernoulli", encoding="bipolar")


def _linear(weights: np.ndarray) -> nn.Module:
    m = nn.Linear(weights.shape[1], weights.shape[0], bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.as_tensor(weights))
    return m.eval()


def test_xnor_popcount_identity(rng):
    a = encode(rng.random(50), 300, "bernoulli", seed=1)
    b = encode(rng.random(50), 300, "bernoulli", seed=2)
    xnor = 300 - stream_counts(a ^ b, 300)
    assert np.array_equal(xnor, 300 - stream_counts(a, 300) - stream_counts(b, 300) + 2 * stream_counts(a & b, 300))


def test_one_layer_counts_match_the_xnor_expectation_within_the_bernoulli_bound(rng):
    L, w = 1024, 10
    weights = rng.uniform(-1, 1, (16, 24))
    x = torch.as_tensor(rng.uniform(-1, 1, (8, 24)))  # signed: one bipolar stream each, no x+/x- split
    cfg = BIP.replace(stream_length=L, seed=7)
    sc = convert(_linear(weights), cfg, x)
    mp = next(iter(sc.plan.macs.values()))
    s = sc.plan.conversions[mp.conversion].scale
    assert sc.plan.conversions[mp.conversion].signed
    y = sc(x).numpy() / (s * mp.w_scale)                          # (2 C - K L) / L
    px = bipolar_levels(x.numpy() / s, w) / 2 ** w               # P(1) of each input stream
    pw = bipolar_levels(weights / mp.w_scale, w) / 2 ** w
    p = px[:, None, :] * pw[None] + (1 - px[:, None, :]) * (1 - pw[None])   # XNOR probabilities
    expected = (2 * L * p - L).sum(-1) / L
    sd = 2 * np.sqrt((L * p * (1 - p)).sum(-1)) / L
    z = (y - expected) / sd
    assert np.abs(z).max() <= 5.0
    assert 0.5 <= (z ** 2).mean() <= 1.5  # 128 outputs: Bernoulli-sized errors, not smaller


def test_padded_conv_skips_padded_taps_and_matches_the_twin_in_mean():
    """Mean of 40 Bernoulli seeds equals the bipolar fixed-point twin within 4 standard errors;
    counting padded taps as streams would bias every border output by -w per tap."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3, padding=1)).eval()
    x = torch.rand(3, 2, 6, 6, dtype=torch.float64)
    runs = np.stack([emulate(model, x, BIP.replace(seed=s)).numpy() for s in range(40)])
    exp = convert(model, BIP.replace(mode="expected"), x)
    m = exp.forward_batch(x).numpy()
    mean, sd = runs.mean(0), runs.std(0, ddof=1)
    assert np.all(np.abs(mean - m) <= 4 * sd / np.sqrt(40) + 1e-9)


def test_expected_variance_matches_bit_mode(rng):
    weights = rng.uniform(-1, 1, (10, 30))
    x = torch.as_tensor(rng.uniform(0, 1, (4, 30)))
    runs = np.stack([emulate(_linear(weights), x, BIP.replace(seed=s)).numpy() for s in range(60)])
    sc = convert(_linear(weights), BIP.replace(mode="expected"), x)
    _, var = run_graph(sc.graph, (x, torch.zeros_like(x)), sc.backend, other=moment_op)
    ratio = runs.var(0, ddof=1).mean() / var.numpy().mean()
    assert 0.85 <= ratio <= 1.15  # 40 outputs x 59 degrees of freedom: 1 within about 3 x 0.03


def test_bipolar_is_noisier_than_unipolar_near_zero(rng):
    """Per product, var = (1 - x^2 w^2) / L bipolar against (|xw| - x^2 w^2) / L unipolar: for
    small values bipolar is much noisier, the thesis's reason to choose unipolar."""
    weights = rng.uniform(-0.2, 0.2, (10, 30))
    x = torch.as_tensor(rng.uniform(0, 0.2, (4, 30)))
    var = {}
    for enc in ("unipolar", "bipolar"):
        sc = convert(_linear(weights), SCConfig(stream_length=256, mode="expected", encoding=enc), x)
        var[enc] = run_graph(sc.graph, (x, torch.zeros_like(x)), sc.backend, other=moment_op)[1].mean().item()
    assert var["bipolar"] > 5 * var["unipolar"]


@pytest.mark.parametrize("sng", ["lfsr", "sobol"])
def test_bipolar_network_converges_to_its_twin_with_length(sng):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5)).eval()
    x = torch.rand(16, 1, 8, 8)
    ref = fixed_point(model, x, 12, encoding="bipolar")(x)
    e = {}
    for L in (64, 4096):
        y = emulate(model, x, SCConfig(stream_length=L, sng=sng, encoding="bipolar"))
        e[L] = float(((y - ref) ** 2).sum() / (ref ** 2).sum()) ** 0.5
    # 64x the length: errors fall ~8x (1/sqrt(L)) for LFSR, faster for Sobol; half that is required
    assert e[4096] < e[64] / 4, e


@pytest.mark.parametrize("encoding", ["unipolar", "bipolar"])
def test_wide_layers_at_long_streams_keep_exact_counts(rng, encoding, monkeypatch):
    """Fan-in 12,000 at L = 4096: the correction sums (~2.2e7 and more) pass 2^24, so they must
    not round; the result equals the all-float64 computation exactly."""
    import sc_accel.nn.backends as backends

    weights = rng.uniform(-1, 1, (3, 12000))
    x = torch.as_tensor(rng.uniform(0.8, 1, (2, 12000)))
    cfg = SCConfig(stream_length=4096, sng="bernoulli", encoding=encoding, seed=1)
    got = convert(_linear(weights), cfg, x)(x)
    monkeypatch.setattr(backends, "FLOAT32_EXACT", 0)  # float64 everywhere
    assert torch.equal(got, convert(_linear(weights), cfg, x)(x))
