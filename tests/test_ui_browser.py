"""The executive, on-call and debug pages in a real headless Chromium, rendered to files (the
HTTP service mounts the same HTML under /ui/): nothing fetched, no console error (the inline
script runs under the page's nonce policy), the service filter works; screenshots of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import chromium, executables, foreign, open_page
from report_store import build_store
from vsmml.pipeline import dashboards
from vsmml.report.pages import render_page
from vsmml.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_the_three_pages_render_offline_in_chromium(tmp_path: Path) -> None:
    executables()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    settings = build_store(tmp_path / "home")
    pages = tmp_path / "ui"
    pages.mkdir()
    with Store.from_settings(settings, read_only=True) as store:
        built = {
            "executive": dashboards.executive(store, settings=settings),
            "oncall": dashboards.oncall(store),
            "debug": dashboards.debug(store, settings=settings),
        }
    files = {}
    for name, page in built.items():
        files[name] = pages / f"{name}.html"
        files[name].write_text(render_page(page), encoding="utf-8")
    origin = pages.resolve().as_uri()
    with chromium(tmp_path / "profile") as driver:
        for name, path in files.items():
            visit = open_page(driver, path.resolve().as_uri(), f"ui-{name}", origin=origin)
            assert foreign(visit.requests, (origin,)) == [], name
            assert visit.errors == [], name
            assert visit.title.startswith(built[name].title), name
            headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
            assert headings == [s.heading for s in built[name].sections], name
            assert driver.find_elements(By.CSS_SELECTOR, "nav.tabs a.current")[0].text
            assert visit.screenshot.stat().st_size > 20_000
        # the filter's inline script submits on change: proof that it ran under the CSP nonce
        driver.get(files["executive"].resolve().as_uri())
        Select(driver.find_element(By.ID, "service")).select_by_value("checkout")
        WebDriverWait(driver, 10).until(lambda d: "service=checkout" in d.current_url)
        assert [m for m in driver.get_log("browser") if m["level"] == "SEVERE"] == []
