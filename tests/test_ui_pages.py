"""The executive, on-call and debug pages over a real store: their numbers and their links."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
import pytest

from report_store import build_store
from vsmml.config import Settings
from vsmml.correlate import correlate
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.pipeline import dashboards
from vsmml.pipeline.queries.metrics import MetricsQuery, metrics_report
from vsmml.report.pages import Page, content_security_policy, render_login, render_page
from vsmml.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_store(tmp_path_factory.mktemp("ui") / "home")


@pytest.fixture(scope="module")
def store(settings: Settings) -> Iterator[Store]:
    with Store.from_settings(settings, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def events(store: Store) -> pd.DataFrame:
    return store.read_events(kinds=DELIVERY_KINDS)


def _section(page: Page, key: str):  # type: ignore[no-untyped-def]
    return next(s for s in page.sections if s.key == key)


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_executive_numbers_equal_vsmml_metrics(store: Store, settings: Settings) -> None:
    page = dashboards.executive(store, settings=settings)
    weekly = pd.DataFrame(_section(page, "delivery").facts["weekly"])
    tidy = metrics_report(MetricsQuery(by=None, freq="W"), settings).tidy
    for _, row in weekly.iterrows():
        t = tidy.loc[tidy["period"] == row["period"]].set_index("metric")["value"]
        assert row["deploys_per_day"] == pytest.approx(t.get("deployments", 0.0) / 7)
        for mine, theirs in (
            ("change_failure_rate", "change_failure_rate"),
            ("time_to_restore_h", "time_to_restore_median"),
        ):
            assert row[mine] == pytest.approx(t.get(theirs, float("nan")), nan_ok=True)
    assert 4 <= len(weekly) <= 8  # weeks before the first deployment are left out
    html = render_page(page, nonce="n0nce")
    assert html.count("<svg") >= 5  # lead, frequency, CFR, restore, risk and burn heatmaps
    assert 'nonce="n0nce"' in html and "script-src 'nonce-n0nce'" in html
    assert "<script>" not in html  # the only script carries the nonce
    deploy_links = [u for u in _links(html) if u.startswith("/ui/debug?deploy=")]
    assert deploy_links  # each service's latest deployment opens its debug page


def test_executive_filter_narrows_to_one_service(store: Store, settings: Settings) -> None:
    page = dashboards.executive(store, service="checkout", settings=settings)
    assert page.service == "checkout" and "checkout" in page.services
    html = render_page(page)
    assert '<option value="checkout" selected>' in html
    with pytest.raises(DataError, match="service: no events for 'nope'"):
        dashboards.executive(store, service="nope", settings=settings)


def test_oncall_shows_what_is_open_at_the_latest_operational_event(
    store: Store, events: pd.DataFrame
) -> None:
    page = dashboards.oncall(store)
    ops = events.loc[events["kind"].isin(dashboards.OPS_KINDS)]
    as_of = ops["ts"].max()
    assert f"{as_of:%Y-%m-%d %H:%M}" in page.subtitle
    corr = correlate(events.loc[events["ts"] <= as_of])
    inc = corr.incidents
    open_now = inc.loc[(inc["opened_at"] <= as_of) & ~(inc["resolved_at"] <= as_of)]
    opened = _section(page, "incidents").facts.get("open", [])
    assert sorted(opened) == sorted(open_now["incident_id"].astype(str))
    deps = corr.deployments
    recent = deps.loc[(deps["finished_at"] > as_of - pd.Timedelta(hours=24))]
    html = render_page(page)
    for d in recent["deploy_id"].astype(str):
        assert f'href="/ui/debug?deploy={d}"' in html
    assert "/ui/oncall" in _links(html)


def test_oncall_at_an_earlier_instant_lists_that_days_deploys(
    store: Store, events: pd.DataFrame
) -> None:
    prod = events.loc[(events["kind"] == "deploy.finished") & (events["env"] == "production")]
    now = prod["ts"].iloc[len(prod) // 2]
    page = dashboards.oncall(store, now=now)
    html = render_page(page)
    shown = set(re.findall(r"/ui/debug\?deploy=([^\"&]+)", html))
    day = prod.loc[(prod["ts"] > now - pd.Timedelta(hours=24)) & (prod["ts"] <= now)]
    assert set(day["deploy_id"].astype(str)) <= shown
    burn = _section(page, "burn")
    assert burn.tables and len(burn.tables[0]) >= 1


def test_debug_defaults_to_the_latest_production_deployment(
    store: Store, events: pd.DataFrame
) -> None:
    page = dashboards.debug(store)
    prod = events.loc[(events["kind"] == "deploy.finished") & (events["env"] == "production")]
    latest = str(prod.sort_values("ts")["deploy_id"].iloc[-1])
    assert page.title == f"Deployment {latest}"
    timeline = _section(page, "events")
    kinds = timeline.facts["kinds"]
    assert {"commit", "deploy.finished"} <= set(kinds)
    html = render_page(page)
    change_links = {u for u in _links(html) if u.startswith("/ui/debug?change=")}
    assert change_links  # the shipped changes open their own debug page


def test_debug_of_a_change_and_a_canary_judgement(store: Store, events: pd.DataFrame) -> None:
    samples = store.read_slo_samples()
    prod = events.loc[(events["kind"] == "deploy.finished") & (events["env"] == "production")]
    covered = prod.loc[prod["ts"] < samples["timestamp"].max() - pd.Timedelta(hours=2)]
    deploy = str(covered["deploy_id"].iloc[-1])
    page = dashboards.debug(store, deploy=deploy)
    canary = _section(page, "canary")
    verdict = canary.facts["canary"]["classification"]
    assert verdict in {"Pass", "Marginal", "Fail"}
    assert canary.facts["canary"]["metrics"][0]["canary_n"] == 12  # one hour of 5-minute samples
    changes = _section(page, "summary").tables[0]
    change = str(changes.values[0][0])
    by_change = dashboards.debug(store, change=change)
    assert by_change.title == f"Change {change}"
    assert {"commit", "change.merged"} <= set(_section(by_change, "events").facts["kinds"])
    steps = _section(by_change, "steps").facts["steps"]
    assert steps and all(s["run_min"] >= 0 for s in steps)
    with pytest.raises(DataError, match="no deployment 'nope'"):
        dashboards.debug(store, deploy="nope")
    with pytest.raises(DataError, match="not both"):
        dashboards.debug(store, deploy=deploy, change=change)


def test_login_form_and_policy() -> None:
    html = render_login(next_url="//evil.example/x", error="<b>bad</b>")
    assert 'name="next" value="/ui"' in html  # an off-site next is dropped
    assert "&lt;b&gt;bad&lt;/b&gt;" in html
    assert 'type="password"' in html
    policy = content_security_policy("abc")
    assert "default-src 'none'" in policy and "script-src 'nonce-abc'" in policy
