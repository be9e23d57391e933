"""`scnas report`: every run directory given, gathered into one HTML page with paper figures.

Reads only result files. Each figure goes to OUT/figures/ as PNG (for the page), SVG and PDF
(for papers) and CSV (the numbers drawn). A run whose files are missing or malformed is named
in a warning on the page; the rest of the report is still written. OUT must be new, empty or
an earlier report's (reports.outdir): a user's files are never replaced or deleted.
"""

from __future__ import annotations

import json
import traceback
import warnings as warnings_module
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import matplotlib.pyplot as plt

from reports.fig_codesign import codesign_figures
from reports.fig_dse import dse_figures
from reports.fig_emulation import compare_runs, emulation_figures
from reports.fig_estimate import estimate_figures
from reports.fig_nas import nas_figures
from reports.fig_recast import recast_figures
from reports.fig_train import training_curves
from reports.figure import FORMATS, Figure, save_figure_set, slug, write_text_atomic
from reports.headline import designs
from reports.html import SECTIONS, write_page
from reports.outdir import OutDir, ReportError
from reports.runs import Run, load_runs, seed_families
from reports.schema import problems
from reports.style import styled

__all__ = ["ReportError", "Report", "build_report"]


@dataclass
class Report:
    """What was written: the page, the runs shown, the figures' files and the warnings."""

    index: Path
    runs: list[Run]
    sections: dict[str, list[tuple[Figure, dict[str, Path]]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def figures(self) -> list[tuple[Figure, dict[str, Path]]]:
        """Every figure with its files, in page order."""
        return [f for fs in self.sections.values() for f in fs]


# Per-run figure builders (run, its unique slug) and builders over all runs of a kind (seeds, methods side by side).
_PER_RUN = {"train": lambda run, name: [training_curves(run.results, name)] if run.results["history"] else [],
            "emulate": lambda run, name: emulation_figures(run.results, name),
            "estimate": lambda run, name: estimate_figures(run.results, name)}
_PER_KIND = {"emulate": lambda runs: [compare_runs(runs)] if len(runs) > 1 or _has_seeds(runs) else [],
             "recast": recast_figures, "search": nas_figures, "dse": dse_figures}
_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError, StopIteration,
              RecursionError)


def build_report(run_dirs: list[str | Path], out: str | Path, argv: str = "", ignore: Collection[str] = (),
                 also: Collection[str] = ()) -> Report:
    """Read the runs, draw their figures into out/figures and write out/index.html. `out` must be
    new, empty or a report's own directory (ReportError otherwise); `ignore` and `also` are the
    caller's own names there, as in OutDir.claim."""
    od = OutDir.claim(out, ignore, also)
    runs, warnings = load_runs(run_dirs)
    drawable = [r for r in runs if _valid(r, warnings)]
    names = _slugs(runs)
    figures: dict[str, list[tuple[Figure, dict[str, Path]]]] = {k: [] for k in SECTIONS}
    with styled(), warnings_module.catch_warnings():
        warnings_module.filterwarnings("ignore", message="Tight layout not applied")  # huge figures
        for run in drawable:
            if run.kind in _PER_RUN:
                drawn = _draw(lambda r=run: _PER_RUN[r.kind](r, names[r.name]), [run], od, warnings)
                if not drawn:
                    warnings.append(f"{run.path / 'results.json'}: nothing to draw yet (an unfinished run?).")
                figures[run.kind] += drawn
        for kind, build in _PER_KIND.items():
            mine = [r for r in drawable if r.kind == kind and (kind != "emulate" or r.results["settings"])]
            if mine:
                figures[kind] += _draw(lambda m=mine, b=build: b(_entries(m, names)), mine, od, warnings)
        if drawable:  # accuracy against cost, joined across emulate, finetune and estimate runs
            figures["codesign"] += _draw(lambda: codesign_figures(drawable), drawable, od, warnings)
    warnings += designs(drawable)[1]
    return _write_page(od, runs, drawable, figures, warnings, run_dirs, argv)


def _entries(runs: list[Run], names: dict[str, str]) -> list[tuple[str, dict]]:
    """(name, results) for a figure across runs: emulate runs that are seeds of one setting
    (a seed list's sub-runs) become one entry, their settings side by side (each carries its
    seed), so the figure draws their mean ± std; other runs are one entry each."""
    out = []
    for family in seed_families(runs) if runs[0].kind == "emulate" else [[r] for r in runs]:
        if len(family) == 1 or len({r.meta.get("seed") for r in family}) < len(family):  # reruns: apart
            out += [(names[r.name], r.results) for r in family]
            continue
        merged = {**family[0].results, "settings": [s for r in family for s in r.results["settings"]]}
        parents = {r.path.parent.name for r in family}
        label = parents.pop() if len(parents) == 1 and all(r.path.name.startswith("seed-") for r in family) \
            else "+".join(names[r.name] for r in family)
        out.append((f"{label} ({len(family)} seeds)", merged))
    return out


def _has_seeds(entries: list[tuple[str, dict]]) -> bool:
    """Whether an entry holds settings run with several seeds (drawn even when it is the only one)."""
    return any(len({s["config"].get("seed") for s in res["settings"]}) > 1 for _, res in entries)


def _write_page(od: OutDir, runs: list[Run], valid: list[Run], figures: dict, warnings: list[str], run_dirs: list,
                argv: str) -> Report:
    """index.html and report.json, each listed in the marker before it is written."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    shown = {r.path.resolve() for r in runs}
    skipped = list(dict.fromkeys(Path(p) for p in run_dirs if Path(p).resolve() not in shown))
    try:
        od.add(["index.html", "report.json"])
        index = write_page(od.path / "index.html", runs, figures, warnings, argv=argv, date=now, skipped=skipped,
                           valid=valid)
        rep = Report(index, runs, figures, warnings)
        _write_manifest(rep, od.path / "report.json", argv, now)
    except OSError as e:
        raise ReportError(f"cannot write the report to {od.path} ({e.strerror}); free space or choose another "
                          "--out.") from None
    return rep


def _slugs(runs: list[Run]) -> dict[str, str]:
    """run name -> file-name stem, unique even where names slug alike ("Run A", "run-a" ->
    run-a, run-a-2), numbered in the order the runs were given."""
    out: dict[str, str] = {}
    for run in runs:
        base = name = slug(run.name)
        n = 1
        while name in out.values():
            n += 1
            name = f"{base}-{n}"
        out[run.name] = name
    return out


def _write_manifest(rep: Report, path: Path, argv: str, date: str) -> None:
    """report.json: the page's content for scripts (runs, figures with their files, warnings)."""
    data = {"command": argv, "date": date,
            "runs": [{"name": r.name, "path": str(r.path), "kind": r.kind, **r.meta} for r in rep.runs],
            "figures": [{"name": f.name, "title": f.title, "section": section,
                         "files": {k: p.relative_to(path.parent).as_posix() for k, p in files.items()}}
                        for section, figs in rep.sections.items() for f, files in figs],
            "warnings": rep.warnings}
    write_text_atomic(path, json.dumps(data, indent=1, default=str) + "\n")


def _valid(run: Run, warnings: list[str]) -> bool:
    """Check the run's results against its kind's layout; a problem becomes a warning."""
    found = problems(run.kind, run.results)
    if found:
        warnings.append(f"{run.path / 'results.json'}: malformed {run.kind} results: {'; '.join(found)}; "
                        "its figures are left out.")
    return not found


def _draw(build, runs: list[Run], od: OutDir, warnings: list[str]) -> list[tuple[Figure, dict[str, Path]]]:
    """Run one figure builder; a malformed results file becomes a warning naming it."""
    try:
        figs = build()
    except _MALFORMED as e:
        plt.close("all")  # whatever the builder had drawn before it failed
        where = traceback.extract_tb(e.__traceback__)[-1]
        files = ", ".join(str(r.path / "results.json") for r in runs)
        warnings.append(f"{files}: malformed {runs[0].kind} results ({type(e).__name__}: {e} in "
                        f"{Path(where.filename).stem}.{where.name}); its figures are left out.")
        return []
    try:
        return [(f, _save(f, od)) for f in figs]
    except OSError as e:  # disk full, directory removed under us: nothing sensible to draw into
        plt.close("all")
        raise ReportError(f"cannot write figures to {od.path / 'figures'} ({e.strerror}); free space or choose "
                          "another --out.") from None
    except ReportError:
        plt.close("all")
        raise


def _save(fig: Figure, od: OutDir) -> dict[str, Path]:
    """Save one figure under a name no other figure of this report has, listed in the marker first."""
    base, n = fig.name, 1
    while fig.name in od.names:
        n += 1
        fig.name = f"{base}-{n}"
    od.names.add(fig.name)
    od.add([f"figures/{fig.name}.{ext}" for ext in (*FORMATS, "csv")])
    return save_figure_set(fig, od.path / "figures")
