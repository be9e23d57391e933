"""The report's output directory: written only when it is new, empty or the report's own.

The report marks a directory as its own with `.scnas-report`, a JSON file that lists every file
the report wrote there (relative paths). A rerun deletes only those files; anything else in the
directory (a user's file, even inside figures/) is never replaced or deleted. A report made
before the marker existed is recognised by its report.json manifest (exactly the old layout) and
an index.html that is the report's page; then only the files that manifest lists are touched.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Collection
from pathlib import Path

from reports.figure import write_text_atomic

__all__ = ["MARKER", "OutDir", "ReportError", "check_out"]

MARKER = ".scnas-report"
_OLD_KEYS = {"command", "date", "runs", "figures", "warnings"}  # report.json before the marker
# how reports/html.py began every page before the marker existed
_PAGE_HEAD = "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>scnas report</title>"
_OWN_NAME = re.compile(r"(figures/)?(?!\.\.?$)[^/\x00]+")  # a top-level file or one in figures/
_FIGURE_FILE = re.compile(r"figures/(?!\.\.?$)[^/\x00]+\.(png|svg|pdf|csv)")


class ReportError(ValueError):
    """The report cannot be written (its output path is unusable); the message says why."""


def check_out(out: str | Path, ignore: Collection[str] = ()) -> list[str]:
    """The files (relative paths) an earlier report wrote into `out`, [] for a new or empty
    directory; raise ReportError when `out` is a file or holds files the report did not write.
    `ignore`: top-level names the caller made there itself (a lock file), left alone."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} is a file; give a directory for the report.")
    if not out.exists():
        return []
    if os.path.lexists(out / MARKER):
        return _read_marker(out)
    if not set(_listdir(out)) - set(ignore):
        return []
    old = _old_report(out)
    if old is None:
        raise _foreign(out)
    return old


class OutDir:
    """A claimed report directory and the files the report wrote there (listed in its marker)."""

    def __init__(self, path: Path, files: list[str]) -> None:
        self.path, self.files, self.names = path, files, set()

    @classmethod
    def claim(cls, out: str | Path, ignore: Collection[str] = (), also: Collection[str] = ()) -> OutDir:
        """Check `out` (see check_out), delete the files an earlier report listed and return it
        empty of them. `also`: top-level names the caller writes there after the report; they
        are listed in the marker as the report's."""
        out = Path(out)
        previous = check_out(out, ignore)
        for name in ("index.html", "report.json", *also):
            if os.path.lexists(out / name) and name not in previous:
                raise _foreign(out)
        figures = out / "figures"
        if os.path.lexists(figures) and (figures.is_symlink() or not figures.is_dir()):
            raise _foreign(out)
        try:
            figures.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=out):  # a private probe file: concurrent runs cannot race on it
                pass
            claimed = cls(out, previous)
            claimed.save()  # the directory is the report's from now on, even if this run stops early
            for rel in previous:
                (out / rel).unlink(missing_ok=True)  # a link is removed, never followed
            claimed.files = list(also)
            claimed.save()
        except OSError as e:
            raise ReportError(f"cannot write the report to {out} ({e.strerror}); choose another --out.") from None
        return claimed

    def add(self, rels: list[str]) -> None:
        """List new files in the marker before writing them; refuse a name already taken by a
        file the report did not write."""
        for rel in rels:
            if os.path.lexists(self.path / rel):
                raise ReportError(f"{self.path / rel} was not written by scnas report and would be replaced; "
                                  "move it away or give an empty or new --out.")
        self.files += rels
        self.save()

    def save(self) -> None:
        """Write the marker with the files listed so far."""
        write_text_atomic(self.path / MARKER, json.dumps({"scnas_report": 1, "files": self.files}, indent=1) + "\n")


def _foreign(out: Path) -> ReportError:
    return ReportError(f"--out {out} holds files that scnas report did not write, and it never replaces or "
                       "deletes those; give an empty or new --out.")


def _listdir(out: Path) -> list[str]:
    try:
        return os.listdir(out)
    except OSError as e:
        raise ReportError(f"cannot read the report directory {out} ({e.strerror}); choose another --out.") from None


def _read_marker(out: Path) -> list[str]:
    """The files listed in the marker; a damaged marker is refused (nothing is deleted)."""
    try:
        data = json.loads((out / MARKER).read_text())
        files = data["files"]
        if data.get("scnas_report") == 1 and all(isinstance(f, str) and _OWN_NAME.fullmatch(f) for f in files):
            return list(dict.fromkeys(files))
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        pass
    raise ReportError(f"--out {out} has a damaged {MARKER} file, so which files the report wrote there is "
                      "unknown; give an empty or new --out.")


def _old_report(out: Path) -> list[str] | None:
    """Files of a report made before the marker existed: index.html, report.json, config.toml
    (if the report command wrote it) and the figure files report.json lists; None if it is not one."""
    try:
        data = json.loads((out / "report.json").read_text())
        page = (out / "index.html").read_text()[:len(_PAGE_HEAD)] if (out / "index.html").exists() else _PAGE_HEAD
        files = [p for f in data["figures"] for p in f["files"].values()]
        ok = set(data) == _OLD_KEYS and page == _PAGE_HEAD and all(
            isinstance(p, str) and _FIGURE_FILE.fullmatch(p) for p in files)
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return None
    if not ok or (out / "figures").is_symlink():
        return None
    return ["index.html", "report.json", *(["config.toml"] if _report_config(out) else []), *dict.fromkeys(files)]


def _report_config(out: Path) -> bool:
    """Whether out/config.toml is the one `scnas report` writes (command = "report")."""
    try:
        return tomllib.loads((out / "config.toml").read_text()).get("command") == "report"
    except (OSError, ValueError, RecursionError):
        return False
