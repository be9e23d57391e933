"""`scnas report` end to end on synthetic run directories: the page, its files and warnings."""

from __future__ import annotations

import ast
import csv
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports.report import ReportError, build_report
from reports.runs import load_runs
from scnas.cli import main
from tests.reports import synthetic as syn

ROOT = Path(__file__).resolve().parents[2]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.src, self.href = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.src.append(a["src"])
        if tag == "a" and not a.get("href", "#").startswith("#"):
            self.href.append(a["href"])


def _all_runs(root: Path) -> list[Path]:
    return [syn.write_run(root, "emu", syn.emulate_results(), "emulate"),
            syn.write_run(root, "est", syn.estimate_results(), "estimate"),
            syn.write_run(root, "teacher", syn.train_results(), "train"),
            syn.write_run(root, "recast-s0", syn.recast_results(0), "recast"),
            syn.write_run(root, "nas-lat", syn.search_results(), "search"),
            syn.write_run(root, "nas-rand", syn.search_results("random"), "search"),
            syn.write_run(root, "cfx", syn.dse_confuciux(), "dse"),
            syn.write_run(root, "evo", syn.dse_evolver(), "dse")]


def test_page_lists_every_run_and_every_file_it_links_exists(tmp_path):
    runs = _all_runs(tmp_path / "runs")
    rep = build_report(runs, tmp_path / "out")
    page = rep.index.read_text()
    assert not rep.warnings
    for r in runs:
        assert f"id='run-{r.name}'" in page and str(r) in page
    for section in ("SC emulation", "Hardware estimator", "Recasting", "Architecture search", "design-space"):
        assert section in page
    links = _Links()
    links.feed(page)
    assert len(links.src) == len(rep.figures) >= 18
    for ref in links.src + links.href:
        assert (rep.index.parent / ref).is_file(), ref
    assert {Path(h).suffix for h in links.href} == {".png", ".svg", ".pdf", ".csv"}
    assert all(f"href='{src}' title='open full size'><img src='{src}'" in page for src in links.src)
    assert "scnas emulate --out emu" in page and "2026-12-01 10:00 UTC" in page  # run metadata
    assert page.count("<table>") == 3  # runs, the estimate totals and the ConfuciuX table


def test_kind_from_results_when_config_is_missing(tmp_path):
    run = syn.write_run(tmp_path, "old", syn.emulate_results())
    runs, warnings = load_runs([run])
    assert runs[0].kind == "emulate" and not warnings
    assert runs[0].meta["command"] == "scnas emulate" and runs[0].meta["version"] == "unknown"


def test_malformed_and_missing_files_become_warnings(tmp_path):
    good = syn.write_run(tmp_path, "good", syn.emulate_results(), "emulate")
    bad_json = tmp_path / "badjson"
    bad_json.mkdir()
    (bad_json / "results.json").write_text('{"settings": [')
    no_results = tmp_path / "empty"
    no_results.mkdir()
    broken = syn.emulate_results()
    del broken["settings"][0]["layer_error"]
    missing_key = syn.write_run(tmp_path, "missing-key", broken, "emulate")
    listed = syn.write_run(tmp_path, "list", [1, 2])
    rep = build_report([good, bad_json, no_results, missing_key, listed, tmp_path / "nowhere"], tmp_path / "out")
    page = rep.index.read_text()
    assert len(rep.warnings) == 5
    for needle in (f"{bad_json}/results.json: not valid JSON", f"{no_results}/results.json: missing",
                   f"{missing_key}/results.json: malformed emulate results: settings[0].layer_error is missing",
                   f"{listed}/results.json: holds a list", f"{tmp_path / 'nowhere'}: not a run directory"):
        assert any(w.startswith(needle) for w in rep.warnings), needle
        assert needle.split(":")[0] in page
    assert "Warnings (5)" in page
    assert page.count("<tr class='skipped'>") == 4  # every run given is listed, shown or not
    assert [r.name for r in rep.runs] == ["good", "missing-key"]
    assert len(rep.figures) == 3  # the good run's figures are still there


def test_same_named_runs_get_distinct_names_and_files(tmp_path):
    a = syn.write_run(tmp_path / "a", "demo", syn.emulate_results(), "emulate")
    b = syn.write_run(tmp_path / "b", "demo", syn.emulate_results(), "emulate")
    rep = build_report([a, b, a], tmp_path / "out")
    assert [r.name for r in rep.runs] == ["demo", "demo-2"]
    assert len({paths["png"] for _, paths in rep.figures}) == 7  # 3 each and their comparison
    assert any("given twice" in w for w in rep.warnings)


