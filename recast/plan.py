"""Recasting plans: which block type and width each teacher block becomes.

A plan is a list of `BlockPlan(type, width)`, one per teacher block. It comes from a preset
name, a TOML file, or data:

    type = "dwsep"          # every block (optional when [[block]] lists them all)
    width = 1.0
    [[block]]               # optional: one table per teacher block, overriding the above
    type = "plain"
    width = 0.5
    modules = ["layer1.0", "layer1.1"]   # optional: the blocks of a model without stem/blocks/head

Presets: "plain", "basic", "bottleneck", "dense", "dwsep", "mbconv" (every block becomes that
type at width 1) and "half-width" (every block keeps its type at width 0.5).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from sc_accel.errors import InvalidInputError
from recast.blocks import BLOCKS

__all__ = ["BlockPlan", "resolve_plan", "plan_to_dict", "plan_modules", "PRESETS"]

PRESETS = ("plain", "basic", "bottleneck", "dense", "dwsep", "mbconv", "half-width")


@dataclass(frozen=True)
class BlockPlan:
    """Target of one block: registry type and channel width (1.0 keeps the teacher's channels)."""

    type: str
    width: float = 1.0

    def __post_init__(self) -> None:
        if self.type not in BLOCKS:
            raise InvalidInputError(f"unknown block type {self.type!r} in the plan; choose one of "
                                    f"{', '.join(BLOCKS.names())}.")
        w = self.width
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w <= 16:
            raise InvalidInputError(f"block width {w!r} in the plan must be a number in (0, 16].")


def plan_to_dict(plan: list[BlockPlan]) -> dict:
    """{"block": [{"type", "width"}, ...]}: what resolve_plan reads back."""
    return {"block": [asdict(b) for b in plan]}


def _from_data(data: dict, teacher_types: list[str | None]) -> list[BlockPlan]:
    if not isinstance(data, dict):
        raise InvalidInputError("a plan must be a table with `type`, `width` and/or [[block]] entries.")
    unknown = set(data) - {"type", "width", "block", "modules"}
    if unknown:
        raise InvalidInputError(f"plan keys {sorted(unknown)} are not known; use type, width, modules and "
                                "[[block]].")
    n = len(teacher_types)
    blocks = data.get("block")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) != n:
            got = len(blocks) if isinstance(blocks, list) else type(blocks).__name__
            raise InvalidInputError(f"the plan lists {got} blocks but the teacher has {n}; give one [[block]] "
                                    "per teacher block, or only a `type` for all.")
        out = []
        for i, b in enumerate(blocks):
            if not isinstance(b, dict) or set(b) - {"type", "width"}:
                raise InvalidInputError(f"plan block {i} must be a table with `type` and optional `width`.")
            kind = b.get("type", data.get("type", teacher_types[i]))
            out.append(BlockPlan(_own_type(kind, teacher_types[i], i), b.get("width", data.get("width", 1.0))))
        return out
    if "type" not in data and "width" not in data:
        raise InvalidInputError("the plan names no block type or width; give `type = ...` or [[block]] tables.")
    return [BlockPlan(_own_type(data.get("type"), t, i), data.get("width", 1.0)) for i, t in enumerate(teacher_types)]


def _own_type(kind: str | None, teacher_type: str | None, i: int) -> str:
    """The plan's type, or (None) the teacher block's own type, which must be a registry type."""
    if kind is not None:
        return kind
    if teacher_type is None:
        raise InvalidInputError(f"teacher block {i} is not a registry block type, so the plan must name its "
                                "target type.")
    return teacher_type


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise InvalidInputError(f"plan file {path} does not exist.")
    try:
        return tomllib.loads(path.read_text(errors="replace"))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"plan file {path} is not valid TOML ({e}).") from None
    except RecursionError:
        raise InvalidInputError(f"plan file {path} is nested too deeply to be a plan; fix it.") from None


def plan_modules(spec: str | Path | dict | list) -> list[str] | None:
    """The block module paths a plan file or dict names under `modules` (None: the model's own
    `blocks`)."""
    data = spec if isinstance(spec, dict) else None
    if isinstance(spec, (str, Path)) and str(spec).endswith(".toml"):
        data = _read_toml(Path(spec))
    mods = None if data is None else data.get("modules")
    if mods is None:
        return None
    if not isinstance(mods, list) or not mods or not all(isinstance(m, str) and m for m in mods):
        raise InvalidInputError("the plan's `modules` must be a non-empty list of module paths like \"layer1.0\".")
    return list(mods)


def _block_plan(item: object) -> BlockPlan:
    """One entry of a plan given as a list: a BlockPlan or a dict of its fields."""
    if isinstance(item, BlockPlan):
        return item
    try:
        return BlockPlan(**item)
    except TypeError:
        raise InvalidInputError(f"a plan given as a list holds {item!r}; give BlockPlan(type=..., width=...) "
                                "entries or dicts with the keys type and width.") from None


def resolve_plan(spec: str | Path | dict | list, teacher_types: list[str | None]) -> list[BlockPlan]:
    """The plan for a teacher whose blocks have `teacher_types` (registry names, None when
    unknown): a preset name, a .toml path, a dict as in the module docstring, or a list of
    BlockPlan / dicts."""
    if not teacher_types:
        raise InvalidInputError("the teacher has no blocks to recast.")
    if isinstance(spec, list):
        return _from_data(plan_to_dict([_block_plan(b) for b in spec]), teacher_types)
    if isinstance(spec, dict):
        return _from_data(spec, teacher_types)
    text = str(spec)
    if text == "half-width":
        return _from_data({"width": 0.5}, teacher_types)
    if text in PRESETS:
        return _from_data({"type": text}, teacher_types)
    path = Path(text)
    if path.suffix == ".toml":
        return _from_data(_read_toml(path), teacher_types)
    raise InvalidInputError(f"plan {text!r} is neither a preset ({', '.join(PRESETS)}) nor a .toml file.")
