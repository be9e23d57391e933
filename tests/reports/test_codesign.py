"""The co-design figure and headline: emulate, finetune and estimate runs joined on the model hash."""

from __future__ import annotations

import csv
import re

import pytest

from reports.codesign import Point, codesign_sets, headline, pareto_indices
from reports.report import build_report
from reports.runs import load_runs
from tests.reports.synthetic import _total, emulate_results, write_run

H, TUNED = "a" * 64, "b" * 64


def _emulate(h: str, accs: dict[int, float], seed: int = 0) -> dict:
    res = emulate_results()
    res["identity"] = {"model_sha256": h}
    res["settings"] = [s for s in res["settings"] if s["config"]["sng"] == "lfsr"]
    for s in res["settings"]:
        s["config"]["stream_length"] = L = {64: 32, 256: 64, 1024: 128}[s["config"]["stream_length"]]
        s["accuracy"], s["config"]["seed"] = accs[L], seed
    return res


def _finetune(seed: int, after: float, L: int = 32) -> dict:
    return {"model": "lenet5", "dataset": "digits", "mode": "moments", "n_test_images": 100,
            "sc_config": {"stream_length": L, "sng": "lfsr", "seed": seed}, "bit_accuracy_before": 0.5,
            "bit_accuracy_after": after, "source_float_accuracy": 0.9, "float_accuracy_after": 0.89,
            "history": [{"epoch": 1, "loss": 0.5}], "model_sha256": TUNED, "source_sha256": H}


def _estimate(sc_energy: dict[int, float]) -> dict:
    totals = [_total("systolic-32x32-ws", "systolic", 1e-5, 2.0e7, 4e6),
              _total("spatial-16x16-rs", "spatial", 2e-5, 1.8e7, 5e6, df="rs")]
    totals += [_total(f"sc-64x64-L{L}", "sc", 1e-4 * L, e, 1.5e6, L, "kcp") for L, e in sc_energy.items()]
    return {"model": "lenet5", "input_shape": [1, 1, 8, 8], "estimates": [{"accel": {}, "total": t, "layers": []}
                                                                          for t in totals]}


@pytest.fixture
def runs(tmp_path):
    write_run(tmp_path, "emu", _emulate(H, {32: 0.6, 64: 0.85, 128: 0.895}), "emulate")
    for seed, after in ((0, 0.89), (1, 0.895)):
        write_run(tmp_path, f"ft/seed-{seed}", _finetune(seed, after), "finetune", seed=seed)
    write_run(tmp_path, "est", _estimate({32: 1.0e7, 64: 1.7e7, 128: 3.0e7}), "estimate",
              settings={"model_sha256": H})
    write_run(tmp_path, "other", _estimate({32: 1.0}), "estimate", settings={"model_sha256": "c" * 64})
    return tmp_path


def test_points_join_on_the_hash_and_average_seeds(runs):
    loaded, _ = load_runs([runs / d for d in ("emu", "ft/seed-0", "ft/seed-1", "est", "other")])
    (cs,) = codesign_sets(loaded)  # the estimate of another model joins nothing
    assert cs.model_sha256 == H and cs.float_accuracy == 0.9
    tuned = [p for p in cs.points if p.stage == "SC-aware"]
    assert len(tuned) == 1 and tuned[0].stream_length == 32 and tuned[0].seeds == 2
    assert tuned[0].accuracy == pytest.approx(0.8925) and tuned[0].accuracy_std == pytest.approx(0.00354, abs=1e-5)
    assert tuned[0].energy_pj == 1.0e7
    untuned = {p.stream_length: p.accuracy for p in cs.points if p.stage == "untuned"}
    assert untuned[64] == 0.85 and untuned[128] == 0.895
    # seed 0 at L = 32 measured twice (emulate 0.6, finetune 0.5): their mean is that seed's value
    assert untuned[32] == pytest.approx(((0.6 + 0.5) / 2 + 0.5) / 2)
    binary = sorted((p.accel, p.accuracy) for p in cs.points if p.family == "binary")
    assert binary == [("spatial-16x16-rs", 0.895), ("systolic-32x32-ws", 0.895)]


