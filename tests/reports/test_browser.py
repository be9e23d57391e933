"""The report page in a real headless Chromium: it loads with no broken image and no console
error, every figure is a link to its full-size file, the headline comes first and designs over
budget are marked. Skipped, with the reason, where no browser is installed (CI installs one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from reports.browser import check_page, find_browser
from reports.figure import PNG_SERIES_KEY
from reports.report import build_report
from tests.reports import synthetic_page as sp

_FOUND = find_browser()
pytestmark = pytest.mark.skipif(isinstance(_FOUND, str), reason=f"no headless browser: {_FOUND}")


def _report(tmp_path):
    """emulate (two seeds), estimate, train, recast, search and all three dse searches."""
    return build_report(sp.page_runs(tmp_path / "runs"), tmp_path / "report")


def test_report_loads_in_chromium_without_errors(tmp_path):
    rep = _report(tmp_path)
    shot = Path(os.environ.get("SCNAS_REPORT_SCREENSHOT") or tmp_path / "screenshot.png")
    check = check_page(rep.index, shot, width=1400, full_page=True)
    assert check.title == "scnas report"
    assert check.console == []
    assert check.broken_images == [] and check.n_images == len(rep.figures) >= 20
    assert check.unlinked_images == []  # every figure opens full size
    assert check.headline and check.over_budget_rows == 2  # ConfuciuX edge/rl, BatchDVFS at 0.5 W
    data = check.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert Image.open(check.screenshot).size[0] == 1400
    print(f"screenshot: {check.screenshot}")


def test_no_colour_stands_for_two_series_in_one_figure(tmp_path):
    rep = _report(tmp_path)
    coloured = 0
    for fig, files in rep.figures:
        series = json.loads(Image.open(files["png"]).text[PNG_SERIES_KEY])["series"]
        assert len(set(series.values())) == len(series), (fig.name, series)
        coloured += len(series) > 1
    assert coloured >= 10


def test_the_check_sees_a_missing_image(tmp_path):
    rep = _report(tmp_path)
    _, paths = rep.figures[0]
    paths["png"].unlink()
    check = check_page(rep.index)
    assert check.broken_images == [f"figures/{paths['png'].name}"]
    assert any("ERR_FILE_NOT_FOUND" in m for m in check.console)
