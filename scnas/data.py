"""Datasets by name: MNIST / Fashion-MNIST IDX files, CIFAR-10 python batches, sklearn digits.

Every loader returns a `Dataset` of float32 images (N, C, H, W) in [0, 1] and int64
labels. A missing or corrupt file raises `DataFileError` naming the path and the fix.
Where a loader looks: `data_dir` if given, else $SCNAS_DATA/<name>, else the system
location (Debian's `dataset-fashion-mnist` installs /usr/share/datasets/fashion-mnist).
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sc_accel.errors import DataFileError, InvalidInputError

__all__ = ["Dataset", "DatasetSpec", "DATASETS", "load_dataset", "load_idx", "find_dir",
           "dataset_status", "resolve_default"]

FASHION_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                   "sneaker", "bag", "ankle boot")
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


@dataclass
class Dataset:
    """Train and test splits; images (N, C, H, W) float32 in [0, 1], labels (N,) int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    source: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]


@dataclass(frozen=True)
class DatasetSpec:
    """How to find and load one named dataset."""

    name: str
    system_dirs: tuple[str, ...]
    files: tuple[str, ...]
    how_to_get: str
    loader: Callable[[Path, str], Dataset]


# ---------------------------------------------------------------- IDX (MNIST family)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path, how: str) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"data file {path} is missing; {how}.") from None
    except (OSError, EOFError) as e:
        raise DataFileError(f"data file {path} cannot be read ({e}); {how}.") from None


def load_idx(path: str | Path, how: str = "download it again") -> np.ndarray:
    """Parse one IDX file (optionally .gz): magic 0 0 dtype ndim, big-endian dims, data."""
    path = Path(path)
    raw = _read_bytes(path, how)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataFileError(f"data file {path} is not an IDX file (bad magic number); {how}.")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataFileError(f"data file {path} is truncated in its header; {how}.")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize  # Python ints: huge header sizes cannot wrap
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DataFileError(
            f"data file {path} holds {len(body)} data bytes but its header promises {expected}; {how}.")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def _idx_path(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).exists():
            return directory / name
    return directory / (stem + ".gz")


def _load_idx_dir(directory: Path, name: str) -> Dataset:
    how = DATASETS[name].how_to_get
    arrays = {key: load_idx(_idx_path(directory, stem), how) for key, stem in IDX_FILES.items()}
    classes = FASHION_CLASSES if name == "fashion-mnist" else tuple(str(i) for i in range(10))
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise DataFileError(
                f"IDX files in {directory} disagree: {split} images {x.shape} vs labels {y.shape}; {how}.")
        if x.shape[0] == 0 or min(x.shape[1:]) == 0:
            raise DataFileError(f"IDX files in {directory} hold no {split} images ({x.shape}); {how}.")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= len(classes):
            raise DataFileError(f"IDX {split} labels in {directory} are outside 0..{len(classes) - 1} "
                                f"(found {y.min()}..{y.max()}); {how}.")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataFileError(f"IDX files in {directory} disagree: train images are {arrays['x_train'].shape[1:]} "
                            f"but test images {arrays['x_test'].shape[1:]}; {how}.")
    to_x = lambda a: (a.astype(np.float32) / 255.0)[:, None]  # (N, 1, H, W)
    return Dataset(name, to_x(arrays["x_train"]), arrays["y_train"].astype(np.int64),
                   to_x(arrays["x_test"]), arrays["y_test"].astype(np.int64), classes, str(directory))


# ---------------------------------------------------------------- CIFAR-10 python batches
class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR-10 python batch holds (dicts, lists, bytes, ints and one
    numpy uint8 array): a crafted file cannot name any other callable, so it cannot run code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds")
        return super().find_class(module, name)


def _load_cifar_batch(path: Path, how: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = _BatchUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataFileError(f"data file {path} is missing; {how}.") from None
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, RecursionError) as e:
        raise DataFileError(f"data file {path} is not a CIFAR-10 batch ({e}); {how}.") from None
    d = d if isinstance(d, dict) else {}
    try:
        data = np.asarray(d.get(b"data", np.empty((0, 0))))
        labels = np.asarray(d.get(b"labels", []), dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        data, labels = np.empty((0, 0)), np.empty(0, np.int64)
    if (data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] == 0 or labels.ndim != 1
            or len(labels) != data.shape[0] or labels.min() < 0 or labels.max() > 9):
        raise DataFileError(f"data file {path} lacks CIFAR-10 'data' (N, 3072) and 'labels' in 0..9; {how}.")
    x = data.astype(np.uint8).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return x, labels


