"""scripts/keep_results.py: copies finished runs' records, never clobbers or deletes, refuses
what would flatten or nest runs with one sentence and exit code 2."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("keep_results", ROOT / "scripts" / "keep_results.py")
keep_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(keep_results)


def _run(d: Path, value: int | None) -> None:
    d.mkdir(parents=True)
    (d / "config.toml").write_text('command = "finetune"\n')
    if value is not None:
        (d / "results.json").write_text(json.dumps({"x": value}))
    (d / "model.pt").write_bytes(b"weights")


def test_copies_records_only_and_keeps_a_differing_copy(tmp_path, capsys):
    runs, dest = tmp_path / "runs", tmp_path / "kept"
    _run(runs / "a" / "seed-0", 1)
    _run(runs / "b", None)  # unfinished
    assert keep_results.main([str(runs), str(dest)]) == 0
    assert sorted(p.name for p in (dest / "a" / "seed-0").iterdir()) == ["config.toml", "results.json"]
    assert not (dest / "b").exists() and "skipped" in capsys.readouterr().out
    (runs / "a" / "seed-0" / "results.json").write_text(json.dumps({"x": 2}))
    assert keep_results.main([str(runs), str(dest)]) == 1  # the kept copy differs: kept, named
    assert json.loads((dest / "a" / "seed-0" / "results.json").read_text()) == {"x": 1}
    assert "kept the existing" in capsys.readouterr().out
    assert keep_results.main([str(runs), str(dest), "--replace"]) == 0
    assert json.loads((dest / "a" / "seed-0" / "results.json").read_text()) == {"x": 2}


def test_bad_input_is_one_sentence_and_exit_2(tmp_path, capsys):
    runs = tmp_path / "runs"
    _run(runs / "a" / "seed-0", 1)
    (tmp_path / "file").write_text("x")
    cases = [([str(tmp_path / "nope"), str(tmp_path / "d")], "is not a directory"),
             ([str(runs / "a" / "seed-0"), str(tmp_path / "d")], "is itself a run"),
             ([str(runs), str(runs / "kept")], "is inside RUNS_DIR"),
             ([str(runs), str(tmp_path / "file")], "is not a directory"),
             ([str(runs), str(tmp_path / "d"), "--teacher", str(tmp_path / "nope")], "with a model.pt")]
    for argv, said in cases:
        assert keep_results.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    assert not (tmp_path / "d").exists() and not (runs / "kept").exists()


def test_a_file_another_copy_writes_meanwhile_is_not_replaced(tmp_path, monkeypatch, capsys):
    runs, dest = tmp_path / "runs", tmp_path / "kept"
    _run(runs / "a", 1)
    real = keep_results.atomic_write_bytes

    def racing(path, data, exclusive=False):  # another keep_results gets there first
        if not Path(path).exists():
            Path(path).write_text("theirs")
        return real(path, data, exclusive)

    monkeypatch.setattr(keep_results, "atomic_write_bytes", racing)
    assert keep_results.main([str(runs), str(dest)]) == 1
    assert (dest / "a" / "results.json").read_text() == "theirs"
    assert "another copy wrote it meanwhile" in capsys.readouterr().out


def test_a_kill_mid_write_leaves_no_half_file(tmp_path, monkeypatch):
    runs, dest = tmp_path / "runs", tmp_path / "kept"
    _run(runs / "a", 1)
    # the process is stopped inside the write (after the temporary file is made)
    monkeypatch.setattr(keep_results.atomic_write_bytes.__globals__["os"], "fdopen",
                        lambda fd, mode: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        keep_results.main([str(runs), str(dest)])
    assert not any(p.is_file() for p in dest.rglob("*")), list(dest.rglob("*"))
