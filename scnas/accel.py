"""Accelerator presets and files by name: configs/accel/NAME.toml, or any .toml/.json path."""

from __future__ import annotations

from pathlib import Path

from sc_accel.errors import InvalidInputError
from sc_accel.hw import AccelConfig, presets
from scnas.config import read_config, write_json, write_toml

__all__ = ["ACCEL_DIR", "load_accel", "save_accel", "preset_names"]

ACCEL_DIR = Path(__file__).resolve().parents[1] / "configs" / "accel"


def preset_names() -> list[str]:
    """Names of the shipped presets (files in configs/accel, else the built-in set)."""
    files = sorted(p.stem for p in ACCEL_DIR.glob("*.toml")) if ACCEL_DIR.is_dir() else []
    return files or sorted(presets())


def load_accel(spec: str | Path) -> AccelConfig:
    """An AccelConfig from a preset name or a .toml / .json file."""
    p = Path(spec)
    if p.suffix in (".toml", ".json"):
        if not p.is_file():
            raise InvalidInputError(f"accelerator file {p} does not exist; give a preset name "
                                    f"({', '.join(preset_names())}) or an existing .toml/.json file.")
        return _read_accel(p)
    f = ACCEL_DIR / f"{spec}.toml"
    if f.is_file():
        return _read_accel(f)
    builtin = presets()
    if str(spec) in builtin:
        return builtin[str(spec)]
    raise InvalidInputError(f"unknown accelerator {spec!r}; give a preset name ({', '.join(preset_names())}) "
                            "or a .toml/.json file.")


def _read_accel(path: Path) -> AccelConfig:
    """An accelerator file, refused with one sentence when it is not UTF-8 text (binary garbage)."""
    try:
        return AccelConfig.from_dict(read_config(path))
    except UnicodeDecodeError:
        raise InvalidInputError(f"accelerator file {path} is not UTF-8 text (is it a binary file?); give a "
                                "TOML or JSON accelerator description such as configs/accel/*.toml.") from None


def save_accel(accel: AccelConfig, path: str | Path) -> None:
    """Write an AccelConfig as TOML or JSON (by suffix)."""
    p = Path(path)
    if p.suffix == ".json":
        write_json(accel.to_dict(), p)
    else:
        write_toml(accel.to_dict(), p)
