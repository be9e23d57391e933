"""Per-layer precision: an SCConfig's per-layer stream lengths (and widths) change that layer
in the emulator (bit and expected modes), the fixed-point twin and the estimator, and only it."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from sc_accel.errors import InvalidInputError
from sc_accel.hw import presets
from sc_accel.hw.cost import binary_mac_pj
from sc_accel.hw.config import AccelConfig, HardwareConfigError, LayerPrecision, sc_array
from sc_accel.hw.estimate import estimate
from sc_accel.hw.workload import workload
from sc_accel.nn import SCConfig, convert, fixed_point
from sc_accel.nn.memory import bit_memory
from sc_accel.nn.ops import moment_op
from sc_accel.nn.run import run_graph
from scnas.config import read_toml, write_toml
from scnas.zoo import create_model

FIRST, LAST = "features_0", "classifier_4"  # LeNet-5's first and last MAC layers


@pytest.fixture(scope="module")
def lenet():
    torch.manual_seed(0)
    return create_model("lenet5", 1, 10, 28).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def _outputs(model, x, cfg) -> dict[str, object]:
    """Every layer's value on x (bit mode: tensors; expected mode: (mean, var) pairs)."""
    m = convert(model, cfg, x)
    out: dict[str, object] = {}
    rec = lambda layer, v: out.__setitem__(layer.name, v)  # noqa: E731
    x = x.double()
    if cfg.mode == "bit":
        m.backend.reset()
        run_graph(m.graph, x, m.backend, record=rec, skip=m.backend.dead)
    else:
        run_graph(m.graph, (x, torch.zeros_like(x)), m.backend, other=moment_op, record=rec)
    return out


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(torch.equal(u, v) for u, v in zip(a, b))
    return torch.equal(a, b)


BASE = SCConfig(stream_length=64, seed=3, batch_size=8)


def test_a_longer_first_layer_is_that_of_the_uniform_long_config_and_differs_from_the_short_one(lenet, images):
    mixed = _outputs(lenet, images, BASE.replace(layers={FIRST: {"stream_length": 256}}))
    long = _outputs(lenet, images, BASE.replace(stream_length=256))
    short = _outputs(lenet, images, BASE)
    assert torch.equal(mixed[FIRST], long[FIRST])  # same seeds, same L: the same bits
    assert not torch.equal(mixed[FIRST], short[FIRST])


def test_overriding_the_last_layer_leaves_every_earlier_layer_bit_identical(lenet, images):
    mixed = _outputs(lenet, images, BASE.replace(layers={LAST: {"stream_length": 512}}))
    short = _outputs(lenet, images, BASE)
    order = list(short)
    for name in order[:order.index(LAST)]:
        assert _same(mixed[name], short[name]), name
    assert not torch.equal(mixed[LAST], short[LAST])


def test_expected_mode_runs_each_layer_at_its_own_length(lenet, images):
    cfg = BASE.replace(mode="expected")
    mixed = _outputs(lenet, images, cfg.replace(layers={FIRST: {"stream_length": 1024}}))
    long = _outputs(lenet, images, cfg.replace(stream_length=1024))
    short = _outputs(lenet, images, cfg)
    assert _same(mixed[FIRST], long[FIRST])
    # variance ~ factor / L: far smaller at L = 1024 than at 64 (16x fewer bits of noise)
    assert float(mixed[FIRST][1].sum()) < 0.25 * float(short[FIRST][1].sum())


def test_the_fixed_point_twin_takes_per_layer_bits(lenet, images):
    mixed = fixed_point(lenet, images, bits=8, layer_bits={FIRST: 4})
    four, eight = fixed_point(lenet, images, bits=4), fixed_point(lenet, images, bits=8)
    outs = {}
    for key, m in (("mixed", mixed), ("four", four), ("eight", eight)):
        rec: dict = {}
        run_graph(m.graph, images.double(), m.backend, record=lambda l, v: rec.__setitem__(l.name, v))
        outs[key] = rec
    assert torch.equal(outs["mixed"][FIRST], outs["four"][FIRST])
    assert not torch.equal(outs["mixed"][FIRST], outs["eight"][FIRST])


def test_a_width_override_alone_changes_the_comparator_grid(lenet, images):
    mixed = _outputs(lenet, images, BASE.replace(layers={FIRST: {"width": 3}}))
    short = _outputs(lenet, images, BASE)
    assert not torch.equal(mixed[FIRST], short[FIRST])
    assert BASE.replace(layers={FIRST: {"width": 3}}).for_layer(FIRST).comparator_width == 3
    assert BASE.replace(layers={FIRST: {"stream_length": 1024}}).for_layer(FIRST).comparator_width == 10


@pytest.mark.parametrize("make", [
    lambda m, x, cfg: convert(m, cfg, x),
    lambda m, x, cfg: fixed_point(m, x, layer_bits={"conv9": 4}),
])
def test_an_unknown_layer_name_is_one_clear_error(lenet, images, make):
    cfg = BASE.replace(layers={"conv9": {"stream_length": 128}})
    with pytest.raises(InvalidInputError, match=r"conv9.*does not have.*features_0"):
        make(lenet, images, cfg)


