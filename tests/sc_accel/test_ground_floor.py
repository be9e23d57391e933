"""The ground floor's registry and seed helpers."""

from __future__ import annotations

import pytest
import torch

from nas.ops import OPS
from recast.blocks import BLOCKS
from sc_accel.errors import InvalidInputError
from sc_accel.registry import Registry
from sc_accel.seeds import derive_seed, generator, seeded
from scnas.zoo import MODELS, create_model


def test_registry_registers_creates_lists_and_refuses_by_name():
    r = Registry("widget")
    r.register("b", lambda n: ["b"] * n)

    @r.register("a")
    def _a(n: int) -> list:
        return ["a"] * n

    assert r.create("a", 2) == ["a", "a"] and r.create("b", 1) == ["b"]
    assert r.names() == ["a", "b"] and sorted(r) == ["a", "b"] and len(r) == 2
    assert r.is_known("a") and not r.is_known("c") and not r.is_known(3)
    with pytest.raises(InvalidInputError, match=r"^unknown widget 'c'; choose one of a, b\.$"):
        r.create("c")
    for bad in ("", "a,b", "a:b", "-x", "a b", 3):
        with pytest.raises(InvalidInputError, match="must be letters, digits"):
            r.register(bad, lambda: None)
    with pytest.raises(InvalidInputError, match="must be callable"):
        r.register("d", 3)
    with pytest.raises(InvalidInputError, match="must be callable"):
        r.register("d")(3)
    with pytest.raises(InvalidInputError, match="'a' is already registered"):
        r.register("a", lambda n: n)
    assert r.create("a", 1) == ["a"]  # the first factory stays
    r.unregister("a")
    assert r.names() == ["b"] and "d" not in r


def test_an_empty_registry_says_so():
    with pytest.raises(InvalidInputError, match=r"^unknown widget 'x'; no widget is registered\.$"):
        Registry("widget").create("x")


def test_the_registry_raises_the_error_class_it_is_given():
    class Mine(InvalidInputError):
        pass
    with pytest.raises(Mine):
        Registry("thing", Mine).check("x")


def test_models_blocks_and_ops_share_the_one_registry():
    assert all(isinstance(r, Registry) for r in (MODELS, BLOCKS, OPS))
    assert {"lenet5", "resnet20"} <= set(MODELS.names()) and {"basic", "dwsep"} <= set(BLOCKS.names())


def test_derive_seed_is_fnv1a_over_32_bit_parts():
    # golden: FNV-1a 64 offset 1469598103934665603, prime 1099511628211, kept below 2**63
    h = 1469598103934665603
    for p in (7, 11, 3):
        h = ((h ^ p) * 1099511628211) % (1 << 63)
    assert derive_seed(7, 11, 3) == h
    assert derive_seed(7, 11, 3) != derive_seed(7, 3, 11) and 0 <= derive_seed(-1) < 2 ** 63


def test_seeded_draws_the_same_numbers_and_keeps_the_callers_generator():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    with seeded(5):
        a = torch.rand(4)
    assert torch.equal(torch.get_rng_state(), before)
    with seeded(5):
        b = torch.rand(4)
    torch.manual_seed(5)
    assert torch.equal(a, b) and torch.equal(a, torch.rand(4))  # seeded(5) == manual_seed(5) inside
    with seeded(5, 1):
        c = torch.rand(4)
    assert torch.equal(c, torch.rand(4, generator=generator(5, 1)))


def test_creating_a_model_leaves_the_callers_generator_alone():
    torch.manual_seed(9)
    before = torch.get_rng_state()
    a, b = create_model("lenet5").state_dict(), create_model("lenet5").state_dict()
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)  # seeded(0): the same initial weights every time
