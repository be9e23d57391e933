"""SC-aware training surrogate: same arithmetic as the converter, exact bit mode, and per-layer
statistics that match bit-true runs within bounds from the statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sc_accel.errors import InvalidInputError
from sc_accel.graph import UnsupportedOpError
from sc_accel.nn import SCConfig, convert, fixed_point
from sc_accel.nn.backends import BitBackend
from sc_accel.nn.run import run_graph
from sc_accel.nn.surrogate import SCSurrogate, ste_round, transfer_table


class Residual(nn.Module):
    """conv-BN-ReLU, a residual pair with a dilated conv, a standalone BN, max pool, linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU())
        self.body = nn.Sequential(nn.Conv2d(6, 6, 3, padding=2, dilation=2), nn.BatchNorm2d(6), nn.ReLU(),
                                  nn.Conv2d(6, 6, 3, padding=1))
        self.post = nn.BatchNorm2d(6)  # reads the sum: stays a standalone affine op
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * 4 * 4, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        return self.head(self.pool(F.relu(self.post(h + self.body(h)))))


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    m = Residual()
    for bn in (m.stem[1], m.body[1], m.post):  # running statistics that are not the identity
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.1, 0.1)
    return m.eval()


def _images(n: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("length", [16, 64, 256])
def test_noise_free_surrogate_is_the_fixed_point_twin(length):
    """Without noise and transfer table, the surrogate computes exactly the converter's quantised
    arithmetic (folded BN, power-of-two scales, comparator grid): the fixed-point twin's logits."""
    model, x = _net(), _images(40)
    sur = SCSurrogate(model, SCConfig(stream_length=length, maxpool="binary"), x, transfer=False)
    with torch.no_grad():
        got = sur(x, noise=False)
    want = fixed_point(model, x, bits=int(math.log2(length)))(x)
    assert torch.equal(got, want)


def test_bit_mode_forward_is_the_emulator_and_backward_is_the_surrogates():
    model, x = _net(), _images(12)
    cfg = SCConfig(stream_length=64, sng="sobol")
    sur = SCSurrogate(model, cfg, x, mode="bit")
    y = sur(x)
    assert torch.equal(y.detach(), convert(model, cfg, x)(x))  # bit-true logits, bit for bit
    y.sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0


def test_ste_round_passes_the_gradient_straight_through():
    v = torch.tensor([0.2, 1.7, -2.4], requires_grad=True)
    r = ste_round(v)
    r.sum().backward()
    assert r.tolist() == [0.0, 2.0, -2.0] and v.grad.tolist() == [1.0, 1.0, 1.0]


def test_transfer_table_is_the_generators_mean_ones_fraction():
    """Sobol over a full period gives exactly T ones in 2^w bits; an LFSR's table stays within a
    count of one of T (its period is 2^w - 1), and both run from 0 to 1."""
    sob = transfer_table("sobol", 64, 6, 0, 0).numpy() * 64
    assert np.array_equal(sob, np.arange(65))
    lfsr = transfer_table("lfsr", 32, 5, 0, 0).numpy() * 32
    assert lfsr[0] == 0 and lfsr[-1] == 32 and np.all(np.abs(lfsr - np.arange(33)) <= 1.0)


def _bit_run(model: nn.Module, cfg: SCConfig, x: torch.Tensor) -> dict:
    """Every node's value of one bit-true run (the emulator's backend)."""
    sc = convert(model, cfg, x)
    env: dict = {}
    bit: BitBackend = sc.backend
    bit.reset()
    run_graph(sc.graph, x, bit, record=lambda l, v: env.__setitem__(l.name, v), skip=bit.dead)
    return env


def test_per_layer_mean_and_variance_match_bit_true_statistics():
    """Bernoulli SNGs, K = 64 generator seeds, one fixed input. For each MAC layer, the bit-true
    output minus the surrogate's mean on that run's own (bit-true) inputs, divided by the
    surrogate's standard deviation, is a standardised error e with E[e] = 0 and Var[e] = 1 when the
    surrogate is right. Over K independent seeds, per output element:
    - the mean of e is N(0, 1/K): |mean| <= 5 / sqrt(K) (two-sided 5.7e-7 per element);
    - the sample variance is Var[e] chi2(K-1) / (K-1): between the chi2 quantiles 1e-5 and
      1 - 1e-5 over K - 1, i.e. 0.38 and 2.0 for K = 64 (a Gaussian approximation of a sum of
      K * taps Bernoulli terms).
    40 elements are checked per layer; all bounds together fail by chance with probability < 1e-3."""
    model, x = _net(3), _images(1, seed=5)
    K, n_el = 64, 40
    names = None
    errs: dict[str, list[np.ndarray]] = {}
    for seed in range(K):
        cfg = SCConfig(stream_length=128, sng="bernoulli", seed=seed)
        env = _bit_run(model, cfg, x)
        sur = SCSurrogate(model, cfg, x)
        names = list(sur.plan.macs)
        for name in names:
            mean, var = sur.mac_moments(sur.graph.by_name[name], env)
            e = ((env[name] - mean.double()) / var.double().sqrt()).reshape(-1).detach().numpy()
            errs.setdefault(name, []).append(e)
    lo, hi = 24.2 / (K - 1), 125.9 / (K - 1)  # chi2(63) quantiles 1e-5 and 1 - 1e-5
    for name in names:
        e = np.stack(errs[name])  # (K, outputs)
        keep = np.isfinite(e).all(0)
        e = e[:, keep][:, :: max(1, keep.sum() // n_el)][:, :n_el]
        assert e.shape[1] >= 5, name
        assert np.all(np.abs(e.mean(0)) <= 5 / math.sqrt(K)), name
        v = e.var(0, ddof=1)
        assert np.all((v >= lo) & (v <= hi)), (name, v.min(), v.max())


def test_noise_calibration_matches_the_bit_true_loss():
    """calibrate_noise bisects one factor until the noisy surrogate's cross-entropy equals the
    bit-true one; it ends inside its bracket, so the two losses agree to the bracket's width."""
    model, x = _net(), _images(64)
    y = torch.randint(0, 5, (64,), generator=torch.Generator().manual_seed(0))
    cfg = SCConfig(stream_length=32)
    sur = SCSurrogate(model, cfg, x)
    scales = sur.calibrate_noise(x, y, steps=14)
    assert set(scales) == set(sur.plan.macs) and all(0 < s < math.inf for s in scales.values())
    bit_loss = float(F.cross_entropy(convert(model, cfg, x)(x), y))
    sur.reseed(sur.seed)
    with torch.no_grad():
        noisy = float(F.cross_entropy(sur(x.float()).float(), y))
    assert abs(noisy - bit_loss) < 0.05 * bit_loss


def test_bad_arguments_are_refused():
    model, x = _net(), _images(4)
    with pytest.raises(InvalidInputError, match="mode 'exact' is not one of moments, bit"):
        SCSurrogate(model, SCConfig(), x, mode="exact")
    with pytest.raises(InvalidInputError, match="SCConfig"):
        SCSurrogate(model, {"stream_length": 64}, x)

    class Sig(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(1, 2, 3)

        def forward(self, v):
            return torch.sigmoid(self.c(v)).flatten(1)

    with pytest.raises(UnsupportedOpError, match="sigmoid"):
        SCSurrogate(Sig().eval(), SCConfig(), x)

    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(2, 1, 3, 3))

        def forward(self, v):
            return F.conv2d(v, self.w).flatten(1)

    with pytest.raises(UnsupportedOpError, match="unsupported op get_attr"):  # the converter refuses it too
        SCSurrogate(Functional().eval(), SCConfig(), x)
