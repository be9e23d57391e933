"""The report page in a real headless Chromium: it loads with no broken image and no console
error. Skipped, with the reason, where no browser is installed (CI installs one)."""

from __future__ import annotations

import pytest

from reports.browser import check_page, find_browser
from reports.report import build_report
from tests.reports import synthetic as syn

_FOUND = find_browser()
pytestmark = pytest.mark.skipif(isinstance(_FOUND, str), reason=f"no headless browser: {_FOUND}")


def _report(tmp_path):
    runs = [syn.write_run(tmp_path / "runs", "emu", syn.emulate_results(), "emulate"),
            syn.write_run(tmp_path / "runs", "est", syn.estimate_results(), "estimate"),
            syn.write_run(tmp_path / "runs", "nas", syn.search_results(), "search"),
            syn.write_run(tmp_path / "runs", "cfx", syn.dse_confuciux(), "dse")]
    return build_report(runs, tmp_path / "report")


def test_report_loads_in_chromium_without_errors(tmp_path):
    rep = _report(tmp_path)
    check = check_page(rep.index, tmp_path / "screenshot.png")
    assert check.title == "scnas report"
    assert check.console == []
    assert check.broken_images == [] and check.n_images == len(rep.figures)
    data = check.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    print(f"screenshot: {check.screenshot}")


def test_the_check_sees_a_missing_image(tmp_path):
    rep = _report(tmp_path)
    _, paths = rep.figures[0]
    paths["png"].unlink()
    check = check_page(rep.index)
    assert check.broken_images == [f"figures/{paths['png'].name}"]
    assert any("ERR_FILE_NOT_FOUND" in m for m in check.console)
