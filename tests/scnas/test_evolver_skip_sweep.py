"""scripts/evolver_skip_sweep.py: each row is the search `scnas dse evolver` runs at those
thresholds (same skips, counts and chosen policy), tighter cost thresholds skip more, and no
policy that meets the thresholds is ever skipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sc_accel.hw import presets
from scnas.data import load_dataset
from scnas.dse_run import run_evolver
from scnas.train import load_model

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("evolver_skip_sweep", ROOT / "scripts" / "evolver_skip_sweep.py")
sweep_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep_mod)

KW = dict(episodes=25, eval_images=60, final_images=60, calib_images=60, seed=0, lengths=(16, 64, 256))


def test_each_row_is_the_search_run_alone_and_tight_cost_thresholds_skip_more(teacher, tmp_path):
    model, _ = load_model(teacher)
    ds = load_dataset("digits")
    accel = presets()["sc-64x64-L256"]
    rows = sweep_mod.sweep(model, ds, accel, [30.0, 10.0], [0.9, 0.2], progress=lambda s: None, **KW)
    assert [(r["acc_drop"], r["cost_th"]) for r in rows] == [(30.0, 0.9), (30.0, 0.2), (10.0, 0.9), (10.0, 0.2)]
    for r in rows:
        assert r["wrongly_skipped"] == 0
        assert r["skip_rate"] == r["skipped"] / 25 and 0 < r["proxy_scored"] <= 25 - r["skipped"]
        assert r["bit_checked"] <= 5
    assert rows[1]["skip_rate"] > rows[0]["skip_rate"] and rows[3]["skip_rate"] > rows[2]["skip_rate"]
    # the tight row, run alone through the command's own function into a run directory
    alone = run_evolver(model, "lenet5", ds, accel, tmp_path / "ev", KW["lengths"], KW["episodes"],
                        KW["eval_images"], KW["final_images"], KW["calib_images"], 30.0, 0.2, 0.2, progress=False)
    ev, r = alone["evolver"], rows[1]
    assert (ev["skipped"], ev["accuracy_evaluations"], len(ev["verification"])) == (
        r["skipped"], r["proxy_scored"], r["bit_checked"])
    if r["best"] is None:
        assert not ev["layers"]
    else:
        assert [x["stream_length"] for x in ev["layers"]] == r["best"]["stream_lengths"]
        assert ev["bit_accuracy"] == r["best"]["bit_accuracy_test"] and ev["energy_j"] == r["best"]["energy_j"]
    table = sweep_mod.table(rows, 60)
    assert table.count("\n") == 1 + len(rows) and "| 0.2 |" in table
