"""`scnas emulate --edt`: results, figures, resume rules and bad values through the CLI."""

from __future__ import annotations

import json

import pytest

from reports.report import build_report
from scnas.cli import main
from tests.scnas.helpers import cli_error


def _base(teacher, out):
    return ["emulate", "--model", str(teacher), "--dataset", "digits", "--limit", "40", "--stream-length", "64",
            "--sng", "sobol", "--out", str(out)]


@pytest.fixture(scope="module")
def edt_run(teacher, tmp_path_factory):
    out = tmp_path_factory.mktemp("edt") / "e"
    assert main([*_base(teacher, out), "--edt", "margin:2,inf", "stable:1", "--edt-checkpoints", "16,32"]) == 0
    return out


def test_results_hold_the_rules_the_curves_and_the_fixed_lengths(edt_run):
    res = json.loads((edt_run / "results.json").read_text())
    s = res["settings"][0]
    e = s["edt"]
    assert e["checkpoints"] == [16, 32, 64]
    assert [o["label"] for o in e["rules"]] == ["margin:2", "margin:inf", "stable:1"]
    # the fixed-length run at L is the setting itself, and margin:inf never stops early
    assert e["fixed"][-1]["accuracy"] == s["accuracy"] == e["rules"][1]["accuracy"]
    assert e["rules"][1]["prefix_fraction"] == 1.0 and e["rules"][1]["stops"] == [0, 0, 40]
    for o in e["rules"]:
        assert sum(o["stops"]) == 40 and 16 / 64 <= o["prefix_fraction"] <= o["spent_fraction"] <= (16 + 32 + 64) / 64
        assert o["energy_pj"] > 0 and o["latency_s"] > 0
    # energy per image rises with the fixed length (same estimator, longer streams)
    energies = [f["energy_pj"] for f in e["fixed"]]
    assert energies == sorted(energies) and len(set(energies)) == 3
    assert set(e["curves"]) == {"margin", "stable"} and e["relu_clipped"]
    for name in ("edt_tradeoff.png", "edt_relu_settled.png"):
        assert (edt_run / name).stat().st_size > 0


def test_the_report_draws_the_edt_figures(edt_run, tmp_path):
    rep = build_report([str(edt_run)], tmp_path / "r")
    html = rep.index.read_text()
    assert "early decision termination" in html and not rep.warnings
    assert any(f.name.endswith("edt-tradeoff") for f, _ in rep.figures)


def test_a_rerun_with_other_rules_is_refused_by_name(edt_run, teacher, capsys):
    before = (edt_run / "results.json").read_bytes()
    assert main([*_base(teacher, edt_run), "--edt", "margin:3"]) == 2
    msg = cli_error(capsys, whole=False)
    assert "edt" in msg and "margin:3" in msg
    assert main(_base(teacher, edt_run)) == 2  # dropping --edt is a change too
    cli_error(capsys, whole=False)
    assert (edt_run / "results.json").read_bytes() == before


def test_a_plain_run_does_not_take_edt_on_resume(teacher, tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(_base(teacher, out)) == 0
    before = (out / "results.json").read_bytes()
    assert main([*_base(teacher, out), "--edt", "margin:2"]) == 2
    assert "edt None" in cli_error(capsys, whole=False)
    assert (out / "results.json").read_bytes() == before


@pytest.mark.parametrize("extra,message", [
    (["--edt", "margin"], "RULE:VALUES"),
    (["--edt", "guess:2"], "unknown"),
    (["--edt", "stable:0"], "whole number"),
    (["--edt", "margin:-2"], ">= 0"),
    (["--edt-checkpoints", "16"], "needs --edt"),
    (["--edt", "margin:2", "--edt-checkpoints", "0,16"], "positive stream lengths"),
    (["--edt", "margin:2", "--mode", "expected"], "bit-true"),
])
def test_bad_edt_values_are_one_sentence_and_write_nothing(teacher, tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    assert main([*_base(teacher, out), *extra]) == 2
    assert message in cli_error(capsys)
    assert not out.exists()


def test_a_resumed_edt_run_keeps_what_it_has_and_adds_the_rest(teacher, tmp_path):
    out = tmp_path / "grow"
    base = ["emulate", "--model", str(teacher), "--dataset", "digits", "--limit", "30", "--sng", "lfsr",
            "--edt", "stable:1", "--out", str(out)]
    assert main([*base, "--stream-length", "32"]) == 0
    first = json.loads((out / "results.json").read_text())["settings"][0]
    assert main([*base, "--stream-length", "32,64"]) == 0
    settings = json.loads((out / "results.json").read_text())["settings"]
    assert settings[0] == first and settings[1]["edt"]["checkpoints"] == [4, 8, 16, 32, 64]
    assert main(["emulate", "--config", str(out), "--out", str(out)]) == 0  # the recorded command, --edt included
    assert json.loads((out / "results.json").read_text())["settings"] == settings


@pytest.mark.parametrize("damage", [lambda e: e["rules"][0].__setitem__("accuracy", "x"),
                                    lambda e: e.pop("fixed"),
                                    lambda e: e["relu_clipped"].__setitem__("z", {"settled": ["a"]})])
def test_a_damaged_edt_entry_is_refused_on_resume_and_kept(edt_run, teacher, tmp_path, capsys, damage):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(edt_run, out)
    res = json.loads((out / "results.json").read_text())
    damage(res["settings"][0]["edt"])
    (out / "results.json").write_text(json.dumps(res))
    before = (out / "results.json").read_bytes()
    assert main([*_base(teacher, out), "--edt", "margin:2,inf", "stable:1", "--edt-checkpoints", "16,32"]) == 2
    assert "cannot be resumed" in cli_error(capsys, whole=False)
    assert (out / "results.json").read_bytes() == before


@pytest.mark.parametrize("field,value,message", [
    ("checkpoints", [0, 0, 64], "must rise"),
    ("checkpoints", list(range(1, 65)), "must rise"),
    ("fixed", [], "one run per checkpoint"),
    ("relu_clipped", {"r": {"zero": [2.0, 0, 0], "top": [0, 0, 0], "settled": [0, 0, 0]}}, "one share in [0, 1]"),
    ("rules", [{"label": "x", "accuracy": 1e308, "prefix_fraction": 0.5, "spent_fraction": 0.5,
                "energy_pj": 1.0}], "accuracy must be in [0, 1]"),
])
def test_the_report_refuses_crafted_edt_numbers_by_name(edt_run, tmp_path, field, value, message):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(edt_run, out)
    res = json.loads((out / "results.json").read_text())
    res["settings"][0]["edt"][field] = value
    (out / "results.json").write_text(json.dumps(res))
    rep = build_report([str(out)], tmp_path / "r")
    assert any(message in w for w in rep.warnings), rep.warnings
    assert not any(f.name.endswith("edt-tradeoff") for f, _ in rep.figures)
