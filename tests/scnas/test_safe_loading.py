"""Files a user gives are data, never code: a crafted model or checkpoint file whose unpickling
would create a marker file is refused by every loading path (CLI and API), and the marker never
appears, not even through `scnas convert-checkpoint`. Old files holding numpy data are refused
with the way to convert them, and the conversion makes a copy the suite loads."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from scnas.cli import main
from tests.scnas.helpers import cli_error


class _Marker:
    """Unpickling this calls open(path, "w"): the file appears only if the loader ran code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _crafted(path: Path, marker: Path) -> Path:
    """A file shaped like a scnas model file and checkpoint, with a code-running payload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"arch": "lenet5", "in_channels": 1, "n_classes": 10, "image_size": 8, "dataset": "digits",
                "state_dict": {}, "model": {}, "optimizer": {}, "scheduler": {}, "epoch": 0, "history": [],
                "settings": {}, "state": {}, "payload": _Marker(marker)}, path)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "MARKER-code-ran"


def test_the_payload_does_run_code_when_unpickled(tmp_path, marker):
    """Guards the other tests: plain unpickling of the payload really creates the marker."""
    import pickle

    pickle.loads(pickle.dumps(_Marker(marker)))
    assert marker.exists()


def _cli_cases(tmp: Path, marker: Path) -> dict[str, list[str]]:
    x = _crafted(tmp / "x.pt", marker)
    model_dir = _crafted(tmp / "mdir" / "model.pt", marker).parent
    student_dir = _crafted(tmp / "sdir" / "student.pt", marker).parent
    train_run = _crafted(tmp / "trun" / "checkpoint.pt", marker).parent
    (train_run / "config.toml").write_text('command = "train"\n')  # a run directory, not a user's
    coarse_dir = _crafted(tmp / "coarse" / "coarse.pt", marker).parent
    out = str(tmp / "out")
    emulate = ["emulate", "--dataset", "digits", "--stream-length", "32", "--limit", "20", "--out", out]
    return {
        "emulate-file": [*emulate, "--model", str(x)],
        "emulate-dir": [*emulate, "--model", str(model_dir)],
        "estimate-file": ["estimate", "--model", str(x), "--accel", "sc-64x64-L64", "--out", out],
        "estimate-student": ["estimate", "--model", str(student_dir), "--accel", "sc-64x64-L64", "--out", out],
        "recast-teacher": ["recast", "--teacher", str(x), "--plan", "plain", "--dataset", "digits", "--out", out],
        "search-teacher": ["search", "--quick", "--teacher", str(x), "--out", out],
        "evolver-model": ["dse", "evolver", "--model", str(x), "--dataset", "digits", "--out", out],
        "train-resume": ["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", str(train_run)],
        "search-coarse": ["search", "--quick", "--workers", "1", "--coarse-dir", str(coarse_dir), "--out", out],
    }


@pytest.mark.parametrize("case", ["emulate-file", "emulate-dir", "estimate-file", "estimate-student",
                                  "recast-teacher", "search-teacher", "evolver-model", "train-resume",
                                  "search-coarse"])
def test_every_cli_loading_path_refuses_a_crafted_file(case, tmp_path, marker, capsys):
    argv = _cli_cases(tmp_path, marker)[case]
    assert main(argv) == 2
    msg = cli_error(capsys, whole=False)
    assert "holds Python objects beyond tensors and plain data" in msg and "convert-checkpoint" in msg
    assert not marker.exists()


def _tiny_data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, n)


def test_recast_api_resume_refuses_a_crafted_checkpoint(tmp_path, marker):
    from recast import RecastConfig, recast
    from scnas.zoo import create_model

    _crafted(tmp_path / "checkpoint.pt", marker)
    with pytest.raises(FileNotFoundError, match="holds Python objects"):
        recast(create_model("resnet20", 1, 10, 8), "plain", _tiny_data(), RecastConfig(), out=tmp_path,
               progress=False)
    assert not marker.exists()


def test_recast_baseline_resume_refuses_a_crafted_checkpoint(tmp_path, marker):
    from recast import RecastConfig
    from recast.baselines import train_baseline
    from scnas.zoo import create_model

    f = _crafted(tmp_path / "baseline-scratch.pt", marker)
    with pytest.raises(FileNotFoundError, match="holds Python objects"):
        train_baseline(create_model("lenet5", 1, 10, 8), _tiny_data(), 1, RecastConfig(), ckpt=f)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["coarse.pt", "teacher.pt"])
def test_nas_search_api_resume_refuses_a_crafted_checkpoint(name, tmp_path, marker):
    from nas import SearchConfig, search

    x, y = _tiny_data(256)
    cfg = SearchConfig(channels=(4, 8), train_images=128, search_images=128, eval_images=32, batch_size=32,
                       coarse_epochs=1, teacher_epochs=1, search_epochs=2, distil_steps=1, retrain_epochs=0)
    _crafted(tmp_path / name, marker)
    if name == "teacher.pt":  # reached after a genuine coarse phase
        search((x, y), cfg, out=tmp_path / "first", progress=False)
        for f in (tmp_path / "first").glob("coarse*.pt"):
            (tmp_path / f.name).write_bytes(f.read_bytes())
    with pytest.raises(FileNotFoundError, match="holds Python objects"):
        search((x, y), cfg, out=tmp_path, progress=False)
    assert not marker.exists()


def _old_style_model(path: Path, model: torch.nn.Module) -> None:
    """A model file as an older tool might write it: numpy scalars need full unpickling."""
    torch.save({"arch": "lenet5", "in_channels": 1, "n_classes": 10, "image_size": 8, "dataset": "digits",
                "state_dict": model.state_dict(), "test_accuracy": np.float64(0.5),
                "class_counts": np.arange(10)}, path)


def test_a_raw_pickle_is_one_sentence_without_torch_warnings(tmp_path, marker, capsys):
    import pickle

    f = tmp_path / "raw.pt"
    f.write_bytes(pickle.dumps({"arch": "lenet5", "payload": _Marker(marker)}, protocol=4))
    assert main(["estimate", "--model", str(f), "--accel", "sc-64x64-L64", "--out", str(tmp_path / "e")]) == 2
    msg = cli_error(capsys)  # the whole of stderr: no torch warning lines before it
    assert "is not a model checkpoint written by scnas" in msg and "tensors-and-plain-data form" in msg
    assert not marker.exists()


def test_a_dangling_link_is_not_replaced_by_convert(tmp_path, capsys):
    from scnas.zoo import create_model

    _old_style_model(tmp_path / "old.pt", create_model("lenet5", 1, 10, 8))
    (tmp_path / "link.pt").symlink_to(tmp_path / "nowhere.pt")
    assert main(["convert-checkpoint", str(tmp_path / "old.pt"), str(tmp_path / "link.pt")]) == 2
    assert "already exists" in cli_error(capsys) and (tmp_path / "link.pt").is_symlink()


def test_old_files_are_refused_with_how_to_convert_and_convert(tmp_path, capsys):
    from scnas.train import load_model
    from scnas.zoo import create_model

    model = create_model("lenet5", 1, 10, 8)
    old, new = tmp_path / "old.pt", tmp_path / "new.pt"
    _old_style_model(old, model)
    with pytest.raises(FileNotFoundError, match=r"`scnas convert-checkpoint .*old\.pt NEW\.pt` makes a copy"):
        load_model(old)
    assert main(["convert-checkpoint", str(old), str(new)]) == 0
    loaded, meta = load_model(new)
    assert meta["test_accuracy"] == 0.5 and torch.equal(meta["class_counts"], torch.arange(10))
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k
    before = new.read_bytes()
    capsys.readouterr()
    assert main(["convert-checkpoint", str(old), str(new)]) == 2
    assert "already exists" in cli_error(capsys)
    assert new.read_bytes() == before


def test_convert_never_runs_code_from_the_file(tmp_path, marker, capsys):
    f = _crafted(tmp_path / "x.pt", marker)
    assert main(["convert-checkpoint", str(f), str(tmp_path / "y.pt")]) == 2
    msg = cli_error(capsys)
    assert "names io.open, which is code rather than data, so it was not read" in msg
    assert not marker.exists() and not (tmp_path / "y.pt").exists()


def test_convert_refuses_a_whole_pickled_module(tmp_path, capsys):
    from scnas.zoo import create_model

    buf = io.BytesIO()
    torch.save(create_model("lenet5", 1, 10, 8), buf)
    (tmp_path / "m.pt").write_bytes(buf.getvalue())
    assert main(["convert-checkpoint", str(tmp_path / "m.pt"), str(tmp_path / "n.pt")]) == 2
    msg = cli_error(capsys)
    assert "which is code rather than data" in msg and "LeNet5" in msg and "state_dict" in msg
    assert not (tmp_path / "n.pt").exists()


def test_every_file_the_suite_writes_loads_the_safe_way(teacher):
    """The suite's own model and checkpoint files need nothing beyond weights_only=True."""
    for f in ("model.pt", "checkpoint.pt"):
        assert isinstance(torch.load(teacher / f, weights_only=True), dict)


@pytest.mark.parametrize("content", [b"garbage" * 40, b""])
def test_convert_of_a_damaged_file_is_one_sentence(content, tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(content)
    assert main(["convert-checkpoint", str(tmp_path / "bad.pt"), str(tmp_path / "out.pt")]) == 2
    assert "cannot be read as a torch file" in cli_error(capsys) and not (tmp_path / "out.pt").exists()
