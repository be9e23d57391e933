"""Each figure function on small synthetic results: the table it writes holds the numbers it
should draw, and every format is written."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex
from PIL import Image

from reports.fig_dse import confuciux_table, convergence, dse_figures, evolver_choice
from reports.fig_emulation import (accuracy_vs_length, compare_runs, curve_styles, emulation_figures,
                                   error_vs_length, layer_error)
from reports.fig_estimate import accel_colors, energy_breakdown, estimate_figures, layer_bars, sc_vs_binary, totals
from reports.fig_nas import derived_network, nas_figures, ops_per_stage, pareto, pareto_front
from reports.fig_recast import accuracy_vs_latency, matching_loss, recast_figures, reduction_vs_speedup, seed_summary
from reports.fig_train import training_curves
from reports.figure import FORMATS, PNG_SERIES_KEY, save_figure_set
from reports.stats import wilson
from reports.style import PALETTE, distinct_colors, family_colors, shades, styled
from reports.units import label, number, show
from tests.reports import synthetic as syn


def _saved(fig, tmp_path):
    with styled():
        paths = save_figure_set(fig, tmp_path)
    assert set(paths) == set(FORMATS) | {"csv"}
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    ET.parse(paths["svg"])  # well-formed XML
    header = paths["csv"].read_text().splitlines()[0].split(",")
    assert header == fig.columns
    assert len(paths["csv"].read_text().splitlines()) == len(fig.rows) + 1
    return paths


def test_accuracy_vs_length_rows_and_reference_lines(tmp_path):
    fig = accuracy_vs_length(syn.emulate_results(), "run")
    assert len(fig.rows) == 6
    sobol = sorted((r["stream_length"], r["accuracy"]) for r in fig.rows if r["sng"] == "sobol")
    assert sobol == [(64, 0.70), (256, 0.86), (1024, 0.89)]
    assert {r["float_accuracy"] for r in fig.rows} == {0.9}
    labels = [t.get_text() for t in fig.fig.axes[0].get_legend().get_texts()]
    assert "float" in labels and "fixed point 8-bit" in labels
    assert fig.fig.axes[0].get_xscale() == "log"
    _saved(fig, tmp_path)


def test_error_vs_length_mean_error_and_sqrt_reference(tmp_path):
    fig = error_vs_length(syn.emulate_results(), "run")
    r = next(r for r in fig.rows if r["sng"] == "lfsr" and r["stream_length"] == 256)
    assert r["mean_relative_rmse"] == pytest.approx((0.05 + 0.1 + 0.15) / 3)
    ax = fig.fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    ref = next(line for line in ax.get_lines() if line.get_label() == "1/sqrt(L) reference")
    x, y = ref.get_data()
    assert y[0] / y[-1] == pytest.approx(math.sqrt(x[-1] / x[0]))  # slope -1/2
    _saved(fig, tmp_path)


def test_layer_error_draws_every_generator(tmp_path):
    fig = layer_error(syn.emulate_results(), "run")
    assert len(fig.rows) == 6 * 3
    assert {r["layer"] for r in fig.rows} == {"conv1", "features_3", "fc"}  # no module map: graph names kept
    drawn = [ax for ax in fig.fig.axes if ax.get_lines()]
    assert [ax.get_title().split()[0] for ax in drawn] == ["lfsr", "sobol"]  # Sobol is not dropped
    assert all(len(ax.get_lines()) == 3 for ax in drawn)  # one line per L
    _saved(fig, tmp_path)


def test_layer_error_shows_module_paths(tmp_path):
    fig = layer_error(syn.emulate_results(modules=True), "run")
    assert {r["layer"] for r in fig.rows} == {"conv1", "features.3", "fc"}
    ticks = [t.get_text() for t in fig.fig.axes[0].get_xticklabels()]
    assert ticks == ["conv1", "features.3", "fc"]


def test_estimate_layer_bars_and_totals(tmp_path):
    res = syn.estimate_results()
    fig = layer_bars(res, "energy_pj", "est")
    assert len(fig.rows) == 5 * 3 and fig.name == "est-energy-per-layer"
    _saved(fig, tmp_path)
    t = totals(res, "est")
    sc = [r for r in t.rows if r["kind"] == "sc"]
    assert [r["stream_length"] for r in sc] == [32, 128, 512]
    assert all(r["stream_length"] is None for r in t.rows if r["kind"] != "sc")
    assert t.fig.axes[0].get_yscale() == "log"  # latency spans 100 us .. 51 ms
    assert t.fig.axes[2].get_yscale() == "linear"  # areas within 3x
    _saved(t, tmp_path)


def test_energy_breakdown_parts_sum_to_total(tmp_path):
    res = syn.estimate_results()
    fig = energy_breakdown(res, "est")
    for e in res["estimates"]:
        parts = sum(r["energy_pj"] for r in fig.rows if r["accel"] == e["total"]["accel"])
        assert parts == pytest.approx(e["total"]["energy_pj"])
    _saved(fig, tmp_path)


def test_sc_vs_binary_has_a_latency_panel_and_a_zoom_on_the_crossing(tmp_path):
    fig = sc_vs_binary(syn.estimate_results(), "est")
    lat, energy, area, zoom = fig.fig.axes
    assert lat.get_ylabel() == "latency (µs)" and lat.get_yscale() == "log"  # 100 us .. 51 ms
    assert energy.get_ylabel() == "energy per inference (µJ)" and area.get_ylabel() == "area (mm²)"
    assert area.get_yscale() == "linear"  # 1.5 .. 4 mm^2: within a decade
    assert zoom.get_yscale() == "linear"
    lo, hi = zoom.get_ylim()  # SC at L = 32, 128 (10, 40 uJ) and binary (20, 30 uJ), not L = 512 (160 uJ)
    assert lo < 10 and 40 < hi < 160
    assert [r["latency_s"] for r in sorted(fig.rows, key=lambda r: r["stream_length"])] == [3.2e-3, 1.28e-2, 5.12e-2]


def test_sc_vs_binary_marks_where_sc_wins(tmp_path):
    fig = sc_vs_binary(syn.estimate_results(), "est")
    rows = {r["stream_length"]: r for r in fig.rows}
    # binary best energy 2e7 pJ; SC energy 1e7 * L / 32 -> below only at L = 32
    assert [rows[L]["energy_pj_below_binary"] for L in (32, 128, 512)] == [True, False, False]
    assert all(r["area_um2_below_binary"] for r in fig.rows)  # 1.5 mm^2 < 2 mm^2
    assert "(kcp, regen weights)" in fig.rows[0]["design"]  # the mapping is shown
    _saved(fig, tmp_path)


def test_sc_vs_binary_absent_with_one_length():
    res = syn.estimate_results()
    res["estimates"] = [e for e in res["estimates"] if e["total"]["accel"] != "sc-64x64-L128"][:3]
    assert sc_vs_binary(res) is None


def test_training_curves(tmp_path):
    fig = training_curves(syn.train_results(), "t")
    assert [r["epoch"] for r in fig.rows] == [1, 2, 3]
    assert "90.00% final" in fig.title
    _saved(fig, tmp_path)


def test_recast_figures(tmp_path):
    runs = [("seed0", syn.recast_results(0)), ("seed1", syn.recast_results(1))]
    acc = accuracy_vs_latency(runs)
    assert {r["accel_kind"] for r in acc.rows} == {"binary", "sc"} and len(acc.fig.axes) == 2
    assert len(acc.rows) == 2 * 4 * 2
    _saved(acc, tmp_path)
    red = reduction_vs_speedup(runs)
    pruned = next(r for r in red.rows if r["model"] == "pruned")
    assert pruned["param_reduction"] == pytest.approx(3.0)
    assert pruned["measured_speedup"] == pytest.approx(4e-3 / 3.6e-3)
    assert len(red.rows) == 2 * 3  # teacher is the reference, not a point
    _saved(red, tmp_path)
    loss = matching_loss(runs)
    assert len(loss.rows) == 2 * 9 and len(loss.fig.axes[0].get_lines()) == 2 * 3
    _saved(loss, tmp_path)


def test_recast_seed_summary_means_and_spreads(tmp_path):
    runs = [(f"seed{s}", syn.recast_results(s)) for s in range(3)]
    for (_, r), acc in zip(runs, (0.90, 0.92, 0.97)):
        r["models"][1]["accuracy"] = acc
    fig = seed_summary(runs)
    student = next(r for r in fig.rows if r["model"] == "student")
    assert student["seeds"] == 3 and student["accuracy_mean"] == pytest.approx(0.93)
    assert student["accuracy_std"] == pytest.approx(math.sqrt((0.03 ** 2 + 0.01 ** 2 + 0.04 ** 2) / 2))
    assert fig.show_table and len(fig.fig.axes) == 3  # accuracy, binary and SC latency
    bars = fig.fig.axes[0].patches
    assert len(bars) == 3 and bars[1].get_height() == pytest.approx(93.0)  # teacher, student, baselines
    _saved(fig, tmp_path)


def test_pareto_front_keeps_only_undominated_points():
    pts = [(1.0, 0.5), (2.0, 0.7), (3.0, 0.6), (0.5, 0.4), (2.0, 0.65), (4.0, 0.9)]
    assert pareto_front(pts) == [(0.5, 0.4), (1.0, 0.5), (2.0, 0.7), (4.0, 0.9)]


def test_nas_pareto_per_method_with_seeds(tmp_path):
    runs = [(f"{m}-{s}", syn.search_results(m, s)) for m in ("inheritednas-latency", "random") for s in (0, 1)]
    fig = pareto(runs)
    finals = [r for r in fig.rows if r["point"] == "final"]
    assert sorted((r["method"], r["seed"]) for r in finals) == [
        ("inheritednas-latency", 0), ("inheritednas-latency", 1), ("random", 0), ("random", 1)]
    front = [(r["latency_s"], r["accuracy"]) for r in fig.rows if r["point"] == "front" and r["method"] == "random"]
    assert (4e-4, 0.81) not in front and front == sorted(front)
    _saved(fig, tmp_path)
    ops = ops_per_stage("a", syn.search_results())
    count = {(r["stage"], r["op"]): r["count"] for r in ops.rows}
    assert count[("stage1", "sep3")] == 2 and count[("stage2", "sep3")] == 0
    _saved(ops, tmp_path)
    net = derived_network("a", syn.search_results())
    assert [(r["stage"], r["from"], r["to"], r["op"]) for r in net.rows] == [
        ("stage1", "in", "c0.n1", "sep3"), ("stage1", "in", "c0.n2", "skip"), ("stage1", "c0.n1", "c0.n2", "sep3")]
    _saved(net, tmp_path)


def test_dse_convergence_is_the_running_best(tmp_path):
    fig = convergence([("c", syn.dse_confuciux())])
    rl = [r["best"] for r in fig.rows if r["task"] == "confuciux: edge/resnet20" and r["method"] == "rl"]
    assert rl == [9.0, 7.0, 7.0, 5.0]
    _saved(fig, tmp_path)


def test_dse_convergence_labels_each_panel_with_its_objective_and_unit():
    fig = convergence([("c", syn.dse_confuciux()), ("e", syn.dse_evolver()), ("b", syn.dse_batchdvfs())])
    labels = {ax.get_title(): ax.get_ylabel() for ax in fig.fig.axes if ax.get_lines()}
    assert labels["confuciux: edge/resnet20"] == "best latency (cycles) so far"
    assert labels["evolver (e)"] == "best 1 - reward (normalised, no unit) so far"
    assert labels["batchdvfs: 1 W"] == "best time per image (ms) so far"
    edge = next(ax for ax in fig.fig.axes if ax.get_title() == "confuciux: edge/resnet20")
    assert [t.get_text() for t in edge.texts] == ["over budget: random"]  # its best design stays over budget
    cloud = next(ax for ax in fig.fig.axes if ax.get_title() == "confuciux: cloud/resnet20")
    assert not cloud.texts


def test_confuciux_table_shown_on_the_page(tmp_path):
    fig = confuciux_table([("c", syn.dse_confuciux())])
    assert fig.show_table and len(fig.rows) == 8
    assert {"pes", "buffer_bytes", "latency_cycles", "feasible"} <= set(fig.columns)
    _saved(fig, tmp_path)


def test_confuciux_over_budget_design_is_never_drawn_as_valid():
    fig = confuciux_table([("c", syn.dse_confuciux())])
    ax = fig.fig.axes[0]
    bars = [p for p in ax.patches if math.isfinite(p.get_height()) and p.get_height() > 0]
    hollow = [p for p in bars if to_hex(p.get_facecolor()) == "#ffffff"]
    assert [p.get_height() for p in hollow] == [1.55e7] and hollow[0].get_hatch()
    assert all(p.get_height() != 1.55e7 for p in bars if p not in hollow)
    assert "over budget: 256 PEs, 6,112 B" in [t.get_text() for t in ax.texts]  # both resources the budget caps
    assert any(t.get_text().startswith("over budget") for t in ax.get_legend().get_texts())


def test_evolver_skip_ratio_and_precisions(tmp_path):
    fig = evolver_choice("e", syn.dse_evolver())
    assert "37.0% skipped" in fig.fig.axes[1].get_title()
    assert fig.rows[:2] == [{"layer": "conv1", "stream_length": 256}, {"layer": "fc", "stream_length": 64}]
    _saved(fig, tmp_path)


def test_palette_is_okabe_ito():
    assert PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73") and len(set(PALETTE)) == 8


def test_curve_styles_encode_generator_sharing_and_upscaling():
    res = syn.emulate_results()
    extra = []
    for s in res["settings"][:3]:
        extra.append({**s, "config": {**s["config"], "share": 8, "upscale": False}})
    res["settings"] += extra
    st = curve_styles(res)
    lfsr1, sobol1 = st["lfsr share=1 upscale max=or bit"], st["sobol share=1 upscale max=or bit"]
    lfsr8 = st["lfsr share=8 rotate no-upscale max=or bit"]
    assert lfsr1["color"] != sobol1["color"] and lfsr1["ls"] == sobol1["ls"]
    assert lfsr8["color"] == lfsr1["color"] and lfsr8["ls"] != lfsr1["ls"]
    assert lfsr1["mfc"] == lfsr1["color"] and lfsr8["mfc"] == "white"
    res["settings"] += [{**s, "config": {**s["config"], "decorrelate": "xor"}} for s in extra]
    assert curve_styles(res)["lfsr share=8 xor no-upscale max=or bit"]["ls"] != lfsr8["ls"]


def test_log_axes_get_plain_tick_labels(tmp_path):
    fig = error_vs_length(syn.emulate_results(), "run")
    _saved(fig, tmp_path)
    ax = fig.fig.axes[0]
    labels = [t.get_text() for t in ax.xaxis.get_ticklabels() if t.get_text()]
    assert "256" in labels and not any("^" in t for t in labels)


def test_accuracy_error_bars_wilson_for_one_seed_and_std_over_seeds():
    one = accuracy_vs_length(syn.emulate_results(), "run")
    r = next(r for r in one.rows if r["sng"] == "lfsr" and r["stream_length"] == 64)
    assert (r["low"], r["high"]) == pytest.approx(wilson(0.50, 100)) and r["n_images"] == 100
    assert r["high"] - r["low"] > 0.15  # 100 images: about ±10 points
    three = accuracy_vs_length(syn.emulate_results(seeds=(0, 1, 2)), "run")
    r = next(r for r in three.rows if r["sng"] == "lfsr" and r["stream_length"] == 64)
    assert r["seeds"] == 3 and r["accuracy"] == pytest.approx(0.51)
    assert (r["low"], r["high"]) == pytest.approx((0.50, 0.52))  # mean ± sample std (0.01)
    assert len(three.rows) == 6 and three.fig.axes[0].collections  # bands, one row per setting and L
    cmp = compare_runs([("a", syn.emulate_results()), ("b", syn.emulate_results())])
    assert all(r["low"] < r["accuracy"] < r["high"] for r in cmp.rows)


def _all_figures():
    """Every figure the report draws from the synthetic runs, one family at a time (the caller
    closes each; drawing them all first kept over 20 open, which matplotlib warns about)."""
    one_op = syn.search_results()
    one_op["stages"] = [{"name": "stage1", "ops": ["sep3", "sep3"]}]
    families = (lambda: emulation_figures(syn.emulate_results(), "e"),
                lambda: emulation_figures(syn.emulate_results((0, 1)), "s"),
                lambda: [compare_runs([("a", syn.emulate_results()), ("b", syn.emulate_results(seeds=(0, 1)))])],
                lambda: estimate_figures(syn.estimate_results(), "est"),
                lambda: [training_curves(syn.train_results())],
                lambda: recast_figures([(f"s{k}", syn.recast_results(k)) for k in range(2)]),
                lambda: nas_figures([("n0", syn.search_results()), ("n1", syn.search_results("random", 1)),
                                     ("one", one_op)]),
                lambda: dse_figures([("c", syn.dse_confuciux()), ("e", syn.dse_evolver()), ("b", syn.dse_batchdvfs())]))
    for family in families:
        yield from family()


def _drawn_colors(fig) -> set[str]:
    out = set()
    for ax in fig.axes:
        out |= {to_hex(line.get_color()) for line in ax.get_lines()}
        out |= {to_hex(c) for p in ax.patches for c in (p.get_facecolor(), p.get_edgecolor())}
        out |= {to_hex(c) for col in ax.collections for c in [*col.get_facecolor(), *col.get_edgecolor()]}
        out |= {to_hex(t.get_color()) for t in ax.texts}  # the network drawing colours its op labels
    return out


def test_no_two_series_share_a_colour_in_any_figure():
    for f in _all_figures():
        colours = list(f.metadata()["series"].values())
        assert len(set(colours)) == len(colours), (f.name, f.series)
        assert set(colours) <= _drawn_colors(f.fig), f.name  # the recorded colours are the drawn ones
        if not f.name.startswith("nas-ops"):  # a heat map has a colour scale, not series
            assert colours, f.name
        plt.close(f.fig)


def test_series_colours_are_written_into_the_files(tmp_path):
    fig = totals(syn.estimate_results(), "est")
    meta = fig.metadata()
    assert meta["series"]["systolic-32x32-ws"] != meta["series"]["sc-64x64-L32"]
    paths = _saved(fig, tmp_path)
    assert json.loads(Image.open(paths["png"]).text[PNG_SERIES_KEY]) == meta
    assert json.dumps(meta) in "".join(ET.parse(paths["svg"]).getroot().itertext())


def test_one_family_per_hue_shaded_by_length():
    c = accel_colors(syn.estimate_results())
    assert len(set(c.values())) == 5
    sc = [c[f"sc-64x64-L{L}"] for L in (32, 128, 512)]
    assert sc == shades(distinct_colors(3)[2], 3)  # third family, light (short L) to dark (long L)


def test_colour_helpers_never_repeat():
    for n in (1, 7, 8, 30):
        assert len(set(distinct_colors(n))) == n
    fam = family_colors({f"f{i}": [f"f{i}-L{L}" for L in range(6)] for i in range(9)})
    assert len(set(fam.values())) == 54


def test_ops_heatmap_reads_one_op_and_keeps_its_colour_bar_label(tmp_path):
    r = syn.search_results()
    r["stages"] = [{"name": "stage1", "ops": ["sep3", "sep3"]}]
    fig = ops_per_stage("one", r)
    im = fig.fig.axes[0].images[0]
    assert im.get_clim() == (0, 2)  # a count scale from 0, not a flat block
    assert fig.fig.axes[1].get_ylabel() == "times chosen (edges)"
    _saved(fig, tmp_path)


def test_units_for_people():
    assert number(15523.4) == "15,523" and number(0.01234) == "0.0123" and number(14.53) == "14.5"
    assert number(1.2e-5) == "1.20e-05" and number(0) == "0" and number(float("nan")) == "-"
    assert label("latency_s", "latency") == "latency (µs)" and label("area_um2", "area") == "area (mm²)"
    assert show("energy_pj", 1.46e7) == "14.6 µJ" and show("energy_sc_pj", 2e7) == "20 µJ"
