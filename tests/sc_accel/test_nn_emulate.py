"""SC emulation of torch models: statistics of one layer, convergence with L, modes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from sc_accel.errors import InvalidInputError
from sc_accel.nn import SCConfig, UnsupportedOpError, convert, emulate, fixed_point, trace
from sc_accel.nn.backends import levels
from sc_accel.nn.run import float_forward
from tests.conftest import numba_threads


def _linear(weights: np.ndarray) -> nn.Module:
    m = nn.Linear(weights.shape[1], weights.shape[0], bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.as_tensor(weights))
    return m.eval()


def _counts(model, x, cfg):
    """Counter values C+ - C- of a one-layer net: logits * L / (s * s_w)."""
    sc = convert(model, cfg, x)
    mp = next(iter(sc.plan.macs.values()))
    s = sc.plan.conversions[mp.conversion].scale
    return sc(x).numpy() * cfg.stream_length / (s * mp.w_scale), s, mp.w_scale


def test_one_layer_counts_match_the_expected_count_within_the_bernoulli_bound(rng):
    L, w = 1024, 10
    weights = rng.uniform(-1, 1, (16, 24))
    x = torch.as_tensor(rng.uniform(0, 1, (8, 24)))
    cfg = SCConfig(stream_length=L, sng="bernoulli", seed=7)
    counts, s, s_w = _counts(_linear(weights), x, cfg)
    px = levels(x.numpy() / s, w) / 2 ** w                      # (8, 24)
    pw = levels(np.abs(weights) / s_w, w) / 2 ** w              # (16, 24)
    p = px[:, None, :] * pw[None, :, :]                          # AND-gate probabilities
    expected = L * (p * np.sign(weights)[None]).sum(-1)
    sd = np.sqrt((L * p * (1 - p)).sum(-1))
    z = (counts - expected) / sd
    assert np.abs(z).max() <= 5.0
    # and the errors are Bernoulli-sized, not smaller: mean z^2 of 128 outputs is 1 +- 0.125 * 4
    assert 0.5 <= (z ** 2).mean() <= 1.5


def test_expected_mode_equals_the_mean_of_bit_mode_over_seeds(rng):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 12), nn.ReLU(), nn.Linear(12, 5)).eval()
    x = torch.rand(6, 20, dtype=torch.float64)
    base = SCConfig(stream_length=128, sng="bernoulli")
    runs = np.stack([emulate(model, x, base.replace(seed=s)).numpy() for s in range(40)])
    exp = convert(model, base.replace(mode="expected"), x)
    m, v = exp.forward_batch(x), None
    mean, sd = runs.mean(0), runs.std(0, ddof=1)
    # the mean of 40 seeds lies within 4 standard errors of the analytic mean
    assert np.all(np.abs(mean - m.numpy()) <= 4 * sd / np.sqrt(40) + 1e-9)


def test_expected_mode_variance_matches_bit_mode_for_one_layer(rng):
    weights = rng.uniform(-1, 1, (10, 30))
    x = torch.as_tensor(rng.uniform(0, 1, (4, 30)))
    cfg = SCConfig(stream_length=256, sng="bernoulli")
    runs = np.stack([emulate(_linear(weights), x, cfg.replace(seed=s)).numpy() for s in range(60)])
    sc = convert(_linear(weights), cfg.replace(mode="expected"), x)
    from sc_accel.nn.run import run_graph
    from sc_accel.nn.ops import moment_op
    _, var = run_graph(sc.graph, (x, torch.zeros_like(x)), sc.backend, other=moment_op)
    ratio = runs.var(0, ddof=1).mean() / var.numpy().mean()
    # 40 outputs x 59 degrees of freedom: the pooled ratio is 1 within about 3 x 0.03
    assert 0.85 <= ratio <= 1.15


def test_bn_folding_keeps_the_float_function():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 25, 3), nn.BatchNorm1d(3))
    model.train()
    with torch.no_grad():
        model(torch.randn(32, 2, 5, 5))
    model.eval()
    x = torch.randn(4, 2, 5, 5)
    g = trace(model, x)
    assert [l.op for l in g.layers].count("affine") == 0
    with torch.no_grad():
        assert torch.allclose(float_forward(g, x), model(x).double(), atol=1e-9)


def test_same_seed_same_logits_at_any_thread_count_and_seeds_differ():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 3)).eval()
    x = torch.rand(5, 1, 8, 8)
    cfg = SCConfig(stream_length=200, seed=3)
    with numba_threads(1):
        a = emulate(model, x, cfg)
    with numba_threads(2):
        b = emulate(model, x, cfg)
    assert torch.equal(a, b)
    assert not torch.equal(a, emulate(model, x, cfg.replace(seed=4)))


@pytest.mark.parametrize("maxpool", ["or", "selector", "binary"])
def test_maxpool_modes_converge_to_float(maxpool):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(96, 8)).eval()
    x = torch.rand(16, 1, 10, 10)
    ref = model(x).double().detach()
    err = {L: float((emulate(model, x, SCConfig(stream_length=L, sng="sobol", maxpool=maxpool)) - ref).norm()
                    / ref.norm()) for L in (64, 1024)}
    assert err[1024] < 0.05 and err[1024] < err[64]


def test_or_pool_fused_path_equals_explicit_or_of_streams():
    from sc_accel.kernels.pool import or_pool
    from sc_accel.nn.backends import BitBackend
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(27, 2)).eval()
    x = torch.rand(3, 1, 8, 8)
    sc = convert(model, SCConfig(stream_length=160, share=4), x)
    be: BitBackend = sc.backend
    key = next(k for k, c in sc.plan.conversions.items() if c.pool)
    conv = sc.plan.conversions[key]
    env = {}
    sc.backend.reset()
    from sc_accel.nn.run import run_graph
    run_graph(sc.graph, x.double(), be, record=lambda l, v: env.__setitem__(l.name, v))
    fused = be.cache[key][0].words()
    bank, src, _ = be.banks[key]
    from sc_accel.streams.bank import encode_thresholds
    t = levels(env[conv.tensor].numpy() / conv.scale, be.width)
    words = encode_thresholds(t.reshape(-1), src, bank).reshape(t.shape + (-1,))
    assert np.array_equal(fused, or_pool(words, 2, 2))


def test_fixed_point_twin_approaches_float_with_bits():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(30, 10), nn.ReLU(), nn.Linear(10, 4)).eval()
    x = torch.rand(20, 30)
    ref = model(x).double().detach()
    e4, e12 = (float((fixed_point(model, x, b)(x) - ref).norm() / ref.norm()) for b in (4, 12))
    assert e12 < e4 / 8 and e12 < 2e-3  # each bit halves the quantisation step


def test_signed_inputs_are_split_into_two_streams():
    torch.manual_seed(5)
    model = _linear(np.random.default_rng(0).uniform(-1, 1, (4, 12)))
    x = torch.randn(30, 12, dtype=torch.float64)                  # negative inputs
    sc = convert(model, SCConfig(stream_length=2048, sng="sobol"), x)
    assert next(iter(sc.plan.conversions.values())).signed
    ref = model(x.float()).double().detach()
    assert float((sc(x) - ref).norm() / ref.norm()) < 0.02


class _Sig(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.Sigmoid()

    def forward(self, x):
        return self.act(self.fc(x))


def test_unsupported_ops_name_the_op_and_its_place():
    with pytest.raises(UnsupportedOpError, match=r"Sigmoid.*'act'.*position 3 of 4"):
        trace(_Sig(), torch.rand(2, 4))
    with pytest.raises(UnsupportedOpError, match="padding_mode"):
        trace(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")), torch.rand(1, 1, 8, 8))

    class Cat2(nn.Module):
        def forward(self, x):
            return torch.cat([x, x], dim=2)
    with pytest.raises(UnsupportedOpError, match="cat"):
        trace(Cat2(), torch.rand(1, 1, 4, 4))


def test_dilated_conv_is_its_dense_kernel_in_the_emulator_and_its_taps_in_the_estimator():
    from sc_accel.hw import workload

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=2, dilation=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 5))
    model.eval()
    x = torch.rand(6, 3, 8, 8)
    layer = trace(model, x[:1]).layers[1]
    assert layer.attrs["weight"].shape == (4, 3, 5, 5) and layer.attrs["taps"] == (3, 3)
    assert np.count_nonzero(layer.attrs["weight"][:, :, 1::2, :]) == 0  # the rows between taps are empty
    ref = model(x).detach().numpy()
    got = fixed_point(model, x, 14)(x).numpy()  # 14-bit words: the twin computes the float function
    assert np.abs(got - ref).max() <= 1e-2 * np.abs(ref).max()
    dense = nn.Sequential(nn.Conv2d(3, 4, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 5)).eval()
    with torch.no_grad():
        dense[0].weight.copy_(torch.as_tensor(layer.attrs["weight"]))
        dense[0].bias.copy_(model[0].bias)
        dense[3].load_state_dict(model[3].state_dict())
    cfg = SCConfig(stream_length=64)
    assert torch.equal(emulate(model, x, cfg, calib=x), emulate(dense, x, cfg, calib=x))  # bit-true alike
    conv = workload(model, (1, 3, 8, 8))[0]
    assert (conv.R, conv.S, conv.macs, conv.w_elems) == (3, 3, 4 * 64 * 3 * 9, 4 * 3 * 9)


@pytest.mark.parametrize("kw,match", [({"stream_length": 0}, "length"), ({"mode": "fast"}, "mode"),
                                      ({"sng": "xorshift"}, "sng"), ({"share": 0}, "share"),
                                      ({"maxpool": "avg"}, "maxpool"), ({"calib_percentile": 20.0}, "percentile"),
                                      ({"upscale": "yes"}, "upscale"), ({"width": 40}, "width")])
def test_bad_configs_raise_value_errors(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        SCConfig(**kw)


def test_config_round_trips_and_rejects_unknown_fields():
    cfg = SCConfig(stream_length=512, sng="sobol", share=8, upscale=False)
    assert SCConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(InvalidInputError, match="unknown SCConfig field"):
        SCConfig.from_dict({"stream_lenght": 64})


def test_wrong_input_shape_is_a_clear_error():
    model = _linear(np.ones((2, 5)))
    sc = convert(model, SCConfig(stream_length=64), torch.rand(3, 5))
    with pytest.raises(InvalidInputError, match="shape"):
        sc(torch.rand(3, 6))
