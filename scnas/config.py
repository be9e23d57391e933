"""Run-directory configs: plain dicts <-> TOML (config.toml) and JSON (results.json)."""

from __future__ import annotations

import json
import math
import re
import shlex
import tomllib
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from sc_accel.errors import DataFileError, InvalidInputError
from scnas.rundir import atomic_write_bytes

__all__ = ["write_toml", "read_toml", "write_json", "read_json", "read_config", "run_meta", "set_command_line"]

_COMMAND_LINE = ""


def set_command_line(argv: list[str]) -> None:
    """Remember the command line (the CLI calls this) so run directories can record it."""
    global _COMMAND_LINE
    _COMMAND_LINE = "scnas " + " ".join(shlex.quote(a) for a in argv)


def run_meta() -> dict:
    """The [run] table of a config.toml: command line, package version and date (UTC), so a
    report can say how each run was made."""
    try:
        version = metadata.version("scnas")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"argv": _COMMAND_LINE or "(Python API)", "version": version,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)) and not (isinstance(v, float) and not math.isfinite(v)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise InvalidInputError(f"cannot write {v!r} to TOML; use numbers, strings, booleans or lists.")


def write_toml(data: dict, path: str | Path) -> None:
    """Write a dict of scalars, lists and nested sub-tables (e.g. SCConfig's per-layer
    overrides, `[layers.conv1]`); None values are left out."""
    _atomic_write(Path(path), "\n".join(_toml_lines(data, ())) + "\n")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _toml_lines(data: dict, prefix: tuple[str, ...]) -> list[str]:
    lines = [f"{_toml_key(str(k))} = {_value(v)}" for k, v in data.items() if v is not None and not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            path = prefix + (_toml_key(str(k)),)
            lines += ["", f"[{'.'.join(path)}]"] + _toml_lines(v, path)
    if prefix and lines and lines[-1] == "":
        lines.pop()
    return lines


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file, with a one-sentence error when it is malformed."""
    try:
        return tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{path} is not valid TOML ({e}); fix or delete it.") from None


def write_json(data: object, path: str | Path) -> None:
    """Write JSON atomically (a crash never leaves half a results file)."""
    _atomic_write(Path(path), json.dumps(data, indent=1) + "\n")


def read_json(path: str | Path) -> dict:
    """Parse a JSON file, with a one-sentence error when it is malformed."""
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"{path} is not valid JSON ({e}); fix or delete it.") from None


def _read_text(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"{p} does not exist; check the path.")
    return p.read_text()


def read_config(path: str | Path) -> dict:
    """A settings file by its suffix: .json as JSON, anything else as TOML."""
    return read_json(path) if str(path).endswith(".json") else read_toml(path)


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())
