"""The weekly report file in a real headless Chromium: it renders offline, fetches nothing,
logs no error, and shows every section and plot (screenshot in tests/.screenshots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import chromium, executables, foreign, open_page
from report_store import build_store
from vsmml.pipeline.report import ReportRequest, report_weekly

pytestmark = [pytest.mark.slow, pytest.mark.integration]

HEADINGS = ["DORA", "Lead time", "Constraint", "SLO", "Risk", "Recommendations", "Data quality"]


def test_the_report_opens_offline_in_chromium(tmp_path: Path) -> None:
    executables()  # skip early, before building the store, when there is no browser
    from selenium.webdriver.common.by import By

    settings = build_store(tmp_path / "home")
    result = report_weekly(ReportRequest(out=tmp_path / "out"), settings)
    assert result.html is not None
    url = result.html.resolve().as_uri()
    with chromium(tmp_path / "profile") as driver:
        visit = open_page(driver, url, "report")
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
        plots = driver.find_elements(By.CSS_SELECTOR, "svg.plot")
        sizes = [(p.size["width"], p.size["height"]) for p in plots]
        highlights = driver.find_elements(By.CSS_SELECTOR, ".highlights li")
    assert foreign(visit.requests, (url,)) == []
    assert visit.requests[0] == url
    assert visit.errors == []
    assert visit.title == result.report.title
    assert headings == HEADINGS
    assert len(plots) >= 4
    assert all(w > 300 and h > 100 for w, h in sizes), sizes  # drawn, not collapsed
    assert len(highlights) >= 5
    assert visit.screenshot.stat().st_size > 50_000
