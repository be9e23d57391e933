"""`scnas emulate` split into (setting, block of images) tasks: one process, a local pool and
local Ray write the same results; every finished part is saved, so a killed run redoes only
what is missing; damaged parts are recomputed; bad --workers / --chunk are one sentence."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import scnas.sweep_tasks as sweep_tasks
from scnas.cli import main
from scnas.data import load_dataset
from scnas.sweep import run_sweep, settings_grid
from scnas.train import load_model
from tests.scnas.helpers import cli_error

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("convert_seconds", "run_seconds", "images_per_s")


def _results(run: Path) -> dict:
    res = json.loads((run / "results.json").read_text())
    for s in res["settings"]:
        for k in TIMING:
            s.pop(k)
    return res


def _sweep(teacher: Path, out: Path, **kw) -> dict:
    model = load_model(teacher)[0]
    configs = settings_grid([32, 64], ["lfsr", "sobol"], [1], [True], ["or"], ["bit"], seed=3)
    run_sweep(model, "lenet5", load_dataset("digits"), configs, out, limit=70, calib_n=50, chunk=25, **kw)
    return _results(out)


def test_one_process_a_pool_and_local_ray_write_the_same_results(teacher, tmp_path):
    import ray

    inline = _sweep(teacher, tmp_path / "inline")
    assert len(list((tmp_path / "inline" / "parts").iterdir())) == 4 * 3  # 4 settings x 3 blocks of images
    assert [s["parts"] for s in inline["settings"]] == [3] * 4
    assert _sweep(teacher, tmp_path / "pool", workers=2) == inline
    try:
        assert _sweep(teacher, tmp_path / "ray", ray="local") == inline
    finally:
        ray.shutdown()


def test_parts_equal_one_pass_over_all_images(teacher, tmp_path):
    """Blocks of 25 images and one block of all 70 give the same accuracies."""
    model = load_model(teacher)[0]
    configs = settings_grid([64], ["lfsr"], [1], [True], ["or"], ["bit"], seed=3)
    for chunk, name in ((25, "parts"), (1000, "whole")):
        run_sweep(model, "lenet5", load_dataset("digits"), configs, tmp_path / name, limit=70, calib_n=50,
                  chunk=chunk)
    a, b = _results(tmp_path / "parts"), _results(tmp_path / "whole")
    assert a["settings"][0]["accuracy"] == b["settings"][0]["accuracy"]
    assert a["settings"][0]["parts"] == 3 and b["settings"][0]["parts"] == 1


def test_a_crash_mid_grid_redoes_only_the_missing_parts(teacher, tmp_path, monkeypatch):
    whole = _sweep(teacher, tmp_path / "whole")
    real, calls = sweep_tasks.emulate_task, []

    def crashing(task: dict) -> dict:
        if len(calls) == 5:
            raise KeyboardInterrupt  # the sixth part never finishes
        calls.append(task["start"])
        return real(task)

    monkeypatch.setattr(sweep_tasks, "emulate_task", crashing)
    with pytest.raises(KeyboardInterrupt):
        _sweep(teacher, tmp_path / "run")
    assert len(list((tmp_path / "run" / "parts").iterdir())) == 5
    calls.clear()
    monkeypatch.setattr(sweep_tasks, "emulate_task", lambda t: calls.append(t["start"]) or real(t))
    assert _sweep(teacher, tmp_path / "run") == whole
    assert len(calls) == 12 - 5  # only what was missing


def test_a_damaged_part_is_recomputed_with_a_warning(teacher, tmp_path, capsys):
    whole = _sweep(teacher, tmp_path / "run")
    part = sorted((tmp_path / "run" / "parts").iterdir())[0]
    part.write_text('{"key": "forged", "hits": 1}')
    (tmp_path / "run" / "results.json").unlink()
    assert _sweep(teacher, tmp_path / "run") == whole
    err = capsys.readouterr().err
    assert f"{part} is damaged (" in err and "); recomputing that part" in err


def test_a_killed_cli_run_resumes_with_nothing_lost(teacher, tmp_path):
    """kill -9 once the first part is on disk; the rerun keeps it and ends as an unbroken run."""
    args = [sys.executable, "-m", "scnas", "emulate", "--model", str(teacher), "--dataset", "digits",
            "--stream-length", "64,128,256", "--limit", "300", "--chunk", "50", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args + ["--out", "killed"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    parts = tmp_path / "killed" / "parts"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (parts.is_dir() and any(parts.glob("*.json"))):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = {p.name: p.read_bytes() for p in parts.glob("*.json")}
    assert kept and len(kept) < 18
    for out in ("killed", "whole"):
        subprocess.run(args + ["--out", out], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert all((parts / name).read_bytes() == data for name, data in kept.items())  # not redone
    assert _results(tmp_path / "killed") == _results(tmp_path / "whole")


@pytest.mark.parametrize("flag,value", [("--workers", "0"), ("--chunk", "0"), ("--workers", "-2")])
def test_bad_workers_or_chunk_is_one_sentence(teacher, tmp_path, flag, value, capsys):
    assert main(["emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32", flag, value,
                 "--out", str(tmp_path / "r")]) == 2
    err = cli_error(capsys)
    assert flag in err and "positive" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("edit", [
    lambda p: p.update(hits=p["stop"] - p["start"] + 1),             # more hits than images
    lambda p: p.update(hits=-1),
    lambda p: p.update(hits=True),
    lambda p: p.pop("run_seconds"),
    lambda p: p.update(layers={"features_0": "abc"}),
    lambda p: p.update(layers={"features_0": [1.0, 2.0]}),
    lambda p: p.update(ident="0" * 64),                              # another run's part under this name
])
def test_a_part_out_of_range_or_of_another_run_is_recomputed(teacher, tmp_path, capsys, edit):
    whole = _sweep(teacher, tmp_path / "run")
    part = sorted((tmp_path / "run" / "parts").iterdir())[1]
    data = json.loads(part.read_text())
    edit(data)
    part.write_text(json.dumps(data))
    (tmp_path / "run" / "results.json").unlink()
    assert _sweep(teacher, tmp_path / "run") == whole
    assert f"{part} is damaged" in capsys.readouterr().err


def test_settings_keep_grid_order_whichever_finished_first(teacher, tmp_path):
    """A setting finished before a kill (here: run alone first) sits where the grid puts it."""
    model = load_model(teacher)[0]
    grid = settings_grid([64, 32], ["lfsr"], [1], [True], ["or"], ["bit"], seed=3)
    for out, parts in (("resumed", (grid[1:], grid)), ("whole", (grid,))):
        for configs in parts:
            run_sweep(model, "lenet5", load_dataset("digits"), configs, tmp_path / out, limit=40, calib_n=20,
                      chunk=25)
    assert _results(tmp_path / "resumed") == _results(tmp_path / "whole")
    assert [s["config"]["stream_length"] for s in _results(tmp_path / "whole")["settings"]] == [64, 32]


def test_each_setting_is_converted_once_in_this_process(teacher, tmp_path, monkeypatch):
    calls = []
    real = sweep_tasks.convert
    monkeypatch.setattr(sweep_tasks, "convert", lambda *a, **k: calls.append(1) or real(*a, **k))
    _sweep(teacher, tmp_path / "run")  # 4 settings x 3 parts
    assert len(calls) == 4 and not sweep_tasks._CONVERTED  # and the cache is let go at the end


def test_bad_ray_address_or_ray_with_workers_is_refused_before_anything_is_written(teacher, tmp_path, capsys):
    base = ["emulate", "--model", str(teacher), "--dataset", "digits", "--stream-length", "32", "--limit", "20"]
    for extra, words in ((["--ray", "127.0.0.1:1"], "cannot reach"), (["--ray", "garbage"], "HOST:PORT"),
                         (["--ray", "local", "--workers", "2"], "not both")):
        assert main(base + extra + ["--out", str(tmp_path / "r")]) == 2
        assert words in cli_error(capsys)
        assert not (tmp_path / "r").exists()


def test_a_file_where_the_parts_go_is_one_sentence(teacher, tmp_path, capsys):
    run = tmp_path / "r"
    base = ["emulate", "--model", str(teacher), "--dataset", "digits", "--limit", "20", "--out", str(run)]
    assert main(base + ["--stream-length", "32"]) == 0
    shutil.rmtree(run / "parts")
    (run / "parts").write_text("not a directory")
    capsys.readouterr()
    assert main(base + ["--stream-length", "64"]) == 2
    assert "keeps its finished parts" in cli_error(capsys, whole=False)
    assert (run / "parts").read_text() == "not a directory"


def test_pool_workers_end_with_their_parent():
    """The pool's worker set-up exits at once when its parent is already gone (here: a pid that
    is not its parent); with the parent alive it returns."""
    code = "import os, sys; from sc_accel.runner import _die_with_parent; _die_with_parent({}); sys.exit(7)"
    gone = subprocess.run([sys.executable, "-c", code.format("os.getppid() + 12345")], env={**os.environ,
                          "PYTHONPATH": str(ROOT)})
    alive = subprocess.run([sys.executable, "-c", code.format("os.getppid()")], env={**os.environ,
                           "PYTHONPATH": str(ROOT)})
    assert gone.returncode == 1 and alive.returncode == 7
