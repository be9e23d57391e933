"""Run-directory configs: plain dicts <-> TOML (config.toml) and JSON (results.json)."""

from __future__ import annotations

import json
import math
import re
import shlex
import sys
import tomllib
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from sc_accel.errors import DataFileError, InvalidInputError
from scnas.rundir import atomic_write_bytes

__all__ = ["write_toml", "read_toml", "write_json", "read_json", "read_config", "run_meta", "set_command_line",
           "claim_settings", "command_line", "read_run_config", "recorded_options", "version"]

_ARGV: list[str] | None = None  # the CLI's arguments; None under the Python API


def set_command_line(argv: list[str]) -> None:
    """Remember the command line (the CLI calls this) so run directories can record it."""
    global _ARGV
    _ARGV = list(argv)


def command_line() -> list[str]:
    """The arguments set_command_line remembered (empty when none was: the Python API)."""
    return list(_ARGV or [])


def version() -> str:
    """The installed package's version; from a source tree that is not installed, setup.py's."""
    try:
        return metadata.version("scnas")
    except metadata.PackageNotFoundError:
        setup = Path(__file__).resolve().parents[1] / "setup.py"
        found = re.search(r"""version\s*=\s*["']([^"']+)["']""", setup.read_text()) if setup.is_file() else None
        return found.group(1) if found else "unknown"


def run_meta() -> dict:
    """The [run] table of a config.toml: command line, package version and date (UTC), so a
    report can say how each run was made."""
    argv = "scnas " + " ".join(shlex.quote(a) for a in _ARGV) if _ARGV is not None else "(Python API)"
    return {"argv": argv, "version": version(),
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
    except RecursionError:
        raise InvalidInputError(f"{path} is nested too deeply to be a settings file; fix or delete it.") from None


def write_json(data: object, path: str | Path) -> None:
    """Write JSON atomically (a crash never leaves half a results file)."""
    _atomic_write(Path(path), json.dumps(data, indent=1) + "\n")


def read_part(path: Path, problem: Callable[[object], str | None], who: str, what: str = "task") -> dict | None:
    """A finished task's saved result, or None when the file is damaged or is not that task's
    (`problem(part)` says why, or None): a note on stderr names the file and the reason, and the
    task is recomputed (tasks are deterministic, so nothing is lost)."""
    try:
        part = json.loads(path.read_bytes().decode("utf-8"))
        why = problem(part)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        why = f"it is not valid JSON ({type(e).__name__})"
    except OSError as e:
        why = f"it cannot be read ({e.strerror or e})"
    if why is None:
        return part
    print(f"{who}: warning: {path} is damaged ({why}); recomputing that {what}.", file=sys.stderr)
    return None


def read_json(path: str | Path) -> dict:
    """Parse a JSON file, with a one-sentence error when it is malformed."""
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"{path} is not valid JSON ({e}); fix or delete it.") from None
    except RecursionError:
        raise InvalidInputError(f"{path} is nested too deeply to be a settings or results file; fix or delete "
                                "it.") from None


def _read_text(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"{p} does not exist; check the path.")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{p} is not text (not UTF-8), so it cannot be read as TOML or JSON; replace it "
                                "with a text file (or delete it if a run wrote it).") from None


def read_config(path: str | Path) -> dict:
    """A settings file by its suffix: .json as JSON, anything else as TOML."""
    return read_json(path) if str(path).endswith(".json") else read_toml(path)


def read_run_config(path: str | Path) -> tuple[Path, dict]:
    """(the file, its settings) of a run's config.toml, given the file or its run directory;
    a file that names no scnas command is refused in one sentence."""
    p = Path(path)
    p = p / "config.toml" if p.is_dir() else p
    cfg = read_toml(p)
    if not isinstance(cfg.get("command"), str) or (cfg["command"] == "dse" and not isinstance(cfg.get("search"), str)):
        raise InvalidInputError(f"{p} names no scnas command, so it is not a run's config.toml; give the "
                                "config.toml of a run directory.")
    return p, cfg


def recorded_options(cfg: dict, words: list[str]) -> list[str] | None:
    """The options of the command line a config.toml records ([run] argv) after the command
    `words` (["dse", "evolver"]); None when it records none of that command (a run made from Python)."""
    argv = cfg.get("run", {}).get("argv") if isinstance(cfg.get("run"), dict) else None
    if not isinstance(argv, str):
        return None
    try:
        tokens = shlex.split(argv)
    except ValueError:
        return None
    n = len(words)
    at = next((i for i in range(1, len(tokens) - n + 1) if tokens[i:i + n] == words), None)
    return None if tokens[:1] != ["scnas"] or at is None else tokens[at + n:]


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def _shown(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _json_of(v: object) -> object:
    """A setting that holds JSON text (an accelerator's content) as data, else the value."""
    if isinstance(v, list):
        return [_json_of(x) for x in v]
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.loads(v)
        except (json.JSONDecodeError, RecursionError):
            return v
    return v


def _holds_json(v: object) -> bool:
    return any(isinstance(x, (dict, list)) for x in (_json_of(v) if isinstance(v, list) else [_json_of(v)]))


def _diffs(old: object, new: object, path: str) -> list[str]:
    """Where two settings differ, as 'path old -> new' at the first level that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new), key=str) for d in _diffs(old.get(k), new.get(k), f"{path}.{k}")]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _diffs(a, b, f"{path}[{i}]")]
    return [] if old == new else [f"{path} {_shown(old)} -> {_shown(new)}"]


def _change(key: str, old: object, new: object) -> str:
    """One changed setting for a sentence; inside JSON content, the fields that changed (at most 3)."""
    found = _diffs(_json_of(old), _json_of(new), key)
    return ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "") if found else key


def claim_settings(run: Path, settings: dict, free: tuple[str, ...] = ()) -> None:
    """Write run/config.toml (`settings` and the [run] table), after checking that a rerun asks
    for the same settings as the run it resumes: every key but `free` (how, not what, is run:
    workers, progress) must be equal, else one sentence names what changed and nothing is
    written, so a refused rerun leaves the directory byte-identical."""
    path = run / "config.toml"
    new = tomllib.loads("\n".join(_toml_lines(settings, ())) + "\n")  # as it will read back
    if path.is_file():
        old = read_toml(path)
        try:
            _check_same(run, old, new, free)
        except RecursionError:
            raise InvalidInputError(f"{path} is nested too deeply to be a scnas config.toml; give another --out or "
                                    "delete it.") from None
        if "run" in old:  # the same settings: the file and the [run] table of the call that made it stay
            return
    write_toml({**settings, "run": run_meta()}, path)


def _check_same(run: Path, old: dict, new: dict, free: tuple[str, ...]) -> None:
    """Refuse, naming what changed, a rerun whose settings differ from the saved ones."""
    keys = sorted((k for k in set(old) | set(new) if k not in ("run", *free) and old.get(k) != new.get(k)),
                  key=lambda k: (_holds_json(new.get(k)), k))  # plain settings first
    if keys:
        what = ", ".join(_change(k, old.get(k), new.get(k)) for k in keys)
        raise InvalidInputError(f"{run} holds a `scnas {old.get('command', '?')}` run made with other settings "
                                f"({what}); rerun with the same ones to resume, or give another --out.")
