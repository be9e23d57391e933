"""Wilson intervals and mean ± std."""

import math

import pytest

from reports.stats import mean_std, wilson


def test_wilson_matches_a_hand_computed_interval():
    # p = 0.9, n = 100, z = 1.96: centre (0.9 + 0.019208) / 1.038416, half 1.96/1.038416 * sqrt(0.0009 + 0.00009604)
    lo, hi = wilson(0.9, 100)
    centre = (0.9 + 1.959963984540054 ** 2 / 200) / (1 + 1.959963984540054 ** 2 / 100)
    assert lo == pytest.approx(0.8256, abs=1e-4) and hi == pytest.approx(0.9448, abs=1e-4)
    assert (lo + hi) / 2 == pytest.approx(centre)


def test_wilson_stays_in_the_unit_interval_and_shrinks_with_n():
    assert wilson(1.0, 10)[1] == pytest.approx(1.0) and wilson(0.0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert 0.0 <= wilson(0.0, 10)[0] and wilson(1.0, 10)[1] <= 1.0
    w = [hi - lo for lo, hi in (wilson(0.5, n) for n in (100, 400, 1600))]
    assert w[0] > w[1] > w[2] and w[1] / w[2] == pytest.approx(2.0, rel=0.01)  # width ~ 1/sqrt(n)
    assert wilson(0.7, 0) == (0.7, 0.7)


def test_mean_std_is_the_sample_std():
    m, s = mean_std([1.0, 2.0, 3.0])
    assert m == 2.0 and s == 1.0 and mean_std([5.0]) == (5.0, 0.0)
    assert not math.isnan(mean_std([0.1, 0.1])[1])
