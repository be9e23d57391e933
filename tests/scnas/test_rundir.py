"""Run directories under kills, concurrent runs, other commands' directories and changed inputs."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from scnas.cli import main
from tests.scnas.helpers import cli_error
from scnas.rundir import RunDirError, atomic_torch_save, atomic_write_bytes, claim_run_dir

ROOT = Path(__file__).resolve().parents[2]
EMULATE = ["emulate", "--dataset", "digits", "--stream-length", "32", "--limit", "20", "--calib", "50"]


def test_atomic_write_leaves_old_or_new_under_kill_9(tmp_path):
    """A writer killed at a random moment while replacing a 16 MB checkpoint over and over:
    the file always loads whole, holding one of the values written."""
    path = tmp_path / "ckpt.pt"
    atomic_torch_save({"i": -1, "x": torch.full((4_000_000,), -1.0)}, path)
    code = ("import sys, torch; from scnas.rundir import atomic_torch_save\n"
            "for i in range(10**6):\n"
            "    atomic_torch_save({'i': i, 'x': torch.full((4_000_000,), float(i))}, sys.argv[1])\n"
            "    print(i, flush=True)\n")
    for delay in (0.3, 0.55, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE)
        proc.stdout.readline()  # at least one write finished
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = torch.load(path)
        assert bool((state["x"] == float(state["i"])).all()) and state["x"].numel() == 4_000_000


def test_atomic_write_bytes_replaces_and_leaves_no_temp(tmp_path):
    atomic_write_bytes(tmp_path / "a.json", b"1")
    atomic_write_bytes(tmp_path / "a.json", b"22")
    assert (tmp_path / "a.json").read_bytes() == b"22" and sorted(os.listdir(tmp_path)) == ["a.json"]


def test_train_killed_mid_run_resumes_to_the_end(tmp_path):
    run = tmp_path / "t"
    cmd = [sys.executable, "-m", "scnas.cli", "train", "--model", "lenet5", "--dataset", "digits",
           "--epochs", "3", "--out", str(run)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    hist = json.loads((run / "results.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3]


def test_second_run_on_a_locked_directory_stops_with_a_sentence(tmp_path, teacher, capsys):
    out = tmp_path / "emu"
    capsys.readouterr()
    with claim_run_dir(out, "emulate"):
        assert main([*EMULATE, "--model", str(teacher), "--out", str(out)]) == 2
        assert "another scnas command is writing to" in cli_error(capsys)
    assert main([*EMULATE, "--model", str(teacher), "--out", str(out)]) == 0  # lock released


def test_two_concurrent_emulate_processes_lose_no_setting(tmp_path, teacher):
    out = tmp_path / "emu"
    cmds = [[sys.executable, "-m", "scnas.cli", *EMULATE, "--sng", sng, "--model", str(teacher), "--out", str(out)]
            for sng in ("lfsr", "sobol")]
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    for cmd, (rc, err) in zip(cmds, results):
        assert rc in (0, 2), err
        if rc == 2:  # the loser says why and is rerun afterwards
            assert "another scnas command is writing to" in err
            assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    sngs = sorted(s["config"]["sng"] for s in json.loads((out / "results.json").read_text())["settings"])
    assert sngs == ["lfsr", "sobol"]


def test_a_run_directory_of_another_command_is_refused(teacher, capsys):
    capsys.readouterr()
    before = (teacher / "results.json").read_bytes()
    assert main([*EMULATE, "--model", str(teacher), "--out", str(teacher)]) == 2
    assert f"{teacher} is a run directory of `scnas train`" in cli_error(capsys)
    assert main(["estimate", "--model", "lenet5", "--out", str(teacher)]) == 2
    assert (teacher / "results.json").read_bytes() == before


def test_emulate_resume_refuses_a_changed_model(tmp_path, teacher, capsys):
    out = tmp_path / "emu"
    assert main([*EMULATE, "--model", str(teacher), "--out", str(out)]) == 0
    before = (out / "results.json").read_bytes()
    other = tmp_path / "t2"
    assert main(["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--seed", "1",
                 "--out", str(other)]) == 0
    capsys.readouterr()
    assert main([*EMULATE, "--model", str(other), "--out", str(out)]) == 2
    assert "holds results of another model or setup (model_sha256" in cli_error(capsys)
    assert main([*EMULATE[:-2], "--calib", "60", "--model", str(teacher), "--out", str(out)]) == 2
    assert "calib_images 50 -> 60" in cli_error(capsys)
    assert (out / "results.json").read_bytes() == before


@pytest.mark.parametrize("calib", ["0", "-1"])
def test_calib_must_be_positive(tmp_path, teacher, capsys, calib):
    capsys.readouterr()
    assert main([*EMULATE[:-2], "--calib", calib, "--model", str(teacher), "--out", str(tmp_path / "e")]) == 2
    assert f"--calib {calib} must be a positive number" in cli_error(capsys)


def test_train_resume_with_changed_settings(tmp_path, capsys):
    run = tmp_path / "t"
    base = ["train", "--model", "lenet5", "--dataset", "digits", "--out", str(run)]
    assert main([*base, "--epochs", "2"]) == 0
    before = (run / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main([*base, "--epochs", "2", "--lr", "0.01"]) == 2
    assert "was trained with other settings (lr 0.002 -> 0.01)" in cli_error(capsys)
    assert main([*base, "--epochs", "1"]) == 2
    assert "has already trained 2 epochs" in cli_error(capsys)
    assert (run / "checkpoint.pt").read_bytes() == before
    assert main([*base, "--epochs", "3"]) == 0
    assert "extending the learning-rate schedule to 3 epochs" in capsys.readouterr().out
    assert len(json.loads((run / "results.json").read_text())["history"]) == 3


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated"])
def test_damaged_checkpoint_and_model_files(tmp_path, capsys, content):
    run = tmp_path / "t"
    run.mkdir()
    (run / "config.toml").write_text('command = "train"\n')  # a train run whose checkpoint was damaged
    (run / "checkpoint.pt").write_bytes(content)
    assert main(["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", str(run)]) == 2
    assert f"checkpoint {run / 'checkpoint.pt'} is damaged" in cli_error(capsys)
    (run / "model.pt").write_bytes(content)
    assert main([*EMULATE, "--model", str(run / "model.pt"), "--out", str(tmp_path / "e")]) == 2
    assert "is not a model checkpoint written by scnas train" in cli_error(capsys)


def test_out_that_is_or_is_under_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    for out, what in ((tmp_path / "f", "is a file"), (tmp_path / "f" / "sub", f"is under the file {tmp_path / 'f'}")):
        assert main(["estimate", "--model", "lenet5", "--out", str(out)]) == 2
        assert f"--out {out} {what}; give a directory for the run." in cli_error(capsys)
    with pytest.raises(RunDirError):
        with claim_run_dir(tmp_path / "f", "x"):
            pass


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomically_written_files_follow_the_umask(tmp_path, umask, mode):
    """mkstemp makes 0600 files; a run's files get what open() would give under the umask."""
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        atomic_torch_save({"x": 1}, tmp_path / "m.pt")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "m.pt").stat().st_mode) == mode


def test_an_exclusive_atomic_write_never_replaces_a_file(tmp_path):
    """The check-then-write race of convert-checkpoint: a file that appears first is kept."""
    atomic_write_bytes(tmp_path / "a", b"new", exclusive=True)
    with pytest.raises(FileExistsError):
        atomic_write_bytes(tmp_path / "a", b"other", exclusive=True)
    assert (tmp_path / "a").read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["a"]
