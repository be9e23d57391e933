"""A report figure: the matplotlib figure plus the table behind it, saved as PNG, SVG, PDF and CSV.

The figure set of one Figure is NAME.png, NAME.svg, NAME.pdf (the drawing) and NAME.csv (the
rows drawn). Its metadata, `Figure.metadata()`, is a JSON object

    {"series": {"<what a colour stands for>": "#rrggbb", ...}}

`series` maps every colour of the figure to the one thing it means (an accelerator, a
generator kind, a method, an energy component, a stream length): no two entries share a
colour (reports.style.distinct_colors / family_colors guarantee it), lowercase hex. The same
JSON text is written into the files themselves, so a test or a script reads it from what was
saved: the PNG's text chunk "scnas-series", the SVG's <dc:description>, the PDF's Subject.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from reports.style import plain_log  # noqa: E402

__all__ = ["Figure", "FORMATS", "PNG_SERIES_KEY", "save_figure_set", "slug", "finish", "write_table",
           "write_text_atomic", "umask"]

FORMATS = ("png", "svg", "pdf")
PNG_SERIES_KEY = "scnas-series"  # the PNG text chunk holding Figure.metadata() as JSON
_STATUS = Path("/proc/self/status")  # holds "Umask:\t0022" on Linux 4.7+


@dataclass
class Figure:
    """One plot of a report. `rows` (dicts with the keys of `columns`) are the data drawn,
    written beside the images as CSV so a paper's numbers can be checked or replotted."""

    name: str                 # file stem, unique within a report
    title: str
    fig: plt.Figure
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    caption: str = ""
    show_table: bool = False  # also print the rows as an HTML table on the page
    series: dict[str, str] = field(default_factory=dict)  # what each colour means -> "#rrggbb"

    def metadata(self) -> dict:
        """{"series": {meaning: "#rrggbb"}}: the figure's colours (see the module docstring)."""
        return {"series": {k: to_hex(v) for k, v in self.series.items()}}


def slug(text: str) -> str:
    """A file-name-safe stem: lowercase letters, digits, '-' and '_'."""
    s = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower()).strip("-")
    return s or "run"


def save_figure_set(figure: Figure, out_dir: str | Path, formats: tuple[str, ...] = FORMATS,
                    dpi: int = 150) -> dict[str, Path]:
    """Write the figure in every format and its table as CSV; close the figure. Returns
    {format: path} including "csv"."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    finish(figure.fig)
    for fmt in formats:
        paths[fmt] = out / f"{figure.name}.{fmt}"
        figure.fig.savefig(paths[fmt], dpi=dpi, metadata=_metadata(fmt, json.dumps(figure.metadata())))
    plt.close(figure.fig)
    paths["csv"] = out / f"{figure.name}.csv"
    write_table(figure.columns, figure.rows, paths["csv"])
    return paths


def finish(fig: plt.Figure) -> None:
    """Last touches before saving: plain numbers on log axes, tight layout."""
    for ax in fig.axes:
        plain_log(ax)
    fig.tight_layout()


def write_table(columns: list[str], rows: list[dict], path: Path) -> None:
    """CSV with a header; floats to 6 significant digits; missing cells left empty."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in columns])


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` through a private temporary file in the same directory and rename it, so a
    half-written page or manifest never replaces a good one. The file gets the mode an ordinary
    write would give it (0o666 less the umask), not mkstemp's private 0o600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o666 & ~umask())
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def umask() -> int:
    """The process's umask, read without changing it (from /proc where it is shown there)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # fallback: set and restore at once (a thread writing in between sees 022)
    os.umask(mask)
    return mask


def _cell(v: object) -> object:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else v


def _metadata(fmt: str, text: str) -> dict:
    """The figure's metadata JSON in each format's own field; no creation date in SVG/PDF, so
    the same runs give the same files."""
    if fmt == "svg":
        return {"Date": None, "Description": text}
    if fmt == "pdf":
        return {"CreationDate": None, "Subject": text}
    return {PNG_SERIES_KEY: text} if fmt == "png" else {}
