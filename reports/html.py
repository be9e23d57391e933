"""The report page: one self-contained index.html (inline CSS, no script, no remote file)."""

from __future__ import annotations

import html
import os
from importlib import metadata
from pathlib import Path

from reports.figure import Figure, write_text_atomic
from reports.codesign import codesign_sets, headline
from reports.headline import Accuracy, ModelAccuracy, best_designs, designs, model_accuracies
from reports.runs import Run
from reports.stats import mean_std, wilson
from reports.tables import column_cell, column_header, over_budget
from reports.units import show

__all__ = ["SECTIONS", "write_page"]

SECTIONS = {"codesign": "Co-design: SC against binary", "train": "Training", "emulate": "SC emulation", "estimate": "Hardware estimator",
            "recast": "Recasting", "search": "Architecture search (InheritedNAS)",
            "dse": "Accelerator design-space search"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1760px;
 padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:2px solid #0072B2;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef4fa}.warn{background:#fff4e0;border-left:4px solid #D55E00;padding:.6rem 1rem}
figure{margin:1.4rem 0;padding:.6rem;border:1px solid #e3e3e3;border-radius:4px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:.9rem;margin-top:.4rem}
.files a{margin-right:.8rem}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;font-size:.8rem}
code{font-size:.85rem}nav a{margin-right:1rem}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,600px),1fr));gap:0 1rem}
figure a.full{display:block;cursor:zoom-in}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.over td{color:#8a4b00;background:#fff4e0}.headline{background:#f7fafc;border:1px solid #d6e4f0;
 border-radius:4px;padding:.2rem 1rem 1rem}small{color:#555}
.figs figure.wide{grid-column:1/-1}.skipped td{color:#8a4b00}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _version() -> str:
    try:
        return metadata.version("scnas")
    except metadata.PackageNotFoundError:
        return "unknown"


def _runs_table(runs: list[Run], skipped: list[Path]) -> str:
    head = "<tr><th>run</th><th>kind</th><th>model</th><th>dataset</th><th>seed</th><th>command</th>" \
           "<th>scnas version</th><th>date</th><th>config</th></tr>"
    rows = []
    for r in runs:
        m, res = r.meta, r.results
        model = res.get("model") or res.get("teacher") or "-"
        config = r.config_text or "(no config.toml)"
        rows.append(f"<tr id='run-{_e(r.name)}'><td><code>{_e(r.name)}</code><br><small>{_e(r.path)}</small></td>"
                    f"<td>{_e(r.kind)}</td><td>{_e(model)}</td><td>{_e(res.get('dataset', '-'))}</td>"
                    f"<td>{_e(m['seed'])}</td><td>{_command(m)}</td><td>{_e(m['version'])}</td>"
                    f"<td>{_e(m['date'])}</td><td><details><summary>config.toml</summary><pre>{_e(config)}</pre>"
                    "</details></td></tr>")
    rows += [f"<tr class='skipped'><td><small>{_e(p)}</small></td><td colspan='8'>not shown: "
             "<a href='#warnings'>see the warnings</a></td></tr>" for p in skipped]
    return f"<table>{head}{''.join(rows)}</table>"


def _command(meta: dict) -> str:
    """The command that made the run; a run started by another command says which."""
    own = f"<code>{_e(meta['command'])}</code>" if meta["command"] else ""
    by = meta.get("triggered_by")
    return own + (f"<br><small>(trained by: <code>{_e(by)}</code>)</small>" if by else "")


def _table(fig: Figure) -> str:
    """The figure's rows, in units people read; a DSE design over its budget says so."""
    extra = "feasible" not in fig.columns and any("feasible" in r or ("power_cap_w" in r and "batch" in r)
                                                  for r in fig.rows)
    head = "".join(f"<th>{_e(column_header(c))}</th>" for c in fig.columns) + ("<th>budget</th>" if extra else "")
    body = []
    for r in fig.rows:
        cells = [_td(("over budget" if over_budget(r) else "within") if c == "feasible"
                     else column_cell(c, r.get(c)), _is_num(r.get(c))) for c in fig.columns]
        if extra:
            cells.append(_td("over budget" if over_budget(r) else "within"))
        body.append(("<tr class='over'>" if over_budget(r) else "<tr>") + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _td(text: str, num: bool = False) -> str:
    return f"<td class='num'>{_e(text)}</td>" if num else f"<td>{_e(text)}</td>"


def _figure(fig: Figure, files: dict[str, Path], out: Path) -> str:
    """The figure as a link to its full-size PNG, with links to every file saved for it."""
    rel = {k: Path(os.path.relpath(p, out)).as_posix() for k, p in files.items()}
    links = " ".join(f"<a href='{_e(rel[k])}'>{k.upper()}</a>" for k in ("png", "svg", "pdf", "csv") if k in rel)
    table = _table(fig) if fig.show_table else ""
    w, h = fig.fig.get_size_inches()
    wide = " class='wide'" if fig.show_table or w / h > 2 or w > 8 else ""
    return (f"<figure id='{_e(fig.name)}'{wide}><a class='full' href='{_e(rel['png'])}' title='open full size'>"
            f"<img src='{_e(rel['png'])}' alt='{_e(fig.title)}'></a>"
            f"<figcaption><b>{_e(fig.title)}</b>. {_e(fig.caption)} <span class='files'>{links}</span>"
            f"</figcaption>{table}</figure>")


def _accuracy(a: Accuracy) -> str:
    """A percentage with its uncertainty: mean ± std over runs (seeds) that differ, else the
    Wilson 95% interval where the number of images is known, else the bare value."""
    if not a.values:
        return "-"
    if len(set(a.values)) > 1:
        m, sd = mean_std(a.values)
        text = f"{100 * m:.2f} ± {100 * sd:.2f}% <small>(mean ± std of {len(a.values)} runs)</small>"
    elif a.n:
        lo, hi = wilson(a.values[0], a.n)
        text = f"{100 * a.values[0]:.2f}% <small>[{100 * lo:.1f}, {100 * hi:.1f}] on {a.n:,} images</small>"
    else:
        text = f"{100 * a.values[0]:.2f}% <small>(images not recorded)</small>"
    if len(a.values) > 1 and len(set(a.values)) == 1:
        text += f" <small>(the same in {len(a.values)} runs)</small>"
    return text + (f"<br><small>{_e(a.setting)}</small>" if a.setting else "")


def _accuracy_table(rows: list[ModelAccuracy]) -> str:
    head = ("<tr><th>model</th><th>dataset</th><th>from</th><th>float</th><th>fixed point</th>"
            "<th>SC (bit-true)</th></tr>")
    body = "".join(f"<tr><td>{_e(r.model)}</td><td>{_e(r.dataset)}</td><td>{_e(r.source)}: "
                   f"{_e(', '.join(r.runs))}</td><td>{_accuracy(r.float)}</td><td>{_accuracy(r.fixed)}</td>"
                   f"<td>{_accuracy(r.sc)}</td></tr>" for r in rows)
    return f"<table id='accuracies'>{head}{body}</table>"


def _best_table(runs: list[Run]) -> str:
    """The best feasible design per objective, with the design's other numbers."""
    found = designs(runs)[0]  # the warnings went to the page's list (reports.report)
    head = ("<tr><th>data</th><th>objective</th><th>design</th><th>model</th><th>run</th><th>latency</th>"
            "<th>energy</th><th>area</th><th>accuracy</th></tr>")
    body = []
    for dataset, key, what, d in best_designs(found):
        vals = [show(k, v) if v is not None else "-" for k, v in
                (("latency_s", d.latency_s), ("energy_pj", d.energy_pj), ("area_um2", d.area_um2))]
        acc = f"{100 * d.accuracy:.2f}% ({d.accuracy_kind})" if d.accuracy is not None else "-"
        cells = "".join(f"<td class='num'>{'<b>' if k == key else ''}{_e(v)}{'</b>' if k == key else ''}</td>"
                        for k, v in zip(("latency_s", "energy_pj", "area_um2", "accuracy"), vals + [acc]))
        data = "none (estimate)" if dataset == "-" else dataset
        body.append(f"<tr><td>{_e(data)}</td><td>{_e(what)}</td><td>{_e(d.name)}</td><td>{_e(d.model)}</td>"
                    f"<td><a href='#run-{_e(d.run)}'>{_e(d.run)}</a> ({_e(d.kind)})</td>{cells}</tr>")
    n_over = sum(not d.feasible for d in found)
    note = (f"<p><small>Over {len(found)} designs of the estimate, recast, search and dse runs; {n_over} over "
            "their budget are never ranked, and designs rank only against those measured on the same data. ConfuciuX "
            "rows give latency in cycles and rank on energy only."
            "</small></p>")
    if not body:
        return "<p>No run given measures a design's latency, energy, area or accuracy.</p>" + note
    return f"<table id='best'>{head}{''.join(body)}</table>{note}"


def _codesign_table(runs: list[Run]) -> str:
    """Per model joined across runs: the cheapest SC and binary designs within 1 point of float."""
    try:
        sets = codesign_sets(runs)
    except (KeyError, TypeError, ValueError, AttributeError):
        return ""  # the co-design figure's own warning names the run
    if not sets:
        return ""
    head = ("<tr><th>model</th><th>float</th><th>family</th><th>design (cheapest within 1 point of float)</th>"
            "<th>accuracy</th><th>energy</th><th>latency</th><th>area</th></tr>")
    body = []
    for cs in sets:
        h = headline(cs)
        flt = "-" if cs.float_accuracy is None else f"{100 * cs.float_accuracy:.2f}%"
        for family, p in (("SC", h.get("best_sc")), ("binary", h.get("best_binary"))):
            if p is None:
                why = ("no fixed-point accuracy measured: add an emulate run of this model"
                       if family == "binary" and not cs.binary_measured else "none within 1 point of float")
                body.append(f"<tr><td>{_e(cs.model)}</td><td class='num'>{flt}</td><td>{family}</td>"
                            f"<td colspan='5'>{why}</td></tr>")
                continue
            acc = f"{100 * p.accuracy:.2f}%" + (f" ± {100 * p.accuracy_std:.2f}" if p.seeds > 1 else "")
            body.append(f"<tr><td>{_e(cs.model)}</td><td class='num'>{flt}</td><td>{family}</td><td>{_e(p.label)}</td>"
                        f"<td class='num'>{acc}</td><td class='num'>{_e(show('energy_pj', p.energy_pj))}</td>"
                        f"<td class='num'>{_e(show('latency_s', p.latency_s))}</td>"
                        f"<td class='num'>{_e(show('area_um2', p.area_um2))}</td></tr>")
    return ("<h3>Co-design: SC against binary at equal accuracy</h3>"
            f"<table id='codesign'>{head}{''.join(body)}</table><p><small>SC accuracy bit-true, binary at its "
            "fixed-point accuracy; costs per image from the shared estimator; see the co-design figure.</small></p>")


def _headline(runs: list[Run], warnings: list[str]) -> str:
    """The section a reader sees first: best designs, accuracies and the warnings."""
    best = _best_table(runs)
    parts = ["<section class='headline' id='headline'><h2>Headline</h2>", _codesign_table(runs),
             "<h3>Best design per objective</h3>", best,
             "<h3>Accuracy of each model</h3>", _accuracy_table(model_accuracies(runs)),
             "<p><small>Brackets: Wilson 95% interval over the images measured; ± : sample standard deviation "
             "over runs of the same setting (seeds).</small></p>"]
    if warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        parts.append(f"<div class='warn' id='warnings'><b>Warnings ({len(warnings)})</b><ul>{items}</ul></div>")
    else:
        parts.append("<p id='warnings'>No warnings.</p>")
    return "".join(parts) + "</section>"


def write_page(path: Path, runs: list[Run], figures: dict[str, list[tuple[Figure, dict[str, Path]]]],
               warnings: list[str], argv: str = "", date: str = "", skipped: list[Path] = (),
               valid: list[Run] | None = None) -> Path:
    """Write index.html: header with how it was made, the headline (best designs and accuracies
    of the `valid` runs, default all; the warnings), the runs (and the directories given that
    could not be shown), then one section per kind of run that has figures."""
    out = path.parent
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>scnas report</title>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style>"
             "<link rel='icon' href='data:,'></head><body>",
             "<h1>scnas report</h1>",
             f"<p>Made {_e(date)} by scnas {_e(_version())}"
             + (f" with <code>{_e(argv)}</code>" if argv else "") + f" from {len(runs)} run(s).</p>"]
    shown = [k for k in SECTIONS if figures.get(k)]
    parts.append("<nav><a href='#headline'>Headline</a><a href='#runs'>Runs</a>"
                 + "".join(f"<a href='#{k}'>{_e(SECTIONS[k])}</a>" for k in shown) + "</nav>")
    parts.append(_headline(runs if valid is None else valid, warnings))
    parts.append(f"<h2 id='runs'>Runs</h2>{_runs_table(runs, list(skipped))}")
    for k in shown:
        parts.append(f"<h2 id='{k}'>{_e(SECTIONS[k])}</h2><div class='figs'>")
        parts += [_figure(f, files, out) for f, files in figures[k]] + ["</div>"]
    parts.append("</body></html>")
    return write_text_atomic(path, "\n".join(parts) + "\n")