def test_another_calibration_percentile_is_another_design(runs, tmp_path):
    """A fine-tune that chose percentile 98 measured its untuned model at 98, not at the
    emulate run's 100: the two are separate points (not averaged), labelled by percentile,
    and the tuned model emulated at 100 is not its SC-aware point."""
    ft = _finetune(2, 0.9)
    ft["sc_config"]["calib_percentile"] = 98.0  # the kept epoch's
    ft["calib_percentile_before"] = 99.0        # what "before" ran at: its own point
    write_run(tmp_path, "ft98", ft, "finetune", seed=2)
    emu = _emulate(TUNED, {32: 0.1, 64: 0.1, 128: 0.1}, seed=2)  # the tuned model at p100: other hardware
    write_run(tmp_path, "emu-tuned", emu, "emulate")
    loaded, _ = load_runs([runs / "emu", tmp_path / "ft98", tmp_path / "emu-tuned", runs / "est"])
    (cs,) = codesign_sets(loaded)
    at32 = {(p.stage, p.calib_percentile): p for p in cs.points if p.stream_length == 32}
    assert set(at32) == {("untuned", 100.0), ("untuned", 99.0), ("SC-aware", 98.0)}
    assert at32[("untuned", 100.0)].accuracy == 0.6 and at32[("untuned", 99.0)].accuracy == 0.5
    assert at32[("SC-aware", 98.0)].accuracy == 0.9 and "p98" in at32[("SC-aware", 98.0)].label


def test_headline_picks_the_cheapest_design_within_one_point_of_float(runs):
    loaded, _ = load_runs([runs / d for d in ("emu", "ft/seed-0", "ft/seed-1", "est")])
    (cs,) = codesign_sets(loaded)
    h = headline(cs)
    assert h["best_sc"].stage == "SC-aware" and h["best_sc"].stream_length == 32  # 89.25% >= 89%, 10 uJ
    assert h["best_binary"].accel == "spatial-16x16-rs"  # 18 uJ, below the systolic array's 20
    assert h["sc_wins"] is True and "term" not in h


def test_headline_names_the_cost_term_when_sc_costs_more():
    def p(family, acc, e, mac, dram):
        return Point("x", family, "SC-aware" if family == "sc" else "fixed point", 64 if family == "sc" else None,
                     "lfsr", 1, acc, 0.0, 1, 100, e, 1e-3, 1e6, {"energy_mac_pj": mac, "energy_dram_pj": dram})

    from reports.codesign import CodesignSet
    cs = CodesignSet("m", H, "d", 0.9, [p("sc", 0.895, 3e7, 2.5e7, 0.5e7), p("binary", 0.9, 2e7, 1e7, 1e7),
                                        p("sc", 0.7, 1e7, 0.5e7, 0.5e7)])
    h = headline(cs)
    assert h["sc_wins"] is False and h["term"] == "energy_mac_pj" and h["term_excess_pj"] == pytest.approx(1.5e7)
    assert h["cheaper_sc"].accuracy == 0.7


def test_pareto_front_keeps_only_undominated_points():
    pts = [Point("a", "sc", "untuned", 32, "lfsr", 1, acc, 0, 1, 1, e, e, 1, {}) for acc, e in
           ((0.5, 1.0), (0.6, 2.0), (0.55, 3.0), (0.9, 4.0), (0.9, 5.0))]
    assert pareto_indices(pts) == {0, 1, 3}


def test_report_draws_the_figure_and_states_the_headline(runs, tmp_path):
    rep = build_report([runs / d for d in ("emu", "ft/seed-0", "ft/seed-1", "est")], tmp_path / "rep")
    figs = [f for f, _ in rep.sections["codesign"]]
    assert len(figs) == 1 and not rep.warnings
    files = rep.sections["codesign"][0][1]
    rows = list(csv.DictReader(open(files["csv"])))
    assert {r["stage"] for r in rows} == {"untuned", "SC-aware", "fixed point"}
    assert any(r["pareto_energy"] == "True" and r["stage"] == "SC-aware" for r in rows)
    page = rep.index.read_text()
    table = re.search(r"<table id='codesign'>(.*?)</table>", page, re.S).group(1)
    assert "sc-64x64 L=32 lfsr, SC-aware" in table and "spatial-16x16-rs (fixed point)" in table
    assert "beats the cheapest binary one" in figs[0].caption


