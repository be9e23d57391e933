"""SCC and error metrics."""

import numpy as np

from sc_accel.kernels import sc_not
from sc_accel.metrics import bernoulli_sd, rmse, scc, scc_from_probs, z_scores
from sc_accel.streams import SharingMap, encode


def test_scc_extremes_and_independence(rng):
    length = 4096
    v = rng.uniform(0.2, 0.8, 200)
    same = encode(np.stack([v, v * 0.5], 1), length, "lfsr", seed=1, share=SharingMap.single(400))
    assert np.allclose(scc(same[:, 0], same[:, 1], length), 1.0)
    a = encode(v, length, "bernoulli", seed=1)
    assert np.allclose(scc(a, sc_not(a, length), length), -1.0)
    b = encode(v[::-1].copy(), length, "bernoulli", seed=2)
    s = scc(a, b, length)
    # independent streams: SCC is a normalised covariance with sd ~ 1/sqrt(L) scale
    assert abs(s.mean()) < 5 * s.std() / np.sqrt(s.size) + 0.01 and np.abs(s).max() < 0.2


def test_scc_from_probs_handles_degenerate_streams():
    assert scc_from_probs(0.0, 0.5, 0.0) == 0.0
    assert scc_from_probs(0.5, 0.5, 0.5) == 1.0


def test_error_helpers():
    assert np.isclose(rmse([0.1, 0.3], [0.2, 0.2]), 0.1)
    assert np.isclose(bernoulli_sd(0.5, 100), 0.05)
    assert np.isclose(z_scores(0.6, 0.5, 100), 2.0)
