"""`scnas estimate`: run directory, compare table, plots, and exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

from scnas.cli import main


def test_estimate_compare_writes_run(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["estimate", "--model", "lenet5", "--compare", "systolic-32x32-ws", "sc-64x64-L256",
               "--stream-length", "64,1024", "--out", str(out)])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    names = [e["total"]["accel"] for e in res["estimates"]]
    assert names == ["systolic-32x32-ws", "sc-64x64-L64", "sc-64x64-L1024"]
    t = {e["total"]["accel"]: e["total"] for e in res["estimates"]}
    assert t["sc-64x64-L1024"]["compute_cycles"] > 15 * t["sc-64x64-L64"]["compute_cycles"]
    for f in ("config.toml", "layers-sc-64x64-L64.csv", "accel-sc-64x64-L1024.toml", "latency_per_layer.png",
              "energy_per_layer.png", "energy_breakdown.png"):
        assert (out / f).stat().st_size > 0, f
    table = capsys.readouterr().out
    assert "| sc-64x64-L1024 | sc | kcp | 1024 |" in table


def test_estimate_with_sc_config_and_file(tmp_path):
    (tmp_path / "sc.toml").write_text('stream_length = 128\nshare = 4\nsng = "sobol"\n')
    from scnas.accel import load_accel, save_accel
    save_accel(load_accel("spatial-16x16-rs"), tmp_path / "mine.json")
    rc = main(["estimate", "--model", "resnet20", "--accel", "sc-64x64-L64", str(tmp_path / "mine.json"),
               "--sc-config", str(tmp_path / "sc.toml"), "--out", str(tmp_path / "r")])
    assert rc == 0
    res = json.loads((tmp_path / "r" / "results.json").read_text())
    sc = res["estimates"][0]["accel"]["sc"]
    assert (sc["stream_length"], sc["share"], sc["sng"]) == (128, 4, "sobol")
    assert res["input_shape"] == [1, 3, 32, 32]


def test_sc_config_width_follows_each_stream_length(tmp_path):
    (tmp_path / "sc.toml").write_text('stream_length = 128\nshare = 2\n')
    assert main(["estimate", "--accel", "sc-64x64-L64", "--sc-config", str(tmp_path / "sc.toml"),
                 "--stream-length", "64,1024", "--out", str(tmp_path / "r")]) == 0
    res = json.loads((tmp_path / "r" / "results.json").read_text())
    got = [(e["accel"]["sc"]["stream_length"], e["accel"]["sc"]["width"], e["accel"]["sc"]["share"])
           for e in res["estimates"]]
    assert got == [(64, 6, 2), (1024, 10, 2)]


@pytest.mark.parametrize("argv,msg", [
    (["--accel", "nope"], "unknown accelerator 'nope'"),
    (["--accel", "missing.toml"], "does not exist"),
    (["--input-shape", "1,x"], "--input-shape value 'x'"),
    (["--input-shape", "0,1,28,28"], "positive sizes"),
    (["--stream-length", "abc"], "--stream-length value 'abc'"),
    (["--model", "nonexistent_dir"], "no trained model"),
    (["--sc-config", "missing.toml"], "missing.toml does not exist"),
    (["--cost-table", "mine"], "unknown cost table 'mine'"),
])
def test_estimate_bad_input_exit_2(tmp_path, capsys, argv, msg):
    rc = main(["estimate", "--out", str(tmp_path / "r")] + argv)
    assert rc == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and err.count("\n") == 1


def test_estimate_bad_accel_file_exit_2(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text('kind = "systolic"\nrows = 32\ncols = 32\n[memory]\ngbuf_kib = 0.5\n')
    assert main(["estimate", "--accel", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "r")]) == 2
    assert "minimum tile" in capsys.readouterr().err


def test_sc_sweep_draws_sc_against_binary_and_calibrated_table(tmp_path):
    runs = {}
    for table in ("default", "usystolic"):
        out = tmp_path / table
        assert main(["estimate", "--model", "lenet5", "--compare", "systolic-32x32-os", "sc-64x64-buf-L256",
                     "sc-64x64-os-L256", "--stream-length", "16,256", "--cost-table", table, "--out", str(out)]) == 0
        assert (out / "sc_vs_binary.png").stat().st_size > 0
        runs[table] = json.loads((out / "results.json").read_text())
        assert runs[table]["cost_table"] == table
    t = {k: {e["total"]["accel"]: e["total"] for e in r["estimates"]} for k, r in runs.items()}
    # the calibration adds SC PE energy and area and leaves the binary design alone
    assert t["usystolic"]["sc-64x64-os-L256"]["energy_mac_pj"] > t["default"]["sc-64x64-os-L256"]["energy_mac_pj"]
    assert t["usystolic"]["sc-64x64-buf-L16"]["area_pe_um2"] > t["default"]["sc-64x64-buf-L16"]["area_pe_um2"]
    assert t["usystolic"]["systolic-32x32-os"]["energy_pj"] == t["default"]["systolic-32x32-os"]["energy_pj"]
    assert runs["default"]["estimates"][1]["accel"]["sc"]["weight_stream"] == "buffer"
