"""Dataset loaders on small IDX and CIFAR files the tests write, plus the error sentences."""

import gzip
import pickle
import re
import struct
from dataclasses import replace

import numpy as np
import pytest

from sc_accel.errors import DataFileError, InvalidInputError
from scnas.data import CIFAR_FILES, DATASETS, IDX_FILES, load_dataset, load_idx, resolve_default


def write_idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def make_mnist_dir(tmp_path, compress):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28)), "y_train": rng.integers(0, 10, 6),
              "x_test": rng.integers(0, 256, (4, 28, 28)), "y_test": rng.integers(0, 10, 4)}
    for key, stem in IDX_FILES.items():
        write_idx(tmp_path / stem, arrays[key], compress)
    return arrays


@pytest.mark.parametrize("compress", [False, True])
def test_idx_directory_loads_with_scaling_and_labels(tmp_path, compress):
    arrays = make_mnist_dir(tmp_path, compress)
    ds = load_dataset("mnist", tmp_path)
    assert ds.x_train.shape == (6, 1, 28, 28) and ds.x_train.dtype == np.float32
    assert np.allclose(ds.x_train[:, 0] * 255, arrays["x_train"])
    assert ds.y_test.tolist() == arrays["y_test"].tolist()
    assert ds.input_shape == (1, 28, 28)


def test_corrupt_idx_names_path_and_fix(tmp_path):
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"\x01\x02\x08\x01abcd")
    with pytest.raises(DataFileError, match=r"x\.idx is not an IDX file.*download"):
        load_idx(bad)
    write_idx(tmp_path / "t", np.zeros((3, 2)))
    (tmp_path / "t").write_bytes((tmp_path / "t").read_bytes()[:-1])
    with pytest.raises(DataFileError, match="header promises 6"):
        load_idx(tmp_path / "t")
    (tmp_path / "g.gz").write_bytes(b"not gzip")
    with pytest.raises(DataFileError, match="cannot be read"):
        load_idx(tmp_path / "g.gz")


def test_missing_dataset_names_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(DataFileError, match=rf"{tmp_path}.*apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path)
    with pytest.raises(FileNotFoundError):
        load_dataset("mnist", tmp_path)


def test_cifar_batches_load(tmp_path):
    rng = np.random.default_rng(1)
    for name in CIFAR_FILES:
        d = {b"data": rng.integers(0, 256, (3, 3072)).astype(np.uint8), b"labels": [1, 2, 3]}
        (tmp_path / name).write_bytes(pickle.dumps(d))
    ds = load_dataset("cifar10", tmp_path)
    assert ds.x_train.shape == (15, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
    assert ds.y_train.tolist() == [1, 2, 3] * 5 and ds.x_train.max() <= 1.0
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(DataFileError, match="test_batch is not a CIFAR-10 batch"):
        load_dataset("cifar10", tmp_path)


def test_digits_is_always_there_and_split_is_fixed():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert a.x_train.shape[1:] == (1, 8, 8) and len(a.y_test) == 359
    assert np.array_equal(a.y_test, b.y_test) and 0 <= a.x_train.min() and a.x_train.max() <= 1


def test_default_falls_back_to_digits_only_without_a_data_dir(tmp_path, monkeypatch):
    assert resolve_default(tmp_path) == "digits"
    with pytest.raises(DataFileError, match=rf"--data-dir {tmp_path}/typo holds no Fashion-MNIST IDX files"):
        load_dataset("default", tmp_path / "typo")  # a mistyped --data-dir is not silently digits
    monkeypatch.setitem(DATASETS, "fashion-mnist", replace(DATASETS["fashion-mnist"], system_dirs=(str(tmp_path),)))
    monkeypatch.delenv("SCNAS_DATA", raising=False)
    assert load_dataset("default").name == "digits"


def test_unknown_dataset():
    with pytest.raises(InvalidInputError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")


@pytest.mark.parametrize("change,message", [
    ({"x_train": np.zeros((0, 28, 28)), "y_train": np.zeros(0)}, "hold no train images"),
    ({"x_test": np.zeros((4, 20, 20))}, re.escape("train images are (28, 28) but test images (20, 20)")),
    ({"y_test": np.array([0, 1, 2, 10])}, "test labels in .* are outside 0..9 \\(found 0..10\\)"),
])
def test_bad_idx_sets_are_one_sentence(tmp_path, change, message):
    make_mnist_dir(tmp_path, False)
    for key, array in change.items():
        write_idx(tmp_path / IDX_FILES[key], array)
    with pytest.raises(DataFileError, match=message):
        load_dataset("mnist", tmp_path)


def test_idx_header_sizes_that_overflow_are_refused(tmp_path):
    path = tmp_path / "huge"
    path.write_bytes(bytes([0, 0, 0x08, 4]) + struct.pack(">4I", *[2**32 - 1] * 4) + b"\0" * 16)
    with pytest.raises(DataFileError, match="holds 16 data bytes but its header promises 3402823"):
        load_idx(path)


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED",))


def test_cifar_loader_never_runs_code_from_a_crafted_batch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    for name in CIFAR_FILES:
        d = {b"data": rng.integers(0, 256, (3, 3072)).astype(np.uint8), b"labels": [1, 2, 3]}
        (tmp_path / name).write_bytes(pickle.dumps(d))
    (tmp_path / "data_batch_2").write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": [1]}))
    with pytest.raises(DataFileError, match="data_batch_2 is not a CIFAR-10 batch \\(it names posix.system"):
        load_dataset("cifar10", tmp_path)
    assert not (tmp_path / "PWNED").exists()
    (tmp_path / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [11]}))
    with pytest.raises(DataFileError, match="'labels' in 0..9"):
        load_dataset("cifar10", tmp_path)
