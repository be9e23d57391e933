"""Markdown tables from result files: the recasting table over seeds."""

from __future__ import annotations

import json
import statistics

from reports.tables import nas_table, recast_rows, recast_table
from tests.reports import synthetic as syn


def _seeds() -> list[dict]:
    runs = []
    for seed, acc in ((0, 0.90), (1, 0.91), (2, 0.95)):
        r = syn.recast_results(seed)
        r["models"][1]["accuracy"] = acc
        r["sc_emulation"] = {"stream_length": 256, "images": 100, "teacher_accuracy": 0.9,
                             "student_accuracy": acc - 0.1}
        runs.append(r)
    return runs


def test_recast_rows_group_seeds_by_plan_and_kind():
    rows = recast_rows(_seeds())
    assert [g["kind"] for g in rows] == ["teacher", "student", "baseline"]  # syn baselines carry no kind
    student = rows[1]
    assert student["seeds"] == [0, 1, 2]
    assert student["columns"]["accuracy"] == [0.90, 0.91, 0.95]
    assert student["columns"]["sc_accuracy"] == [0.80, 0.81, 0.85]
    assert "sc_accuracy" not in rows[2]["columns"]  # the bit-true check runs on teacher and student only
    assert len(rows[2]["columns"]["accuracy"]) == 6  # two baselines per run, no "baseline" key: one group


def test_recast_table_prints_mean_and_sample_std():
    runs = _seeds()
    for r in runs:
        r["models"][2]["baseline"] = "scratch"
        r["models"][3]["baseline"] = "pruned"
    table = recast_table(runs).splitlines()
    assert len(table) == 2 + 4
    student = next(line for line in table if "| student |" in line)
    m, s = 100 * statistics.fmean([0.90, 0.91, 0.95]), 100 * statistics.stdev([0.90, 0.91, 0.95])
    assert f"{m:.2f} ± {s:.2f}" in student
    assert [line.split("|")[2].strip() for line in table[2:]] == ["teacher", "student", "scratch", "pruned"]


def test_recast_table_single_run_has_no_spread(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(syn.recast_results(0)))
    line = next(x for x in recast_table([path]).splitlines() if "| student |" in x)
    assert "±" not in line and "91.50" in line


def test_nas_table_groups_methods_over_seeds_and_lists_ops_per_stage():
    from tests.reports.synthetic import search_results

    runs = [search_results("random", s) for s in (0, 1, 2)] + [search_results("darts", 0)]
    lines = nas_table(runs).splitlines()
    darts = next(x for x in lines if x.startswith("| reduced DARTS | 1 |"))
    rnd = next(x for x in lines if x.startswith("| random | 3 |"))
    assert lines.index(darts) < lines.index(rnd)  # reduced DARTS, random, then the InheritedNAS rows
    assert "| 86.00 ± 1.00 |" in rnd and "| 110 ± 10 |" in rnd  # mean ± sample std over seeds
    assert "| 85.00 |" in darts
    assert "| random | 2 | sep3, skip, sep3 | sep5, max3, dil3 |" in lines


def test_table_main_skips_runs_without_results_and_fails_when_none_has_one(tmp_path, capsys):
    import json

    from reports.tables import table_main
    from tests.reports.synthetic import search_results

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(search_results("darts")))
    assert table_main([str(tmp_path / "a"), str(tmp_path / "b")], nas_table, "nas_table") == 0
    out = capsys.readouterr()
    assert "| reduced DARTS | 1 |" in out.out and f"skipped {tmp_path / 'b'}" in out.err
    assert table_main([str(tmp_path / "b")], nas_table, "nas_table") == 2
    assert "nas_table: no results.json" in capsys.readouterr().err


def test_page_columns_read_in_units_people_use():
    from reports.tables import column_cell, column_header, over_budget

    assert column_header("latency_s") == "latency (µs)" and column_cell("latency_s", 1.55e-2) == "15,500"
    assert column_header("energy_pj") == "energy (µJ)" and column_cell("energy_pj", 2.5e7) == "25"
    assert column_header("area_um2") == "area (mm²)" and column_cell("area_um2", 1.5e6) == "1.5"
    assert column_header("latency_sc_s_mean") == "latency sc mean (µs)"
    assert column_header("accuracy_std") == "accuracy std (%)" and column_cell("accuracy_std", 0.012) == "1.2"
    assert column_cell("latency_cycles", 9e5) == "900,000" and "e" not in column_cell("energy_pj", 3.3e9)
    assert column_cell("seed", 1000) == "1000" and column_cell("optimal", False) == "no"
    assert over_budget({"feasible": False}) and not over_budget({"feasible": True})
    assert over_budget({"power_cap_w": 0.5, "batch": None}) and not over_budget({"power_cap_w": 2, "batch": 8})
