"""Open a report page in a real headless Chromium and say what a reader would see broken.

Uses Selenium with the system's Chromium and ChromeDriver (Debian: chromium, chromium-driver);
nothing is downloaded. `python -m reports.browser PAGE [SCREENSHOT]` checks a page by hand.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PageCheck", "find_browser", "check_page"]

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


@dataclass
class PageCheck:
    """What the browser saw: console messages of level WARNING or worse, images that did not
    load, images that are not a link to their full-size file, whether the headline section is
    there, how many table rows are marked over budget, the page title and where the
    screenshot went."""

    console: list[str]
    broken_images: list[str]
    n_images: int
    title: str
    screenshot: Path | None
    unlinked_images: list[str] = field(default_factory=list)
    headline: bool = False
    over_budget_rows: int = 0


def find_browser() -> tuple[str, str] | str:
    """(chromium binary, chromedriver binary), or a sentence saying what is missing.
    $SCNAS_CHROMIUM and $SCNAS_CHROMEDRIVER override the search of PATH."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    browser = os.environ.get("SCNAS_CHROMIUM") or next(filter(None, map(shutil.which, _BROWSERS)), None)
    driver = os.environ.get("SCNAS_CHROMEDRIVER") or shutil.which("chromedriver")
    if not browser:
        return "no Chromium found (apt-get install chromium chromium-driver, or set SCNAS_CHROMIUM)"
    if not driver:
        return "no chromedriver found (apt-get install chromium-driver, or set SCNAS_CHROMEDRIVER)"
    return browser, driver


_SEEN = """return {images: Array.from(document.images).map(i => [i.getAttribute('src'),
    i.complete && i.naturalWidth > 0, i.closest('a') ? i.closest('a').getAttribute('href') : null]),
  headline: !!document.querySelector('section#headline'), over: document.querySelectorAll('tr.over').length,
  height: document.documentElement.scrollHeight}"""


def check_page(page: str | Path, screenshot: str | Path | None = None, width: int = 1280,
               height: int = 2000, full_page: bool = False) -> PageCheck:
    """Load `page` (a local HTML file) headless, collect console problems, broken and unlinked
    images, and save a screenshot when asked (`full_page`: the whole page's height)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if isinstance(found, str):
        raise RuntimeError(found)
    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(found[1]))
    try:
        driver.get(Path(page).resolve().as_uri())
        seen = driver.execute_script(_SEEN)
        console = [e["message"] for e in driver.get_log("browser") if e["level"] in ("WARNING", "SEVERE")]
        shot = None
        if screenshot is not None:
            shot = Path(screenshot)
            shot.parent.mkdir(parents=True, exist_ok=True)
            if full_page:
                driver.set_window_size(width, seen["height"] + 100)
            driver.save_screenshot(str(shot))
        images = seen["images"]
        return PageCheck(console, [src for src, ok, _ in images if not ok], len(images), driver.title, shot,
                         [src for src, _, href in images if href != src], seen["headline"], seen["over"])
    finally:
        driver.quit()


if __name__ == "__main__":
    result = check_page(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, width=1400, full_page=True)
    print(result)
    sys.exit(1 if result.console or result.broken_images else 0)
