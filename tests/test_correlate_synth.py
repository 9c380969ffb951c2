"""The planted ground truth of the synthetic organisation is recovered from its events alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.correlate import Correlation, correlate, link_coverage
from vsmml.metrics.dora import change_failure_rate, change_lead_times, production_deployments
from vsmml.synth import SynthConfig, SynthOrg, generate

STAGES = (
    "first_commit_at",
    "opened_at",
    "first_review_at",
    "merged_at",
    "pipeline_started_at",
    "pipeline_finished_at",
    "artifact_published_at",
    "staging_deployed_at",
    "production_deployed_at",
)


@pytest.fixture(scope="module")
def org() -> SynthOrg:
    return generate(SynthConfig.preset("tiny", days=28))


@pytest.fixture(scope="module")
def corr(org: SynthOrg) -> Correlation:
    return correlate(org.events)


def _truth_prod(org: SynthOrg) -> pd.DataFrame:
    d = org.truth.deploys
    return d.loc[d["env"] == "production"]


def test_every_change_and_stage_time_is_recovered(org: SynthOrg, corr: Correlation) -> None:
    truth = org.truth.changes.set_index("change_id")
    got = corr.changes.set_index("change_id").loc[truth.index]
    assert len(corr.changes) == len(truth)
    for col in STAGES:
        pd.testing.assert_series_equal(got[col], truth[col], check_names=False, check_dtype=False)
    assert (got["production_deploy_id"] == truth["production_deploy_id"]).all()
    assert (got["staging_deploy_id"] == truth["staging_deploy_id"]).all()


def test_per_change_lead_times_match_the_generator(org: SynthOrg, corr: Correlation) -> None:
    truth = org.truth.changes.set_index("change_id")
    want = (truth["production_deployed_at"] - truth["first_commit_at"]).dt.total_seconds() / 3600
    lt = change_lead_times(corr).set_index("change_id")["lead_time_h"]
    assert len(lt) == len(want)
    np.testing.assert_allclose(lt.loc[want.index].to_numpy(), want.to_numpy(), rtol=1e-12)


def test_deploy_counts_per_service_match(org: SynthOrg, corr: Correlation) -> None:
    want = _truth_prod(org).groupby("service").size()
    got = production_deployments(corr).groupby("service").size()
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
    batches = corr.deployments.set_index("deploy_id")["n_changes"]
    truth_batches = _truth_prod(org).set_index("deploy_id")["n_changes"]
    assert (batches.loc[truth_batches.index] == truth_batches).all()


def test_failed_deployments_and_change_failure_rate(org: SynthOrg, corr: Correlation) -> None:
    tp = _truth_prod(org).set_index("deploy_id")
    truly = tp["caused_incident_id"].notna() | tp["rolled_back"]
    got = corr.deployments.set_index("deploy_id").loc[tp.index, "failed"]
    assert (got == truly).mean() >= 0.97
    want = truly.groupby(tp["service"]).mean()
    cfr = change_failure_rate(corr, "service", None)
    got_cfr = cfr.set_index("service")["value"]
    assert (got_cfr - want).abs().max() < 0.05
    latest = change_failure_rate(corr, "service", None, "devlake").set_index("service")["value"]
    assert (latest >= got_cfr - 0.2).all()


def test_explicit_incident_links_are_exact(org: SynthOrg, corr: Correlation) -> None:
    truth = org.truth.incidents.set_index("incident_id")
    inc = corr.incidents.set_index("incident_id").loc[truth.index]
    explicit = truth["explicit_link"].to_numpy(bool)
    assert (inc.loc[explicit, "deploy_id_linked"] == truth.loc[explicit, "cause_deploy_id"]).all()
    assert (inc.loc[explicit, "link_method"] == "explicit_deploy_id").all()
    caused = truth["cause_deploy_id"].notna().to_numpy()
    hit = inc.loc[caused, "deploy_id_linked"] == truth.loc[caused, "cause_deploy_id"]
    assert hit.mean() >= 0.9


def test_link_coverage_is_high_on_synthetic_data(org: SynthOrg, corr: Correlation) -> None:
    cov = link_coverage(org.events, corr).set_index(["source", "kind"])
    assert cov.loc[("synth", "*"), "share"] > 0.95
    assert cov.loc[("synth", "change.merged"), "share"] == 1.0


def test_dropping_one_deploy_event_changes_the_result(org: SynthOrg, corr: Correlation) -> None:
    ev = org.events
    prod = ev.loc[(ev["kind"] == "deploy.finished") & (ev["env"] == "production")]
    counts = corr.deployments.set_index("deploy_id")["n_changes"]
    victim = prod.loc[prod["deploy_id"].map(counts) >= 1].iloc[len(prod) // 2]
    fewer = correlate(ev.loc[ev["event_id"] != victim["event_id"]])
    before = production_deployments(corr).groupby("service").size()
    after = production_deployments(fewer).groupby("service").size()
    service = victim["service"]
    assert after[service] == before[service] - 1
    moved = fewer.changes.set_index("change_id")["production_deploy_id"]
    shipped = corr.changes.set_index("change_id")["production_deploy_id"] == victim["deploy_id"]
    assert not (moved.loc[shipped[shipped].index] == victim["deploy_id"]).any()
    lt_before = change_lead_times(corr)["lead_time_h"].sum()
    lt_after = change_lead_times(fewer)["lead_time_h"].sum()
    assert lt_after != lt_before
