"""The `scnas` command: listings, exit code 2 with one sentence on bad input, benchmarks."""

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from scnas.cli import main
from scnas.commands.bench import BENCHMARKS, module_of


def test_data_lists_every_dataset(capsys, tmp_path):
    assert main(["data", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("fashion-mnist", "mnist", "cifar10", "digits"):
        assert name in out
    assert "'default' = digits" in out and "to get it" in out


def test_bad_input_exits_2_with_one_sentence(capsys, tmp_path):
    assert main(["data", "--load", "cifar10", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scnas: error: dataset 'cifar10' was not found") and "\n" not in err
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_console_script_runs_kernel_benchmark_quick():
    proc = subprocess.run([sys.executable, "-m", "scnas.cli", "bench", "kernels", "--quick"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["benchmark"] == "sc_kernels" and set(last["targets"]) <= set(last["figures"])
    assert last["figures"]["counts_agree"] is True
    assert last["figures"]["asm_scalar_popcnt"] >= 1     # the bit trick became POPCNT


def test_bench_names_every_benchmark_module():
    """The suite reaches the benchmarks only through this table: it names each module with a main()."""
    here = {p.stem for p in (Path(__file__).resolve().parents[2] / "scnas" / "benchmarks").glob("*.py")}
    here -= {"__init__", "common"}
    assert {module_of(n).rpartition(".")[2] for n in BENCHMARKS} == here
    assert all(callable(importlib.import_module(module_of(n)).main) for n in BENCHMARKS)


def test_python_dash_m_scnas_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "scnas", "bench", "nope"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("scnas: error: unknown benchmark 'nope'")


@pytest.mark.parametrize("argv,words", [(["--images", "0"], "positive"), (["--stream-length", "abc"], "stream-length"),
                                        (["--model", "nope"], "nope")])
def test_bench_emulate_profile_refuses_bad_values_in_one_sentence(argv, words, capsys):
    assert main(["bench", "emulate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scnas: error:") and words in err and "\n" not in err


def test_bench_emulate_profile_names_what_limits_it(capsys):
    """A small per-layer profile of LeNet-5 (the default model): every MAC layer kind gets a
    rate against the same-L ceiling, and the breakdown adds up to the profiled run's time."""
    assert main(["bench", "emulate", "--stream-length", "64", "--images", "8", "--quick"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    r = last["figures"]["lengths"][0]
    assert last["benchmark"] == "emulate_layers" and last["figures"]["model"] == "lenet5"
    assert r["stream_length"] == 64 and r["ceiling_span_words"] == 48 and 0 < r["frac_ceiling"] < math.inf  # a timing ratio: no upper bound
    convs = {k: v for k, v in r["kinds"].items() if k.startswith("conv")}
    assert convs and all(v["frac_ceiling"] > 0 for v in convs.values())
    assert sum(r["breakdown"].values()) == pytest.approx(r["profiled_seconds"], rel=1e-9)
    assert r["batch1"]["threads"] >= 1 and r["convert_seconds"] > 0
