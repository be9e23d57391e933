"""Run directories as the report sees them: results.json and config.toml, nothing else.

A run's kind comes from `command` in its config.toml (written by every `scnas` command) or,
for a directory without one, from the shape of its results.json. Whatever cannot be read is
returned as a warning naming the file, so one bad run never stops a report.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from reports.outdir import MARKER

__all__ = ["setting_key", "seed_families", "run_name", "Run", "KINDS", "is_run_dir", "find_runs", "load_run",
           "load_runs"]

# command in config.toml -> report section; "search" is InheritedNAS, "dse" the accelerator searches.
KINDS = ("train", "finetune", "emulate", "estimate", "recast", "search", "dse")

_MAX_DEPTH = 64  # results and configs of scnas nest a few levels; deeper ones would overflow the stack later

# Keys that identify a results.json when config.toml is missing (older or copied runs).
_SIGNATURES = (("finetune", ("bit_accuracy_before", "bit_accuracy_after")), ("emulate", ("settings", "float_accuracy")), ("estimate", ("estimates",)),
               ("recast", ("models", "block_history")), ("search", ("method", "final")),
               ("dse", ("search", "history")), ("train", ("history", "test_accuracy")))


@dataclass
class Run:
    """One run directory: its parsed results and config, and what identifies it on the page."""

    path: Path
    name: str
    kind: str
    results: dict
    config: dict = field(default_factory=dict)
    config_text: str = ""  # config.toml as written, shown on the page

    @property
    def meta(self) -> dict:
        """command line, package version, date and seed, as far as the run recorded them;
        triggered_by: the command that started a run made as a side effect (a teacher's training)."""
        run = self.config.get("run", {}) if isinstance(self.config.get("run"), dict) else {}
        date = run.get("date") or _mtime(self.path / "results.json")
        seed = self.config.get("seed", self.results.get("seed"))
        command, by = run.get("argv") or f"scnas {self.kind}", run.get("triggered_by", "")
        if self.kind == "train" and not by and not command.startswith("scnas train"):
            command, by = "", command  # a teacher trained as a side effect, before runs recorded their own command
        return {"command": command, "triggered_by": by, "version": run.get("version", "unknown"),
                "date": date, "seed": "-" if seed is None else seed}


def is_run_dir(path: Path) -> bool:
    """Whether `path` looks like a run directory: it holds results.json or config.toml (an
    unfinished run), and is not a report's own output (reports.outdir's marker)."""
    return path.is_dir() and ((path / "results.json").is_file() or (path / "config.toml").is_file()) \
        and not os.path.lexists(path / MARKER)


def find_runs(paths: list[str | Path], skip: list[str | Path] = ()) -> list[Path]:
    """The paths given, each directory that is not a run replaced by the run directories under
    it (walked in sorted order, hidden directories, `skip` and the insides of runs left out).
    A path that is a run, not a directory, or holds no run is kept as given, so the report
    names it in a warning."""
    skipped = {Path(s).resolve() for s in skip}
    out: list[Path] = []
    for given in map(Path, paths):
        found = [] if is_run_dir(given) or not given.is_dir() else _walk(given, skipped)
        out += found or [given]
    return out


def _walk(root: Path, skipped: set[Path]) -> list[Path]:
    """Run directories under root in path order (a, b/c, d); symbolic links are not followed."""
    found = []
    for here, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(here, d).resolve() not in skipped)
        runs = [d for d in dirs if is_run_dir(Path(here, d))]
        found += [Path(here, d) for d in runs]
        dirs[:] = [d for d in dirs if d not in runs]  # a run's subdirectories are its own files
    return sorted(found, key=lambda p: p.parts)


def setting_key(run: Run) -> str:
    """What a run was asked to do, less its seed (and where and when it ran): runs with one key
    are seeds of one setting."""
    return json.dumps({k: v for k, v in run.config.items() if k not in ("run", "seed")}, sort_keys=True, default=str)


def seed_families(runs: list[Run]) -> list[list[Run]]:
    """`runs` grouped by setting_key, in the order first seen."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(setting_key(run), []).append(run)
    return list(groups.values())


def run_name(path: Path) -> str:
    """How the page names a run: its directory, with the parent in front for a sub-run of a
    seed list (runs/emu/seed-1 -> emu/seed-1), so seeds of one command read as one family."""
    return f"{path.parent.name}/{path.name}" if path.name.startswith("seed-") and path.parent.name else path.name


def load_run(path: str | Path) -> tuple[Run | None, list[str]]:
    """(run, warnings); run is None when the directory has no readable results.json."""
    p = Path(path)
    if not p.is_dir():
        return None, [f"{p}: not a run directory (it does not exist or is a file); skipped."]
    results, warn = _read_json(p / "results.json")
    if results is None:
        return None, [warn]
    config, text, warns = {}, "", []
    if (p / "config.toml").is_file():
        text = (p / "config.toml").read_text(errors="replace")
        config, warn = _parse_toml(text, p / "config.toml")
        warns += [warn] if warn else []
    kind = config.get("command") if config.get("command") in KINDS else _kind_from_results(results)
    if kind is None:
        return None, warns + [f"{p / 'results.json'}: not a results file of any scnas command "
                              f"(keys: {', '.join(sorted(results)[:8]) or 'none'}); skipped."]
    return Run(p, run_name(p), kind, results, config, text), warns


def load_runs(paths: list[str | Path]) -> tuple[list[Run], list[str]]:
    """Every readable run, names made unique (a/demo, b/demo -> demo, demo-2), and all warnings."""
    runs, warnings, seen = [], [], set()
    for path in paths:
        run, warns = load_run(path)
        warnings += warns
        if run is None:
            continue
        if Path(run.path).resolve() in {r.path.resolve() for r in runs}:
            warnings.append(f"{run.path}: given twice; shown once.")
            continue
        base, n = run.name, 1
        while run.name in seen:
            n += 1
            run.name = f"{base}-{n}"
        seen.add(run.name)
        runs.append(run)
    return runs, warnings


def _read_json(path: Path) -> tuple[dict | None, str]:
    if not path.is_file():
        return None, f"{path}: missing, so this run has no results yet; skipped."
    try:
        data = json.loads(path.read_text())
        deep = _too_deep(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return None, f"{path}: not valid JSON ({e}); skipped."
    except RecursionError:
        deep = True
    if deep:
        return None, f"{path}: unreadable, nested more than {_MAX_DEPTH} levels deep (no results file is); skipped."
    if not isinstance(data, dict):
        return None, f"{path}: holds a {type(data).__name__}, not the object a results file holds; skipped."
    return data, ""


def _parse_toml(text: str, path: Path) -> tuple[dict, str]:
    """(config, "") or ({}, a warning naming the file)."""
    try:
        config = tomllib.loads(text)
        deep = _too_deep(config)
    except tomllib.TOMLDecodeError as e:
        return {}, f"{path}: not valid TOML ({e}); the run is shown without its config."
    except RecursionError:
        deep = True
    if deep:
        return {}, f"{path}: nested more than {_MAX_DEPTH} levels deep; the run is shown without its config."
    return config, ""


def _too_deep(data: object) -> bool:
    """Whether lists and dicts nest deeper than _MAX_DEPTH (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > _MAX_DEPTH:
                return True
            stack += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return False


def _kind_from_results(results: dict) -> str | None:
    for kind, keys in _SIGNATURES:
        if all(k in results for k in keys):
            return kind
    return None


def _mtime(path: Path) -> str:
    try:
        t = path.stat().st_mtime
    except OSError:
        return "unknown"
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