def test_a_malformed_finetune_run_is_a_warning_not_a_crash(runs, tmp_path):
    bad = _finetune(0, 0.9)
    del bad["sc_config"]
    write_run(runs, "bad", bad, "finetune")
    rep = build_report([runs / d for d in ("emu", "bad", "est")], tmp_path / "rep")
    assert any("bad" in w and "sc_config" in w for w in rep.warnings)
    assert rep.index.is_file()


def test_sc_points_are_priced_with_their_own_generator_and_tuned_models_only_where_trained(runs, tmp_path):
    """A Sobol fine-tune has no Sobol-priced estimate: not drawn, and named; an emulate run of the
    fine-tuned model at a length it was not trained for is neither point."""
    write_run(runs, "ft-sobol", {**_finetune(0, 0.9), "sc_config": {"stream_length": 32, "sng": "sobol", "seed": 0},
                                 "model_sha256": "d" * 64}, "finetune")
    other = _emulate(TUNED, {32: 0.1, 64: 0.1, 128: 0.1})  # TUNED was trained for L = 32 only
    write_run(runs, "emu-tuned", other, "emulate")
    loaded, _ = load_runs([runs / d for d in ("emu", "ft/seed-0", "ft-sobol", "emu-tuned", "est")])
    (cs,) = codesign_sets(loaded)
    assert cs.unpriced == ["L=32 sobol"] and not any(p.sng == "sobol" for p in cs.points)
    tuned = [p for p in cs.points if p.stage == "SC-aware"]
    assert [(p.stream_length, round(p.accuracy, 3)) for p in tuned] == [(32, round((0.89 + 0.1) / 2, 3))]


def test_without_an_emulate_run_the_binary_accuracy_is_named_as_missing(runs, tmp_path):
    rep = build_report([runs / d for d in ("ft/seed-0", "est")], tmp_path / "rep")
    (fig,) = [f for f, _ in rep.sections["codesign"]]
    assert "No emulate run of this model gives the binary presets' fixed-point accuracy" in fig.caption
    table = re.search(r"<table id='codesign'>(.*?)</table>", rep.index.read_text(), re.S).group(1)
    assert "no fixed-point accuracy measured" in table


def test_a_finetune_result_with_impossible_numbers_is_refused_by_the_schema(runs, tmp_path):
    from reports.schema import problems
    bad = {**_finetune(0, 7.5), "sc_config": {"stream_length": 16.5, "sng": "lfsr", "seed": 0}}
    found = problems("finetune", bad)
    assert any("bit_accuracy_after 7.5" in p for p in found) and any("stream_length 16.5" in p for p in found)
    nan = _finetune(0, float("nan"))
    assert any("bit_accuracy_after nan" in p for p in problems("finetune", nan))


def test_a_finetune_that_kept_the_source_leaves_the_source_untuned(runs, tmp_path):
    """A fine-tune whose kept epoch is 0 writes the source's own weights (same hash). The
    source's emulate runs stay untuned, and its fixed-point accuracy still prices the binary
    presets (they vanished from the figure when such a run made the source count as tuned)."""
    kept_source = {**_finetune(2, 0.7), "model_sha256": H, "kept_epoch": 0}
    write_run(tmp_path, "ft/seed-2", kept_source, "finetune", seed=2)
    loaded, _ = load_runs([runs / d for d in ("emu", "ft/seed-0", "ft/seed-1", "ft/seed-2", "est")])
    (cs,) = codesign_sets(loaded)
    binary = sorted((p.accel, p.accuracy) for p in cs.points if p.family == "binary")
    assert binary == [("spatial-16x16-rs", 0.895), ("systolic-32x32-ws", 0.895)]
    untuned = {p.stream_length: p.accuracy for p in cs.points if p.stage == "untuned"}
    assert untuned[64] == 0.85 and untuned[128] == 0.895
    tuned = [p for p in cs.points if p.stage == "SC-aware"]
    assert len(tuned) == 1 and tuned[0].seeds == 3
    assert tuned[0].accuracy == pytest.approx((0.89 + 0.895 + 0.7) / 3)


