"""AccelConfig round-trips and errors, the workload graph, estimate() and its scaling knobs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from sc_accel.hw import (AccelConfig, HardwareConfigError, LayerResources, SCHardware, estimate, min_gbuf_bytes,
                         presets, sc_array, spatial, systolic, workload, workload_graph)
from sc_accel.hw.tables import SOURCES, CostTable
from sc_accel.nn import SCConfig, UnsupportedOpError
from scnas.accel import ACCEL_DIR, load_accel, save_accel
from scnas.zoo import create_model


def test_bad_configs_give_documented_errors():
    with pytest.raises(HardwareConfigError, match="rows=0 must be a positive integer"):
        systolic(0, 8)
    with pytest.raises(HardwareConfigError, match="dataflow='rs' is unknown for a systolic"):
        systolic(8, 8, "rs")
    with pytest.raises(HardwareConfigError, match="kind='gpu' is unknown"):
        AccelConfig(kind="gpu")
    need = min_gbuf_bytes(32, 32, 8)
    assert need == 32 * 32 + 2 * 64
    with pytest.raises(HardwareConfigError, match="cannot hold the ws dataflow's minimum tile"):
        systolic(32, 32, "ws", gbuf_kib=(need - 1) / 1024)
    systolic(32, 32, "ws", gbuf_kib=need / 1024)  # exactly enough is fine
    with pytest.raises(HardwareConfigError, match="op.voltage"):
        spatial(voltage=3.0)
    with pytest.raises(HardwareConfigError, match="unknown accelerator settings"):
        systolic(8, 8, bogus=1)
    with pytest.raises(HardwareConfigError, match="sc.sng"):
        sc_array(sng="quantum")
    with pytest.raises(HardwareConfigError, match="per-layer resources need"):
        AccelConfig(kind="systolic", layers={"c": LayerResources(4)})
    with pytest.raises(HardwareConfigError, match="layers.c"):
        spatial(16, 16, layers={"c": LayerResources(256, gbuf_kib=0.1)})


ACCELS = st.one_of(
    st.builds(systolic, st.integers(1, 64), st.integers(1, 64), st.sampled_from(["ws", "os", "is"]),
              freq_mhz=st.floats(50, 2000), voltage=st.floats(0.5, 1.2), node_nm=st.sampled_from([7.0, 28.0, 45.0])),
    st.builds(spatial, st.integers(1, 32), st.integers(1, 32), st.sampled_from(["kcp", "rs", "os"]),
              local_bytes=st.integers(1, 1024), layers=st.dictionaries(
                  st.sampled_from(["conv1", "fc"]), st.builds(LayerResources, st.integers(1, 64)), max_size=2)),
    st.builds(sc_array, st.integers(1, 64), st.integers(1, 64), stream_length=st.sampled_from([16, 256, 1000]),
              share=st.integers(1, 16), sng=st.sampled_from(["lfsr", "sobol"]),
              maxpool=st.sampled_from(["or", "binary"])))


@settings(max_examples=60, deadline=None)
@given(ACCELS)
def test_config_round_trips_dict_toml_json(tmp_path_factory, accel):
    d = tmp_path_factory.mktemp("acc")
    assert AccelConfig.from_dict(accel.to_dict()) == accel
    for suffix in (".toml", ".json"):
        save_accel(accel, d / f"a{suffix}")
        assert load_accel(d / f"a{suffix}") == accel


def test_shipped_preset_files_match_the_code():
    files = sorted(p.stem for p in ACCEL_DIR.glob("*.toml"))
    assert files == sorted(presets())
    for name, accel in presets().items():
        assert load_accel(name) == accel


def test_sc_settings_follow_scconfig():
    hw = SCHardware.from_sc_config(SCConfig(stream_length=1024, share=8, sng="sobol", maxpool="selector"))
    assert (hw.stream_length, hw.share, hw.sng, hw.width, hw.maxpool) == (1024, 8, "sobol", 10, "selector")
    a = sc_array(16, 16, sc_config=SCConfig(stream_length=64))
    assert a.sc.width == 6 and a.kind == "sc"


def test_workload_graph_of_resnet20():
    m = create_model("resnet20", 3, 10, 32)
    layers = workload(m, (1, 3, 32, 32))
    ops = [l.op for l in layers]
    assert ops.count("add") == 9 and ops.count("linear") == 1 and ops[-2] == "avgpool"
    assert sum(l.macs for l in layers) == sum(  # MACs from the module shapes, computed independently
        mod.weight.numel() * out.shape[2] * out.shape[3] if isinstance(mod, nn.Conv2d) else mod.weight.numel()
        for mod, out in _module_outputs(m, torch.zeros(1, 3, 32, 32)))
    g = workload_graph(layers)
    assert all(g.in_degree(n) == 2 for n, d in g.nodes(data=True) if d["op"] == "add")
    assert g.number_of_nodes() == len(layers)


def _module_outputs(model, x):
    seen = []
    hooks = [mod.register_forward_hook(lambda mod, i, o: seen.append((mod, o)))
             for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(x)
    for h in hooks:
        h.remove()
    return seen


def test_mobilenet_has_depthwise_layers():
    ops = {l.op for l in workload(create_model("mobilenet", 3, 10, 32), (1, 3, 32, 32))}
    assert "dwconv" in ops and "conv" in ops


def test_unsupported_op_is_named():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return torch.sigmoid(self.c(x))

    with pytest.raises(UnsupportedOpError, match="unsupported op sigmoid.*hardware estimator"):
        workload(Net(), (1, 1, 8, 8))


def test_estimate_records_totals_and_files(tmp_path):
    m = create_model("lenet5", 1, 10, 28)
    est = estimate(m, (1, 1, 28, 28), systolic(16, 16, "os"))
    need = {"name", "macs", "compute_cycles", "latency_cycles", "latency_s", "energy_pj", "area_um2",
            "dram_bytes", "sram_bytes", "utilization"}
    assert all(need <= set(r) for r in est.layers)
    t = est.total
    assert t["macs"] == 416520
    assert t["energy_pj"] == pytest.approx(sum(r["energy_pj"] for r in est.layers))
    assert t["latency_s"] == pytest.approx(t["latency_cycles"] / 500e6)
    parts = sum(v for k, v in t.items() if k.startswith("energy_") and k.endswith("_pj") and k != "energy_pj")
    assert parts == pytest.approx(t["energy_pj"])
    est.to_csv(tmp_path / "l.csv")
    assert (tmp_path / "l.csv").read_text().count("\n") == len(est.layers) + 1
    assert json.loads(est.to_json(tmp_path / "e.json"))["total"]["macs"] == 416520


def test_operating_point_and_technology_scaling():
    m = create_model("lenet5", 1, 10, 28)
    base = estimate(m, (1, 1, 28, 28), spatial(16, 16, "kcp")).total
    low = estimate(m, (1, 1, 28, 28), spatial(16, 16, "kcp", voltage=0.6, freq_mhz=250.0)).total
    on_chip = lambda t: t["energy_pj"] - t["energy_dram_pj"]  # noqa: E731
    assert on_chip(low) == pytest.approx(on_chip(base) * (0.6 / 0.9) ** 2)
    assert low["energy_dram_pj"] == pytest.approx(base["energy_dram_pj"])  # off-chip: not scaled
    assert low["latency_s"] == pytest.approx(2 * base["latency_s"])
    small = estimate(m, (1, 1, 28, 28), spatial(16, 16, "kcp", node_nm=22.5)).total
    assert small["area_um2"] == pytest.approx(base["area_um2"] / 4)
    assert on_chip(small) == pytest.approx(on_chip(base) / 2)


def test_sc_latency_scales_with_stream_length_and_sharing_saves_sng_energy():
    m = create_model("lenet5", 1, 10, 28)
    shape = (1, 1, 28, 28)
    big = dict(dram_bytes_per_cycle=1e6, gbuf_bytes_per_cycle=1e6)
    e64, e256 = (estimate(m, shape, sc_array(32, 32, stream_length=L, maxpool="binary", **big)).total for L in (64, 256))
    assert e256["compute_cycles"] == 4 * e64["compute_cycles"]
    private = estimate(m, shape, sc_array(32, 32, stream_length=256, share=1)).total
    shared = estimate(m, shape, sc_array(32, 32, stream_length=256, share=8)).total
    assert shared["energy_sng_pj"] < private["energy_sng_pj"]
    assert shared["area_sng_um2"] < private["area_sng_um2"]
    assert shared["latency_s"] == private["latency_s"]


def test_per_layer_resources_apply_to_their_layer_only():
    m = create_model("lenet5", 1, 10, 28)
    base = spatial(8, 8, "kcp")
    alloc = spatial(8, 8, "kcp", layers={"features_0": LayerResources(8)})
    e0, e1 = estimate(m, (1, 1, 28, 28), base), estimate(m, (1, 1, 28, 28), alloc)
    assert e1.layers[0]["compute_cycles"] > e0.layers[0]["compute_cycles"]
    assert [r["compute_cycles"] for r in e1.layers[1:]] == [r["compute_cycles"] for r in e0.layers[1:]]
    with pytest.raises(HardwareConfigError, match="model does not have"):
        estimate(m, (1, 1, 28, 28), spatial(8, 8, "kcp", layers={"nope": LayerResources(8)}))


def test_every_table_entry_has_a_source():
    t = CostTable()
    for name in t.to_dict():
        key = name if name in SOURCES else {"sram_8k_pj_per_64b": "sram_pj_per_64b",
                                            "sram_32k_pj_per_64b": "sram_pj_per_64b",
                                            "sram_1m_pj_per_64b": "sram_pj_per_64b"}.get(name)
        assert key in SOURCES, name
    assert np.isclose(CostTable.from_dict(t.to_dict()).mult8_pj, 0.2)