def _load_cifar_dir(directory: Path, name: str) -> Dataset:
    how = DATASETS[name].how_to_get
    parts = [_load_cifar_batch(directory / f, how) for f in CIFAR_FILES]
    x_train = np.concatenate([p[0] for p in parts[:-1]])
    y_train = np.concatenate([p[1] for p in parts[:-1]])
    return Dataset(name, x_train, y_train, parts[-1][0], parts[-1][1], CIFAR_CLASSES, str(directory))


# ---------------------------------------------------------------- scikit-learn digits
def _load_digits(_directory: Path, name: str) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]       # (1797, 1, 8, 8)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))     # fixed split, seed 0
    n_test = len(y) // 5
    te, tr = order[:n_test], order[n_test:]
    return Dataset(name, x[tr], y[tr], x[te], y[te], tuple(str(i) for i in range(10)),
                   "scikit-learn bundled digits")


DATASETS: dict[str, DatasetSpec] = {
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", ("/usr/share/datasets/fashion-mnist",), tuple(IDX_FILES.values()),
        "install Debian's package with `apt-get install dataset-fashion-mnist`, or put the four "
        "Fashion-MNIST IDX files in a directory and pass --data-dir", _load_idx_dir),
    "mnist": DatasetSpec(
        "mnist", ("/usr/share/datasets/mnist",), tuple(IDX_FILES.values()),
        "put the four MNIST IDX files (train-images-idx3-ubyte.gz, ...) in a directory and pass "
        "--data-dir", _load_idx_dir),
    "cifar10": DatasetSpec(
        "cifar10", ("~/.cache/scnas/cifar-10-batches-py",), CIFAR_FILES,
        "unpack CIFAR-10's python version (cifar-10-batches-py) and pass --data-dir", _load_cifar_dir),
    "digits": DatasetSpec("digits", (), (), "it ships with scikit-learn; pip install scikit-learn",
                          _load_digits),
}


def _candidates(spec: DatasetSpec, data_dir: str | Path | None) -> list[Path]:
    if data_dir is not None:
        return [Path(data_dir)]
    dirs = []
    if os.environ.get("SCNAS_DATA"):
        dirs.append(Path(os.environ["SCNAS_DATA"]) / spec.name)
    return dirs + [Path(d).expanduser() for d in spec.system_dirs]


def _has_files(directory: Path, spec: DatasetSpec) -> bool:
    return all(_idx_path(directory, f).exists() if spec.loader is _load_idx_dir
               else (directory / f).exists() for f in spec.files)


def find_dir(name: str, data_dir: str | Path | None = None) -> Path | None:
    """First directory holding all of the dataset's files, or None."""
    spec = _spec(name)
    if not spec.files:
        return Path(".")
    return next((d for d in _candidates(spec, data_dir) if _has_files(d, spec)), None)


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise InvalidInputError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or 'default'.")
    return DATASETS[name]


def resolve_default(data_dir: str | Path | None = None) -> str:
    """'fashion-mnist' when its files are found, else the always-available 'digits'."""
    return "fashion-mnist" if find_dir("fashion-mnist", data_dir) is not None else "digits"


def load_dataset(name: str = "default", data_dir: str | Path | None = None) -> Dataset:
    """Load a dataset by name ('default' picks Fashion-MNIST, falling back to digits)."""
    if name == "default":
        if data_dir is not None and find_dir("fashion-mnist", data_dir) is None:
            raise DataFileError(f"--data-dir {data_dir} holds no Fashion-MNIST IDX files (the default data); "
                                "fix the path, name the dataset with --dataset, or drop --data-dir.")
        name = resolve_default(data_dir)
    spec = _spec(name)
    directory = find_dir(name, data_dir)
    if directory is None:
        looked = ", ".join(str(d) for d in _candidates(spec, data_dir)) or "(nowhere)"
        raise DataFileError(f"dataset {name!r} was not found in {looked}; {spec.how_to_get}.")
    return spec.loader(directory, name)


def dataset_status(data_dir: str | Path | None = None) -> list[dict]:
    """One row per dataset: name, found, where it looks, how to get it."""
    rows = []
    for name, spec in DATASETS.items():
        found = find_dir(name, data_dir)
        where = ", ".join(str(d) for d in _candidates(spec, data_dir)) if spec.files else "scikit-learn"
        rows.append({"name": name, "found": found is not None,
                     "location": str(found) if found is not None and spec.files else where,
                     "how_to_get": spec.how_to_get})
    return rows
