"""Copy the record of finished runs (results.json and config.toml, nothing else) into the
repository, so a README table can be reprinted, checked and extended by a later session.

Usage (from the repository root):
    python scripts/keep_results.py RUNS_DIR DEST [--teacher RUN_DIR ...] [--teachers-to DIR] [--replace]
Every finished run directory under RUNS_DIR (as the report finds them) is copied to the same
relative place under DEST. A file already in DEST with other contents is kept and named, and
the exit code is 1 (--replace overwrites it); nothing is ever deleted, no file is written
through a symbolic link, and each file is written whole (a temporary file renamed) or not at
all; a file that appears meanwhile (another copy running) is not replaced. --teacher also
keeps a trained teacher with its model.pt: fine-tunes and
estimates join on its content hash, and training it again on another CPU gives other weights.
Teachers go to --teachers-to (default results/teachers), outside DEST, so a report on DEST does
not count them as runs. Bad input: one sentence, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reports.runs import find_runs, is_run_dir
from sc_accel.fileio import atomic_write_bytes

KEPT = ("results.json", "config.toml")


class Refused(Exception):
    """Bad input, said in one sentence."""


def keep(src: Path, dest: Path, names: tuple[str, ...], replace: bool) -> list[str]:
    """Copy `names` from run directory src to dest; a line for each file not copied."""
    notes = []
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (src / name).is_file():
            continue
        target = dest / name
        if target.is_symlink():
            notes.append(f"not written: {target} is a symbolic link")
        elif target.exists() and target.read_bytes() != (src / name).read_bytes() and not replace:
            notes.append(f"kept the existing {target}: it differs from {src / name} (--replace overwrites)")
        else:  # written whole or not at all: a kill mid-copy leaves no half file to be taken for a record
            try:  # a new file only where none appeared since the check, unless replacing was asked for
                atomic_write_bytes(target, (src / name).read_bytes(), exclusive=not target.exists())
            except FileExistsError:
                notes.append(f"kept {target}: another copy wrote it meanwhile")
    return notes


def _runs(root: Path, dest: Path) -> list[Path]:
    """The finished runs under root (each once), after refusing what would nest or flatten."""
    if not root.is_dir():
        raise Refused(f"RUNS_DIR {root} is not a directory.")
    if is_run_dir(root):
        raise Refused(f"RUNS_DIR {root} is itself a run: give the directory above it, so the run keeps its name.")
    top, out = root.resolve(), dest.resolve()
    if out == top or top in out.parents:
        raise Refused(f"DEST {dest} is inside RUNS_DIR {root}: every copy would be found again as a run.")
    if out.exists() and not out.is_dir():
        raise Refused(f"DEST {dest} exists and is not a directory.")
    runs, seen = [], set()
    for run in find_runs([root]):
        if run.resolve() not in seen and (run / "results.json").is_file():
            seen.add(run.resolve())
            runs.append(run)
    if not runs:
        raise Refused(f"RUNS_DIR {root} holds no finished run (no results.json under it).")
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path)
    p.add_argument("dest", type=Path)
    p.add_argument("--teacher", type=Path, action="append", default=[],
                   help="a teacher's run directory (with model.pt), kept under --teachers-to")
    p.add_argument("--teachers-to", type=Path, default=Path("results/teachers"))
    p.add_argument("--replace", action="store_true", help="overwrite kept files that differ")
    a = p.parse_args(argv)
    try:
        runs = _runs(a.runs, a.dest)
        for t in a.teacher:
            if not (t / "model.pt").is_file():
                raise Refused(f"teacher {t} is not a run directory with a model.pt.")
    except Refused as e:
        print(f"keep_results: {e}", file=sys.stderr)
        return 2
    unfinished = [r for r in find_runs([a.runs]) if not (r / "results.json").is_file()]
    notes = [f"skipped {r}: no results.json (unfinished)" for r in unfinished]
    conflicts = []
    for run in runs:
        conflicts += keep(run, a.dest / run.relative_to(a.runs), KEPT, a.replace)
    for t in a.teacher:
        conflicts += keep(t, a.teachers_to / t.resolve().name, KEPT + ("model.pt",), a.replace)
    said = f"{len(runs)} runs under {a.dest}" + (f", {len(a.teacher)} teachers under {a.teachers_to}" if a.teacher else "")
    print("\n".join(notes + conflicts + [("kept, but for the files named: " if conflicts else "kept: ") + said]))
    return 1 if conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
