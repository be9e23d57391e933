"""`scnas report` never replaces or deletes a file it did not write, keeps figures of slug-alike
runs apart, survives absurdly nested files and writes files with the user's umask (issue 24)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import reports.figure
from reports.figure import umask
from reports.outdir import MARKER
from reports.report import ReportError, build_report
from scnas.cli import main
from tests.reports import synthetic as syn


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes); links and directories are named with None."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


def _train(root: Path, name: str = "teacher", loss: float = 1.0) -> Path:
    res = syn.train_results()
    for h in res["history"]:
        h["loss"] *= loss
    return syn.write_run(root, name, res, "train")


def _users_dir(root: Path) -> Path:
    d = root / "mine"
    (d / "figures").mkdir(parents=True)
    (d / "figures" / "x.png").write_bytes(b"\x89PNG my plot")
    (d / "figures" / "data.csv").write_text("a,b\n1,2\n")
    (d / "index.html").write_text("<html>my homepage</html>")
    (d / "notes.txt").write_text("do not lose me")
    return d


def _cli_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    return err.strip()


def test_cli_refuses_a_users_directory_and_leaves_every_file_as_it_was(tmp_path, capsys):
    run, mine = _train(tmp_path), _users_dir(tmp_path)
    before = _tree(mine)
    assert main(["report", str(run), "--out", str(mine)]) == 2
    err = _cli_error(capsys)
    assert err == (f"scnas: error: --out {mine} holds files that scnas report did not write, and it never "
                   "replaces or deletes those; give an empty or new --out.")
    assert _tree(mine) == before  # byte-identical, and nothing added (not even a lock file)


def test_library_refuses_a_users_directory_even_with_only_a_page_or_a_report_json(tmp_path):
    run = _train(tmp_path)
    for name in ("index.html", "report.json", "figures/x.png"):
        d = tmp_path / name.replace("/", "_")
        (d / name).parent.mkdir(parents=True)
        (d / name).write_text("mine")
        before = _tree(d)
        with pytest.raises(ReportError, match="did not write.*give an empty or new --out"):
            build_report([run], d)
        assert _tree(d) == before


def test_rerun_into_its_own_directory_keeps_a_users_files(tmp_path, capsys):
    run, out = _train(tmp_path), tmp_path / "rep"
    assert main(["report", str(run), "--out", str(out)]) == 0
    listed = json.loads((out / MARKER).read_text())["files"]
    assert {"index.html", "report.json", "config.toml", "figures/teacher-training.png"} <= set(listed)
    (out / "figures" / "mine.png").write_bytes(b"my own figure")
    (out / "notes.txt").write_text("mine")
    keep = {k: v for k, v in _tree(out).items() if k in ("figures/mine.png", "notes.txt")}
    other = _train(tmp_path, "other")
    assert main(["report", str(other), "--out", str(out)]) == 0
    after = _tree(out)
    assert {k: after.get(k) for k in keep} == keep
    assert "figures/teacher-training.png" not in after and "figures/other-training.png" in after  # none stale
    assert "Traceback" not in capsys.readouterr().err


def test_a_users_file_at_a_figure_name_is_not_replaced(tmp_path):
    out = tmp_path / "rep"
    build_report([_train(tmp_path)], out)
    (out / "figures" / "other-training.png").write_bytes(b"mine")
    with pytest.raises(ReportError, match="other-training.png was not written by scnas report"):
        build_report([_train(tmp_path, "other")], out)
    assert (out / "figures" / "other-training.png").read_bytes() == b"mine"


def test_an_old_report_without_marker_is_refreshed_through_its_manifest(tmp_path):
    out = tmp_path / "rep"
    build_report([_train(tmp_path)], out)
    (out / MARKER).unlink()  # as the report wrote it before the marker existed
    (out / "figures" / "mine.png").write_bytes(b"my own figure")
    build_report([_train(tmp_path, "other")], out)
    assert (out / "figures" / "mine.png").read_bytes() == b"my own figure"
    assert not (out / "figures" / "teacher-training.png").exists()
    (out / MARKER).unlink()
    (out / "index.html").write_text("<html>not the report's page</html>")
    with pytest.raises(ReportError, match="did not write"):
        build_report([_train(tmp_path)], out)
    assert (out / "figures" / "other-training.png").is_file()


def test_cli_refreshes_an_old_report_it_made_before_the_marker(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(_train(tmp_path)), "--out", str(out)]) == 0
    (out / MARKER).unlink()  # index.html, report.json, config.toml, .lock and figures/ as the old code left them
    (out / "notes.txt").write_text("mine")
    assert main(["report", str(_train(tmp_path, "other")), "--out", str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine" and not (out / "figures" / "teacher-training.png").exists()
    assert "config.toml" in json.loads((out / MARKER).read_text())["files"]
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("marker", ["{", '{"scnas_report": 1, "files": ["../outside.txt"]}',
                                    '{"scnas_report": 1, "files": ["/etc/passwd"]}', "[]"])
def test_a_damaged_marker_is_refused_and_nothing_deleted(tmp_path, marker):
    out = tmp_path / "rep"
    out.mkdir()
    (out / MARKER).write_text(marker)
    (tmp_path / "outside.txt").write_text("mine")
    with pytest.raises(ReportError, match=f"damaged {MARKER} file.*give an empty or new --out"):
        build_report([_train(tmp_path)], out)
    assert (tmp_path / "outside.txt").read_text() == "mine"


def test_figures_linked_elsewhere_are_refused(tmp_path):
    out, elsewhere = tmp_path / "rep", tmp_path / "elsewhere"
    build_report([_train(tmp_path)], out)
    elsewhere.mkdir()
    (elsewhere / "teacher-training.png").write_bytes(b"mine")
    for p in (out / "figures").iterdir():
        p.unlink()
    (out / "figures").rmdir()
    (out / "figures").symlink_to(elsewhere)
    with pytest.raises(ReportError, match="did not write"):
        build_report([_train(tmp_path)], out)
    assert (elsewhere / "teacher-training.png").read_bytes() == b"mine"


def test_slug_alike_run_names_keep_both_figures(tmp_path):
    a = _train(tmp_path / "a", "Run A", loss=1.0)
    b = _train(tmp_path / "b", "run-a", loss=2.0)
    rep = build_report([a, b], tmp_path / "out")
    figs = tmp_path / "out" / "figures"
    assert (figs / "run-a-training.csv").read_text() != (figs / "run-a-2-training.csv").read_text()
    assert (figs / "run-a-training.png").read_bytes() != (figs / "run-a-2-training.png").read_bytes()
    page = rep.index.read_text()
    assert "figures/run-a-training.png" in page and "figures/run-a-2-training.png" in page
    assert len({p["png"] for _, p in rep.figures}) == 2


def test_figure_names_are_unique_within_a_report(tmp_path, monkeypatch):
    import reports.report
    from reports.fig_train import training_curves

    monkeypatch.setitem(reports.report._PER_RUN, "train",
                        lambda run, name: [training_curves(run.results, "same"), training_curves(run.results, "same")])
    rep = build_report([_train(tmp_path)], tmp_path / "out")
    assert [f.name for f, _ in rep.figures] == ["same-training", "same-training-2"]
    assert all(p.is_file() for _, files in rep.figures for p in files.values())


@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000,
                                  '{"history": [], "test_accuracy": 0.9, "seed": ' + "[" * 500 + "]" * 500 + "}"])
def test_deeply_nested_results_are_a_warning_not_a_traceback(tmp_path, capsys, text):
    good, deep = _train(tmp_path), tmp_path / "deep"
    deep.mkdir()
    (deep / "results.json").write_text(text)
    assert main(["report", str(good), str(deep), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{deep}/results.json: unreadable, nested more than 64 levels deep" in err
    page = (tmp_path / "out" / "index.html").read_text()
    assert "unreadable, nested more than 64 levels deep" in page and "teacher-training.png" in page


def test_deeply_nested_config_is_a_warning(tmp_path):
    run = _train(tmp_path)
    (run / "config.toml").write_text('command = "train"\nseed = ' + "[" * 2000 + "]" * 2000 + "\n")
    rep = build_report([run], tmp_path / "out")
    assert rep.warnings == [f"{run}/config.toml: nested more than 64 levels deep; the run is shown without "
                            "its config."]
    assert len(rep.figures) == 1


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, capsys, mask, mode):
    run = _train(tmp_path)
    old = os.umask(mask)
    try:
        assert umask() == mask
        assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != ".lock"]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: oct(mode) for p in files}
    assert {p.relative_to(tmp_path / "out").as_posix() for p in files} >= {
        "index.html", "report.json", MARKER, "config.toml", "figures/teacher-training.png",
        "figures/teacher-training.csv", "figures/teacher-training.svg", "figures/teacher-training.pdf"}


def test_umask_without_proc(tmp_path, monkeypatch):
    monkeypatch.setattr(reports.figure, "_STATUS", tmp_path / "no-proc")
    old = os.umask(0o027)
    try:
        assert umask() == 0o027
        reports.figure.write_text_atomic(tmp_path / "page.html", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "page.html").stat().st_mode & 0o777 == 0o640
