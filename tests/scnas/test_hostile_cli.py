"""Bad input through the CLI, class by class: one sentence, exit 2, nothing computed lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sc_accel.hw import AccelConfig
from sc_accel.hw.config import HardwareConfigError
from scnas.cli import main
from tests.scnas.helpers import cli_error


@pytest.mark.parametrize("content,message", [
    ("", "not an empty file"),
    ("[1, 2]", "not a list"),
    ('"sc-64x64"', "not a str"),
    ('{"kind": "sc", "sc": 5}', "[sc] must be a table of settings"),
    ('{"kind": "spatial", "dataflow": "kcp", "layers": {"c": 3}}', "[layers] must map layer names"),
    ('{"memory": {"dram_bytes_per_cycle": NaN}}', "memory.dram_bytes_per_cycle=nan must be a positive finite number"),
    ('{"memory": {"gbuf_kib": Infinity}}', "memory.gbuf_kib=inf must be a positive finite number"),
    ('{"op": {"freq_mhz": NaN}}', "op.freq_mhz=nan"),
    ('{"op": {"node_nm": Infinity}}', "op.node_nm=inf"),
    ('{"kind": "sc", "dataflow": "kcp", "sc": {"stream_length": 281474976710656}}', "beyond the 16777216 bits"),
])
def test_bad_accelerator_files(tmp_path, capsys, content, message):
    suffix = ".toml" if content == "" else ".json"
    f = tmp_path / f"accel{suffix}"
    f.write_text(content)
    assert main(["estimate", "--model", "lenet5", "--accel", str(f), "--out", str(tmp_path / "o")]) == 2
    assert message in cli_error(capsys, whole=False)


def test_estimates_stay_finite_and_positive_up_to_the_longest_stream():
    from sc_accel.hw import estimate, workload
    from scnas.zoo import create_model

    layers = workload(create_model("resnet20", 3, 10, 32), (1, 3, 32, 32))
    a = AccelConfig.from_dict({"kind": "sc", "dataflow": "kcp", "rows": 64, "cols": 64,
                               "sc": {"stream_length": 1 << 24}})
    t = estimate(layers, None, a).total
    assert 0 < t["energy_pj"] < float("inf") and 0 < t["latency_s"] < float("inf")
    with pytest.raises(HardwareConfigError):
        AccelConfig.from_dict({"kind": "sc", "dataflow": "kcp", "sc": {"stream_length": (1 << 24) + 1}})


@pytest.mark.parametrize("shape,message", [
    ("1,1,100000,100000", "zoo models take square images of 8 to 1024 pixels"),
    ("1,100000,32,32", "with 1 to 64 channels"),
    ("0,3,32,32", "positive sizes"),
    ("1,3,32", "must be B,C,H,W"),
    ("100000000,3,32,32", "is beyond what the estimator traces"),
])
def test_absurd_input_shapes(tmp_path, capsys, shape, message):
    model = "lenet5" if "100000,100000" in shape else "resnet20"
    assert main(["estimate", "--model", model, "--input-shape", shape, "--out", str(tmp_path / "o")]) == 2
    assert message in cli_error(capsys, whole=False)


@pytest.mark.parametrize("args,message", [
    (["train", "--seed", "100000000000000000000000"], "must be an integer from 0 to 2^32 - 1"),
    (["train", "--seed", "-1"], "--seed -1 is negative; give seeds of 0 or more"),
    (["train", "--lr", "nan"], "lr=nan must be a positive finite number"),
    (["train", "--lr", "inf"], "lr=inf must be a positive finite number"),
])
def test_bad_training_settings(tmp_path, capsys, args, message):
    assert main([*args, "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path / "t")]) == 2
    assert message in cli_error(capsys, whole=False)
    assert not (tmp_path / "t").exists()  # refused before the run directory was made


@pytest.mark.parametrize("args,message", [
    (["--seed", "100000000000000000000"], "must be below 2^32"),
    (["--stream-length", "1000000000"], "a bit-true run at L=1000000000 needs about"),
])
def test_bad_emulation_settings(tmp_path, capsys, teacher, args, message):
    out = tmp_path / "e"
    assert main(["emulate", "--dataset", "digits", "--model", str(teacher), "--limit", "10",
                 "--stream-length", "32", *args, "--out", str(out)]) == 2
    assert message in cli_error(capsys, whole=False)


def test_damaged_results_file_is_one_sentence_and_kept(tmp_path, capsys, teacher):
    out = tmp_path / "e"
    out.mkdir()
    (out / "config.toml").write_text('command = "emulate"\n')
    (out / "results.json").write_text('{"settings": [')
    assert main(["emulate", "--dataset", "digits", "--model", str(teacher), "--limit", "10",
                 "--stream-length", "32", "--out", str(out)]) == 2
    assert "is not valid JSON" in cli_error(capsys, whole=False)
    assert (out / "results.json").read_text() == '{"settings": ['
    (out / "results.json").write_text(json.dumps([1, 2]))
    assert main(["emulate", "--dataset", "digits", "--model", str(teacher), "--limit", "10",
                 "--stream-length", "32", "--out", str(out)]) == 2
    assert "is not a results file of scnas emulate" in cli_error(capsys, whole=False)


def test_mistyped_data_dir_with_the_default_dataset(tmp_path, capsys):
    assert main(["train", "--dataset", "default", "--data-dir", str(tmp_path / "typo"), "--epochs", "1",
                 "--out", str(tmp_path / "t")]) == 2
    assert "holds no Fashion-MNIST IDX files" in cli_error(capsys, whole=False)


@pytest.fixture
def a_run(tmp_path_factory) -> Path:
    """A directory `scnas report` takes as a run (outside the test's own tmp_path)."""
    run = tmp_path_factory.mktemp("a-run")
    (run / "config.toml").write_text('command = "estimate"\n')
    return run


def test_report_of_a_directory_without_runs_is_one_sentence(capsys):
    assert main(["report", "/nonexistent"]) == 2
    assert "no run directory (one holding results.json or config.toml) in /nonexistent" in cli_error(capsys)


@pytest.mark.parametrize("out,why", [("/proc/scnas-test-run", "No such file or directory"),
                                     ("/sys/kernel/scnas-test-run", "Operation not permitted")])
def test_out_on_a_path_that_cannot_be_written(capsys, out, why, a_run):
    for cmd in (["estimate", "--model", "lenet5"], ["report", str(a_run)]):
        assert main([*cmd, "--out", out]) == 2
        assert f"cannot write to run directory {out} ({why})" in cli_error(capsys, whole=False)


def test_emulate_encoding_and_decorrelation_flags(tmp_path, capsys, teacher):
    out = tmp_path / "e"
    assert main(["emulate", "--dataset", "digits", "--model", str(teacher), "--limit", "20", "--stream-length", "64",
                 "--encoding", "unipolar,bipolar", "--share", "1,4", "--decorrelate", "xor,rotate",
                 "--out", str(out)]) == 0
    cfgs = [s["config"] for s in json.loads((out / "results.json").read_text())["settings"]]
    # per encoding: private once, shared once per decorrelation
    assert sorted((c["encoding"], c["share"], c["decorrelate"]) for c in cfgs) == sorted(
        (e, s, d) for e in ("unipolar", "bipolar") for s, d in ((1, "xor"), (4, "xor"), (4, "rotate")))
    for flag, value in (("--encoding", "ternary"), ("--decorrelate", "shuffle")):
        assert main(["emulate", "--dataset", "digits", "--model", str(teacher), "--limit", "20",
                     flag, value, "--out", str(tmp_path / "bad")]) == 2
        assert value in cli_error(capsys, whole=False)


@pytest.mark.parametrize("cmd", [["estimate", "--model", "lenet5"], ["report", "RUN"]])
def test_empty_out_is_refused_not_the_current_directory(tmp_path, capsys, monkeypatch, cmd, a_run):
    monkeypatch.chdir(tmp_path)
    assert main([str(a_run) if c == "RUN" else c for c in cmd] + ["--out", ""]) == 2
    assert "--out is empty; give a directory for the run." in cli_error(capsys)
    assert list(tmp_path.iterdir()) == []
