"""`scnas convert-checkpoint`: re-save a model or checkpoint file the user trusts as tensors and
plain data only, so that the suite (which loads with `torch.load(weights_only=True)`) can read it.

Every other loader in the suite refuses a file that would need full unpickling, because
unpickling runs whatever code the file names. This command is the one explicit exception: it
unpickles the file fully, after the user says with `--trust` that they made it or trust it.
"""

from __future__ import annotations

import dataclasses
import io
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
    """The file holds something that has no plain-data form (a whole module, an unknown object)."""


def to_plain(obj: object, where: str = "the file", depth: int = 0) -> object:
    """`obj` with numpy arrays and scalars, tuples, sets, dataclasses and paths turned into what
    `weights_only=True` loads (tensors, Python scalars, lists, dicts); anything else is refused
    with a sentence naming where it sits."""
    if depth > _MAX_DEPTH:
        raise ConvertError(f"{where} is nested more than {_MAX_DEPTH} levels deep; it is not a model or checkpoint.")
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, np.generic):  # before the scalars: np.float64 is a float subclass
        return obj.item()
    if isinstance(obj, _SCALARS):  # int/float/str subclasses (enums) become the plain type
        return next((t(obj) for t in (bool, int, float, str) if isinstance(obj, t)), obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return [to_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj.tolist())]
        return torch.from_numpy(np.ascontiguousarray(obj).copy())
    if isinstance(obj, PurePath):
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
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_plain(dataclasses.asdict(obj), where, depth + 1)
    if isinstance(obj, torch.nn.Module):
        raise ConvertError(f"{where} is a whole {type(obj).__name__} module, which scnas cannot rebuild from "
                           "data; retrain the model with `scnas train` (or save its state_dict() in a dict with "
                           "the arch, in_channels, n_classes and image_size of a scnas model.pt).")
    raise ConvertError(f"{where} holds a {type(obj).__module__}.{type(obj).__qualname__}, which has no plain-data "
                       "form; it is not a file scnas wrote, so retrain the model with scnas.")


def convert_checkpoint(src: str | Path, dst: str | Path, trust: bool = False) -> dict:
    """Unpickle the trusted file `src` fully and write its plain-data form to the new file `dst`;
    returns {"src", "dst", "keys"}. Refused without `trust`, when `dst` exists (nothing of the
    user's is overwritten) and when the content has no plain-data form."""
    src, dst = Path(src), Path(dst)
    if not trust:
        raise InvalidInputError(f"converting {src} unpickles it fully, which runs any code it holds; pass --trust "
                                "only for a file you made yourself or fully trust.")
    if not src.is_file():
        raise DataFileError(f"no file at {src}; give the model or checkpoint file to convert.")
    if dst.exists() or dst.is_symlink():
        raise InvalidInputError(f"{dst} already exists; give a new file name for the converted copy.")
    try:
        obj = torch.load(src, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 (a damaged file raises pickle, zip, EOF and runtime errors)
        raise DataFileError(f"{src} cannot be read as a torch file ({brief(e)}).") from None
    plain = to_plain(obj, str(src))
    buf = io.BytesIO()
    torch.save(plain, buf)
    torch.load(io.BytesIO(buf.getvalue()), weights_only=True)  # the copy must load the safe way
    atomic_write_bytes(dst, buf.getvalue())
    return {"src": str(src), "dst": str(dst), "keys": sorted(map(str, plain)) if isinstance(plain, dict) else []}