def test_cli_report_prints_the_page_path(tmp_path, capsys):
    runs = _all_runs(tmp_path / "runs")[:2]
    assert main(["report", *map(str, runs), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert f"report: {(tmp_path / 'rep' / 'index.html').resolve()}" in out


def test_cli_out_that_is_a_file_exits_2(tmp_path, capsys):
    run = syn.write_run(tmp_path, "emu", syn.emulate_results(), "emulate")
    (tmp_path / "f").write_text("x")
    assert main(["report", str(run), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"scnas: error: --out {tmp_path / 'f'} is a file; give a directory for the run."
    with pytest.raises(ReportError, match="cannot write the report"):
        build_report([run], tmp_path / "f" / "sub")


def test_real_commands_record_how_they_were_made(tmp_path, capsys):
    out = tmp_path / "est"
    assert main(["estimate", "--model", "lenet5", "--accel", "systolic-32x32-ws", "--out", str(out)]) == 0
    rep = build_report([out], tmp_path / "rep")
    meta = rep.runs[0].meta
    assert meta["command"].startswith("scnas estimate --model lenet5") and meta["version"] != "unknown"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", meta["date"])
    assert not rep.warnings and len(rep.figures) == 4


def test_reports_imports_none_of_the_simulator():
    for path in (ROOT / "reports").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in ("sc_accel", "recast", "nas", "scnas")], path
    code = ("import sys, reports.report; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sc_accel', 'recast', 'nas', 'scnas')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True).stdout.strip() == "[]"


def test_results_json_is_only_read(tmp_path):
    run = syn.write_run(tmp_path, "emu", syn.emulate_results(), "emulate")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    build_report([run], tmp_path / "out")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert json.loads((run / "results.json").read_text())["model"] == "lenet5"


def test_rerun_into_the_same_directory_drops_stale_figures(tmp_path):
    emu = syn.write_run(tmp_path, "emu", syn.emulate_results(), "emulate")
    est = syn.write_run(tmp_path, "est", syn.estimate_results(), "estimate")
    first = build_report([emu, est], tmp_path / "out")
    second = build_report([emu], tmp_path / "out")
    left = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert len(first.figures) == 8 and len(second.figures) == 3
    assert left == sorted(p.name for _, files in second.figures for p in files.values())


def test_hostile_names_and_files_are_escaped_or_warned(tmp_path):
    evil = syn.write_run(tmp_path, "<script>alert(1)</script>", syn.emulate_results(), "emulate")
    (evil / "config.toml").write_text('command = "emulate"\nseed = 1\nnote = "</pre><img src=x onerror=alert(2)>"\n')
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "results.json").write_bytes(b"\xff\xfe\x00garbage")
    bad_toml = syn.write_run(tmp_path, "badtoml", syn.train_results())
    (bad_toml / "config.toml").write_text("command = [unclosed\n")
    rep = build_report([evil, binary, bad_toml], tmp_path / "out")
    page = rep.index.read_text()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page
    assert any(w.startswith(f"{binary}/results.json: not valid JSON") for w in rep.warnings)
    assert any(w.startswith(f"{bad_toml}/config.toml: not valid TOML") for w in rep.warnings)
    assert [r.kind for r in rep.runs] == ["emulate", "train"]  # the bad config falls back to the results
    assert all(paths["png"].parent == tmp_path / "out" / "figures" for _, paths in rep.figures)


@pytest.mark.parametrize("kind,mutate,message", [
    ("emulate", lambda r: r["settings"][1].update(accuracy="high"),
     "settings[1].accuracy is 'high', not a finite number"),
    ("emulate", lambda r: r.update(settings=None), "settings is None, not a list"),
    ("emulate", lambda r: r["settings"][0]["layer_error"].update(fc=float("inf")),
     "settings[0].layer_error['fc'] is inf, not a finite number"),
    ("estimate", lambda r: r["estimates"][2]["total"].pop("area_um2"), "estimates[2].total.area_um2 is missing"),
    ("recast", lambda r: r["models"].pop(0), "models hold 0 teachers; the figures need exactly one per run"),
    ("search", lambda r: r["stages"][0]["ops"].append(3), "stages[0].ops[3] is 3, not a string"),
    ("dse", lambda r: r["evolver"].update(skipped=101), "evolver.skipped 101 is outside 0..policies (100)"),
])
def test_wrong_fields_are_named_in_the_warning(tmp_path, kind, mutate, message):
    make = {"emulate": syn.emulate_results, "estimate": syn.estimate_results, "recast": syn.recast_results,
            "search": syn.search_results, "dse": syn.dse_evolver}[kind]
    good = syn.write_run(tmp_path, "good", make(), kind)
    res = make()
    mutate(res)
    bad = syn.write_run(tmp_path, "bad", res, kind)
    rep = build_report([good, bad], tmp_path / "out")
    assert rep.warnings == [f"{bad}/results.json: malformed {kind} results: {message}; its figures are left out."]
    assert [r.name for r in rep.runs] == ["good", "bad"] and rep.figures  # the good run is still drawn


def test_unfinished_and_uneven_runs(tmp_path):
    empty = syn.emulate_results()
    empty["settings"] = []
    unfinished = syn.write_run(tmp_path, "unfinished", empty, "emulate")
    est = syn.estimate_results()
    est["estimates"][1]["layers"] = est["estimates"][1]["layers"][:1]  # a layer missing on one design
    uneven = syn.write_run(tmp_path, "uneven", est, "estimate")
    rep = build_report([unfinished, uneven], tmp_path / "out")
    assert rep.warnings == [f"{unfinished}/results.json: nothing to draw yet (an unfinished run?)."]
    assert len(rep.figures) == 5


def test_several_emulate_runs_get_a_comparison_and_a_manifest(tmp_path):
    other = syn.emulate_results()
    other["model"], other["float_accuracy"] = "resnet20", 0.92
    a = syn.write_run(tmp_path, "a", syn.emulate_results(), "emulate")
    b = syn.write_run(tmp_path, "b", other, "emulate")
    rep = build_report([a, b], tmp_path / "out")
    comp = next(f for f, _ in rep.figures if f.name == "emulate-comparison")
    row = next(r for r in comp.rows if r["run"] == "b" and r["stream_length"] == 1024 and "sobol" in r["setting"])
    assert row["vs_float"] == pytest.approx(0.89 - 0.92)
    manifest = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["name"] for r in manifest["runs"]] == ["a", "b"]
    assert len(manifest["figures"]) == 7 and {f["section"] for f in manifest["figures"]} == {"emulate"}
    for f in manifest["figures"]:
        assert all((tmp_path / "out" / p).is_file() for p in f["files"].values())


def test_ctrl_c_stops_with_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    import scnas.commands.report

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(scnas.commands.report, "build_report", interrupted)
    run = syn.write_run(tmp_path, "emu", syn.emulate_results(), "emulate")
    assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err == "scnas: interrupted; what was already saved in the run directory is kept.\n"


def test_a_figure_that_cannot_be_written_is_one_sentence(tmp_path, monkeypatch):
    import reports.report

    def full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(reports.report, "save_figure_set", full)
    run = syn.write_run(tmp_path, "emu", syn.emulate_results(), "emulate")
    with pytest.raises(ReportError, match=r"cannot write figures to .*\(No space left on device\); free space"):
        build_report([run], tmp_path / "out")


def test_cli_walks_a_directory_of_runs_in_path_order(tmp_path, capsys):
    root = tmp_path / "runs"
    syn.write_run(root / "b" / "deep", "est", syn.estimate_results(), "estimate")
    emu = syn.write_run(root / "a", "emu", syn.emulate_results(), "emulate")
    syn.write_run(emu, "inside", syn.train_results(), "train")  # a run's own files are not walked
    syn.write_run(root / ".hidden", "old", syn.train_results(), "train")
    syn.write_run(root, "c", syn.train_results(), "train")
    assert main(["report", str(root), "--out", str(root / "rep")]) == 0
    assert "from 3 runs" in capsys.readouterr().out
    assert main(["report", str(root), "--out", str(root / "rep")]) == 0  # its own output is skipped
    manifest = json.loads((root / "rep" / "report.json").read_text())
    assert [r["path"] for r in manifest["runs"]] == [str(emu), str(root / "b" / "deep" / "est"), str(root / "c")]


def test_cli_says_so_when_a_directory_holds_no_run(tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no run directory (one holding results.json or config.toml) in " \
        f"{tmp_path / 'empty'}" in err
    assert not (tmp_path / "rep").exists()


def test_a_teacher_trained_by_emulate_records_its_own_train_command(tmp_path, monkeypatch):
    import scnas.config
    from scnas.data import load_dataset
    from scnas.train import TrainConfig, train

    monkeypatch.setattr(scnas.config, "_ARGV", ["emulate", "--model", "lenet5", "--dataset", "digits"])
    train(load_dataset("digits"), TrainConfig(model="lenet5", dataset="digits", epochs=1), tmp_path / "t")
    meta = load_runs([tmp_path / "t"])[0][0].meta
    assert meta["command"] == f"scnas train --model lenet5 --dataset digits --epochs 1 --batch-size 128 " \
        f"--lr 0.002 --seed 0 --out {tmp_path / 't'}"
    assert meta["triggered_by"] == "scnas emulate --model lenet5 --dataset digits"


def test_an_older_teacher_run_is_labelled_with_the_command_that_trained_it(tmp_path):
    run = syn.write_run(tmp_path, "t", syn.train_results(), "train")
    (run / "config.toml").write_text('command = "train"\n[run]\nargv = "scnas emulate --model lenet5"\n')
    rep = build_report([run], tmp_path / "out")
    assert "(trained by: <code>scnas emulate --model lenet5</code>)" in rep.index.read_text()


def test_headline_ranks_feasible_designs_and_shows_accuracy_uncertainty(tmp_path):
    from reports.headline import best_designs, designs, model_accuracies
    from reports.stats import mean_std, wilson
    from tests.reports import synthetic_page as sp

    rep = build_report(sp.page_runs(tmp_path / "runs"), tmp_path / "out")
    assert not rep.warnings
    found = designs(rep.runs)[0]
    over = [d for d in found if not d.feasible]
    assert {d.name for d in over} == {"edge: rl, 256 PEs", "batchdvfs under 0.5 W"}
    best = {(data, key): d for data, key, _, d in best_designs(found)}
    assert best["-", "energy_pj"].name == "edge: baseline, 256 PEs"  # edge/rl spends less (1 nJ) but is over budget
    assert best["-", "area_um2"].name == "sc-64x64-L32" and ("-", "accuracy") not in best
    assert best["digits", "energy_pj"].name == "Evolver policy"  # ranked only against designs on digits
    assert best["fashion-mnist", "accuracy"].accuracy == 0.92 and best["fashion-mnist", "accuracy"].kind == "recast"
    emu = next(r for r in model_accuracies(rep.runs) if r.source == "emulate")
    assert emu.runs == ["emu-s0", "emu-s1"] and emu.sc.values == [0.89, 0.88] and emu.sc.n == 1000
    page = rep.index.read_text()
    assert page.index("id='headline'") < page.index("id='runs'") < page.index("id='emulate'")
    m, s = mean_std([0.89, 0.88])
    assert f"{100 * m:.2f} ± {100 * s:.2f}%" in page  # two seeds of one setting
    lo, hi = wilson(0.9, 1000)
    assert f"90.00% <small>[{100 * lo:.1f}, {100 * hi:.1f}] on 1,000 images</small>" in page  # float, both seeds
    assert page.count("<tr class='over'>") == 2 and page.count("<td>over budget</td>") == 2
    assert "0.001 µJ" not in page.split("id='best'")[1].split("</table>")[0]


def test_only_seeds_of_one_setting_share_a_mean(tmp_path):
    """Runs pool into mean ± std only when their config.toml differs in the seed alone, and a
    rerun of a seed already counted is not counted again."""
    from reports.headline import model_accuracies

    def train(name: str, seed: int, epochs: int, acc: float) -> Path:
        return syn.write_run(tmp_path / "runs", name, {**syn.train_results(), "test_accuracy": acc}, "train",
                             seed=seed, settings={"epochs": epochs})

    runs = [train("a0", 0, 1, 0.80), train("a1", 1, 1, 0.70), train("a0-again", 0, 1, 0.80),
            train("b0", 0, 2, 0.90)]
    rep = build_report(runs, tmp_path / "out")
    rows = {tuple(r.runs): r.float.values for r in model_accuracies(rep.runs)}
    assert rows == {("a0", "a1"): [0.80, 0.70], ("b0",): [0.90]}


def test_a_seed_lists_sub_runs_are_named_by_family_and_drawn_as_one_band(tmp_path):
    """emulate --seed 0,1 --out emu writes emu/seed-0 and emu/seed-1: the page names them so, and
    the comparison figure pools them into mean ± std over the two seeds."""
    from tests.reports import synthetic_page as sp

    runs = [syn.write_run(tmp_path / "emu", f"seed-{k}", sp.emulate_seed(k), "emulate", seed=k) for k in (0, 1)]
    rep = build_report(runs, tmp_path / "out")
    assert [r.name for r in rep.runs] == ["emu/seed-0", "emu/seed-1"]
    comparison = next(paths for fig, paths in rep.sections["emulate"] if fig.name == "emulate-comparison")
    rows = list(csv.DictReader(open(comparison["csv"])))
    assert rows and {r["run"] for r in rows} == {"emu (2 seeds)"} and {r["seeds"] for r in rows} == {"2"}