class _Fork(nn.Module):
    """Two convolutions reading the same input: they share one SNG bank."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 2, 3), nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return (self.a(x) + self.b(x)).flatten(1)


def test_layers_reading_one_conversion_must_agree(images):
    cfg = BASE.replace(layers={"a": {"stream_length": 256}})
    with pytest.raises(InvalidInputError, match="read the same input streams"):
        convert(_Fork().eval(), cfg, images[:, :, :8, :8])
    both = BASE.replace(layers={"a": {"stream_length": 256}, "b": {"stream_length": 256}})
    assert convert(_Fork().eval(), both, images[:, :, :8, :8])(images[:, :, :8, :8]).shape == (6, 72)


@pytest.mark.parametrize("bad, match", [
    ({"x": {"stream_length": 0}}, "positive integer"),
    ({"x": {"L": 64}}, "unknown"),
    ({"x": 64}, "must be a table"),
    ({"x": {"width": 40}}, "width"),
])
def test_bad_overrides_are_refused_by_the_config(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        SCConfig(layers=bad)


def test_overrides_round_trip_through_dict_and_toml(tmp_path):
    cfg = SCConfig(stream_length=128, layers={FIRST: {"stream_length": 32}, "blocks.0.conv": {"width": 4}})
    assert SCConfig.from_dict(cfg.to_dict()) == cfg
    write_toml({"sc": cfg.to_dict()}, tmp_path / "c.toml")
    assert SCConfig.from_dict(read_toml(tmp_path / "c.toml")["sc"]) == cfg
    acc = presets()["sc-64x64-L256"].with_(precision={FIRST: LayerPrecision(stream_length=64)})
    assert AccelConfig.from_dict(acc.to_dict()) == acc
    write_toml(acc.to_dict(), tmp_path / "a.toml")
    assert AccelConfig.from_dict(read_toml(tmp_path / "a.toml")) == acc


def test_memory_is_budgeted_for_the_longest_layer(lenet, images):
    m = convert(lenet, BASE, images)
    mixed = BASE.replace(layers={FIRST: {"stream_length": 1024}})
    assert bit_memory(m.graph, m.plan, mixed) == bit_memory(m.graph, m.plan, BASE.replace(stream_length=1024))


def _records(layers, accel) -> dict[str, dict]:
    return {r["name"]: r for r in estimate(layers, None, accel).layers}


def test_the_estimator_changes_only_the_overridden_layer(lenet):
    layers = workload(lenet, (1, 1, 28, 28))
    sc = presets()["sc-64x64-L256"]
    base, short = _records(layers, sc), _records(layers, sc.with_(precision={FIRST: LayerPrecision(64)}))
    assert short[FIRST]["latency_cycles"] == pytest.approx(base[FIRST]["latency_cycles"] / 4)
    assert short[FIRST]["energy_pj"] < base[FIRST]["energy_pj"]
    assert all(short[n] == base[n] for n in base if n != FIRST)
    binary = presets()["systolic-32x32-ws"]
    b0 = _records(layers, binary)
    b4 = _records(layers, binary.with_(precision={LAST: LayerPrecision(word_bits=4)}))
    assert b4[LAST]["energy_pj"] < b0[LAST]["energy_pj"]  # a 4-bit multiplier
    assert all(b4[n] == b0[n] for n in b0 if n != LAST)


def test_an_sc_array_built_from_a_config_takes_its_per_layer_lengths(lenet):
    cfg = SCConfig(stream_length=256, layers={FIRST: {"stream_length": 64}})
    acc = sc_array(sc_config=cfg)
    assert acc.precision == {FIRST: LayerPrecision(stream_length=64)}
    layers = workload(lenet, (1, 1, 28, 28))
    direct = presets()["sc-64x64-L256"].with_(precision={FIRST: LayerPrecision(64)})
    assert _records(layers, acc)[FIRST]["latency_cycles"] == _records(layers, direct)[FIRST]["latency_cycles"]


def test_the_estimator_refuses_what_it_cannot_apply(lenet):
    layers = workload(lenet, (1, 1, 28, 28))
    with pytest.raises(HardwareConfigError, match="no streams"):
        presets()["systolic-32x32-ws"].with_(precision={FIRST: LayerPrecision(stream_length=64)})
    with pytest.raises(HardwareConfigError, match=r"conv9"):
        estimate(layers, None, presets()["sc-64x64-L256"].with_(precision={"conv9": LayerPrecision(64)}))
    with pytest.raises(HardwareConfigError, match="needs stream_length, word_bits"):
        LayerPrecision()


def test_weight_bits_apart_from_activation_bits(lenet, images):
    """Estimator: 16-bit activations with 8-bit weights halve the weight traffic and cut the
    multiplier energy, the PE area stays the array's; twin: the pair quantises each operand
    on its own grid."""
    layers = workload(lenet, (1, 1, 28, 28))
    binary = presets()["systolic-32x32-ws"]
    both16 = _records(layers, binary.with_(precision={FIRST: LayerPrecision(word_bits=16)}))
    w8 = _records(layers, binary.with_(precision={FIRST: LayerPrecision(word_bits=16, weight_bits=8)}))
    ratio = float(binary_mac_pj(128 ** 0.5) / binary_mac_pj(16))  # multiplier ~ act x weight bits, plus the adder
    assert w8[FIRST]["energy_mac_pj"] == pytest.approx(both16[FIRST]["energy_mac_pj"] * ratio, rel=1e-9)
    assert ratio < 0.6
    assert w8[FIRST]["sram_bytes"] < both16[FIRST]["sram_bytes"]
    assert w8[FIRST]["area_um2"] == both16[FIRST]["area_um2"] == _records(layers, binary)[FIRST]["area_um2"]
    pair = fixed_point(lenet, images, bits=8, layer_bits={FIRST: (4, 8)})
    same = fixed_point(lenet, images, bits=8, layer_bits={FIRST: 4})
    outs = []
    for m in (pair, same):
        rec: dict = {}
        run_graph(m.graph, images.double(), m.backend, record=lambda l, v: rec.__setitem__(l.name, v))
        outs.append(rec[FIRST])
    assert not torch.equal(outs[0], outs[1])  # 8-bit weights against 4-bit ones, same 4-bit inputs
    with pytest.raises(InvalidInputError, match="activation, weight"):
        fixed_point(lenet, images, layer_bits={FIRST: (4, 0)})