def test_seeds_that_chose_their_own_percentile_are_one_design(runs, tmp_path):
    """--calib-percentile auto lets each seed choose (here 97 and 98): the setting, and so the
    design, is the same, so its point averages both seeds (keyed by the value, one lucky seed
    became a design of its own and could win the headline alone)."""
    for seed, (after, pct) in enumerate(((0.80, 97.0), (0.90, 98.0))):
        r = _finetune(seed, after, L=64)
        r["sc_config"]["calib_percentile"] = pct
        r["calib_search"] = {"images": 100, "bit_accuracy": {"98.0": 0.8}, "chosen": pct}
        write_run(tmp_path, f"auto/seed-{seed}", r, "finetune", seed=seed)
    loaded, _ = load_runs([runs / d for d in ("emu", "auto/seed-0", "auto/seed-1", "est")])
    (cs,) = codesign_sets(loaded)
    tuned = [p for p in cs.points if p.stage == "SC-aware" and p.stream_length == 64]
    assert len(tuned) == 1 and tuned[0].seeds == 2 and tuned[0].calib_percentile is None
    assert tuned[0].accuracy == pytest.approx(0.85) and "p auto" in tuned[0].label


def test_an_auto_tuned_model_emulated_where_it_was_tuned_joins_its_p_auto_design(runs, tmp_path):
    """`scnas emulate --model RUN` of an auto fine-tune runs at the percentile its seed chose:
    that measurement is one more of the seed's values in the "p auto" design, not a one-seed
    design of its own (which could win the headline alone)."""
    for seed, (after, pct) in enumerate(((0.80, 97.0), (0.90, 98.0))):
        r = {**_finetune(seed, after, L=32), "model_sha256": f"{seed}" * 64}
        r["sc_config"]["calib_percentile"] = pct
        r["calib_search"] = {"images": 100, "bit_accuracy": {"98.0": 0.8}, "chosen": pct}
        write_run(tmp_path, f"auto/seed-{seed}", r, "finetune", seed=seed)
    emu = _emulate("1" * 64, {32: 0.94, 64: 0.5, 128: 0.5}, seed=1)  # seed 1's model, at its own p98
    for s in emu["settings"]:
        s["config"]["calib_percentile"] = 98.0
    write_run(tmp_path, "emu-tuned", emu, "emulate")
    loaded, _ = load_runs([runs / d for d in ("emu", "auto/seed-0", "auto/seed-1", "emu-tuned", "est")])
    (cs,) = codesign_sets(loaded)
    tuned = [p for p in cs.points if p.stage == "SC-aware"]
    assert len(tuned) == 1 and tuned[0].calib_percentile is None and tuned[0].seeds == 2
    assert tuned[0].accuracy == pytest.approx((0.80 + (0.90 + 0.94) / 2) / 2)


def test_a_setting_at_a_length_no_estimate_has_is_named_for_its_length(runs, tmp_path):
    """The teacher emulated at L = 1024 with only L = 32-128 estimated: the caption names the
    length, not the generator or sharing, as what is missing."""
    emu = _emulate(H, {32: 0.6, 64: 0.85, 128: 0.895})
    emu["settings"][0]["config"]["stream_length"] = 1024
    write_run(tmp_path, "emu1024", emu, "emulate")
    loaded, _ = load_runs([runs / d for d in ("emu1024", "est")])
    (cs,) = codesign_sets(loaded)
    assert cs.unestimated == ["L=1024 lfsr"] and cs.unpriced == []
