"""`scnas convert-checkpoint`: re-save a model or checkpoint file that holds numpy arrays and
scalars, paths or sets (an older tool's, or one saved by hand) as tensors and plain data only,
so that the suite, which loads with `torch.load(weights_only=True)`, can read it.

The file is read with `weights_only=True` too, with numpy's array, scalar and dtype
constructors and pathlib's path classes allowed besides (they build data and run nothing
else), so converting never runs code from the file: a file that names any other class or
function is refused, naming it.
"""

from __future__ import annotations

import io
import pathlib
import pickle
import re
import warnings
from collections import OrderedDict
from pathlib import Path, PurePath

import numpy as np
import torch

from sc_accel.errors import DataFileError, InvalidInputError, brief
from sc_accel.fileio import atomic_write_bytes

__all__ = ["ConvertError", "to_plain", "convert_checkpoint"]

_SCALARS = (str, int, float, bool, type(None), torch.Size, torch.dtype, torch.device)
_MAX_DEPTH = 64


class ConvertError(InvalidInputError):
    """The file names code (a class or function) or holds something with no plain-data form."""


def _data_globals() -> list:
    """The classes and functions beyond torch's own that a data file may name: numpy's array,
    scalar and dtype constructors and pathlib's paths (each builds a value and runs nothing)."""
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    return [np._core.multiarray._reconstruct, np._core.multiarray.scalar, np.ndarray, np.dtype, *dtypes,
            pathlib.PosixPath, pathlib.PurePosixPath, pathlib.WindowsPath, pathlib.PureWindowsPath]


def to_plain(obj: object, where: str = "the file", depth: int = 0) -> object:
    """`obj` with numpy arrays, scalars and dtypes, tuples, sets and paths turned into what
    `weights_only=True` loads (tensors, Python scalars, lists, dicts); anything else is refused
    with a sentence naming where it sits."""
    if depth > _MAX_DEPTH:
        raise ConvertError(f"{where} is nested more than {_MAX_DEPTH} levels deep; it is not a model or checkpoint.")
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, np.generic):  # before the scalars: np.float64 is a float subclass
        return obj.item()
    if isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return [to_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj.tolist())]
        return torch.from_numpy(np.ascontiguousarray(obj).copy())
    if isinstance(obj, (PurePath, np.dtype)):
        return str(obj)
    if isinstance(obj, dict):
        out = {to_plain(k, f"a key in {where}", depth + 1): to_plain(v, f"{where}[{k!r}]", depth + 1)
               for k, v in obj.items()}
        return OrderedDict(out) if isinstance(obj, OrderedDict) else out
    if isinstance(obj, (list, tuple)):
        items = [to_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
        return tuple(items) if type(obj) is tuple else items
    if isinstance(obj, (set, frozenset)):
        return sorted((to_plain(v, f"an item of {where}", depth + 1) for v in obj), key=repr)
    raise ConvertError(f"{where} holds a {type(obj).__module__}.{type(obj).__qualname__}, which has no plain-data "
                       "form; it is not a file scnas wrote, so retrain the model with scnas.")


def _read(src: Path) -> object:
    """The content of `src`, read without running code (see the module doc)."""
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(_data_globals()):
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing them
            return torch.load(src, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        named = re.search(r"GLOBAL (\S+)", str(e))
        if named:
            raise ConvertError(f"{src} names {named.group(1)}, which is code rather than data, so it was not read; "
                               "scnas converts numbers, arrays, paths and containers only, so retrain the model "
                               "with `scnas train` (or re-save its state_dict() with the arch, in_channels, "
                               "n_classes and image_size of a scnas model.pt).") from None
        raise DataFileError(f"{src} cannot be read as a torch file (it is damaged, or a raw pickle rather than a "
                            "file torch.save wrote); give a file torch.save wrote.") from None
    except Exception as e:  # noqa: BLE001 (a damaged file raises zip, EOF and runtime errors)
        raise DataFileError(f"{src} cannot be read as a torch file ({brief(e)}).") from None


def convert_checkpoint(src: str | Path, dst: str | Path) -> dict:
    """Read `src` without running code and write its plain-data form to the new file `dst`;
    returns {"src", "dst", "keys"}. Refused when `dst` exists (nothing of the user's is
    overwritten) and when the content names code or has no plain-data form."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise DataFileError(f"no file at {src}; give the model or checkpoint file to convert.")
    if dst.exists() or dst.is_symlink():
        raise InvalidInputError(f"{dst} already exists; give a new file name for the converted copy.")
    plain = to_plain(_read(src), str(src))
    buf = io.BytesIO()
    torch.save(plain, buf)
    torch.load(io.BytesIO(buf.getvalue()), weights_only=True)  # the copy must load the strict way
    try:
        atomic_write_bytes(dst, buf.getvalue(), exclusive=True)  # a file made meanwhile is not replaced
    except FileExistsError:
        raise InvalidInputError(f"{dst} already exists; give a new file name for the converted copy.") from None
    return {"src": str(src), "dst": str(dst), "keys": sorted(map(str, plain)) if isinstance(plain, dict) else []}
