"""The report page: one self-contained index.html (inline CSS, no script, no remote file)."""

from __future__ import annotations

import html
import os
from importlib import metadata
from pathlib import Path

from reports.figure import Figure, write_text_atomic
from reports.runs import Run

__all__ = ["SECTIONS", "write_page"]

SECTIONS = {"train": "Training", "emulate": "SC emulation", "estimate": "Hardware estimator",
            "recast": "Recasting", "search": "Architecture search (InheritedNAS)",
            "dse": "Accelerator design-space search"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
 padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:2px solid #0072B2;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef4fa}.warn{background:#fff4e0;border-left:4px solid #D55E00;padding:.6rem 1rem}
figure{margin:1.4rem 0;padding:.6rem;border:1px solid #e3e3e3;border-radius:4px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:.9rem;margin-top:.4rem}
.files a{margin-right:.8rem}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;font-size:.8rem}
code{font-size:.85rem}nav a{margin-right:1rem}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,500px),1fr));gap:0 1rem}
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
    head = "".join(f"<th>{_e(c)}</th>" for c in fig.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_fmt(r.get(c)))}</td>" for c in fig.columns) + "</tr>"
                   for r in fig.rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))


def _figure(fig: Figure, files: dict[str, Path], out: Path) -> str:
    rel = {k: Path(os.path.relpath(p, out)).as_posix() for k, p in files.items()}
    links = " ".join(f"<a href='{_e(rel[k])}'>{k.upper()}</a>" for k in ("svg", "pdf", "csv") if k in rel)
    table = _table(fig) if fig.show_table else ""
    w, h = fig.fig.get_size_inches()
    wide = " class='wide'" if fig.show_table or w / h > 2 or w > 8 else ""
    return (f"<figure id='{_e(fig.name)}'{wide}><img src='{_e(rel['png'])}' alt='{_e(fig.title)}'>"
            f"<figcaption><b>{_e(fig.title)}</b>. {_e(fig.caption)} <span class='files'>{links}</span>"
            f"</figcaption>{table}</figure>")


def write_page(path: Path, runs: list[Run], figures: dict[str, list[tuple[Figure, dict[str, Path]]]],
               warnings: list[str], argv: str = "", date: str = "", skipped: list[Path] = ()) -> Path:
    """Write index.html: header with how it was made, warnings, the runs (and the directories
    given that could not be shown), then one section per kind of run that has figures."""
    out = path.parent
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>scnas report</title>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style>"
             "<link rel='icon' href='data:,'></head><body>",
             "<h1>scnas report</h1>",
             f"<p>Made {_e(date)} by scnas {_e(_version())}"
             + (f" with <code>{_e(argv)}</code>" if argv else "") + f" from {len(runs)} run(s).</p>"]
    shown = [k for k in SECTIONS if figures.get(k)]
    parts.append("<nav>" + "".join(f"<a href='#{k}'>{_e(SECTIONS[k])}</a>" for k in shown) + "</nav>")
    if warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        parts.append(f"<div class='warn' id='warnings'><b>Warnings ({len(warnings)})</b><ul>{items}</ul></div>")
    parts.append(f"<h2 id='runs'>Runs</h2>{_runs_table(runs, list(skipped))}")
    for k in shown:
        parts.append(f"<h2 id='{k}'>{_e(SECTIONS[k])}</h2><div class='figs'>")
        parts += [_figure(f, files, out) for f, files in figures[k]] + ["</div>"]
    parts.append("</body></html>")
    return write_text_atomic(path, "\n".join(parts) + "\n")
