"""The Dask engine against the single-machine path, on a real 2-worker LocalCluster.

Equivalence on the synthetic organisation (with a shared incident, an unlabelled pipeline run,
a late service and odd names, `lake_org`): the metrics are the same exactly (every value, bit
for bit, and the csv text), batch scores are the same, and the risk model trained with
LightGBM's Dask integration is as good as the local one on the same held-out changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lake_org import Org, build_org
from vsmml.cli import app
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.pipeline.batch_scoring import RiskQuery, score_stored
from vsmml.pipeline.distributed.metrics import GRID_FILL, metrics_report_dask
from vsmml.pipeline.distributed.plan import plan_partitions
from vsmml.pipeline.distributed.scoring import score_stored_dask
from vsmml.pipeline.distributed.training import train_risk_dask
from vsmml.pipeline.lake import export_lake, load_manifest
from vsmml.pipeline.queries.metrics import MetricsQuery, metrics_report
from vsmml.pipeline.queries.reads import read_events
from vsmml.pipeline.training.risk import risk_data_events, train_risk

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # a real cluster, store and MLflow


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    # a tiny partition target: every linked group becomes its own partition
    return build_org(tmp_path_factory.mktemp("dask") / "home", partition_events=1_000)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_the_plan_keeps_linked_services_together_and_says_why(org: Org) -> None:
    manifest = load_manifest(export_lake(org.settings).lake)
    plan = plan_partitions(manifest, by="service", target_rows=1_000, workers=2)
    home = {s: p.index for p in plan.partitions for s in p.scopes}
    # the shared incident ties A to B; the unlabelled pipeline run ties "" to C
    assert home[org.incident_service] == home[org.deploy_service]
    assert home[""] == home[org.unlabelled_sha_service]
    kinds = set(plan.cross_links["id_kind"])
    assert {"deploy_id", "sha"} <= kinds
    # everything else stays apart: one partition per remaining group
    singles = [p for p in plan.partitions if len(p.scopes) == 1]
    assert len(plan.partitions) == plan.components
    assert len(singles) == plan.components - 2
    assert sum(p.rows for p in plan.partitions) == manifest.rows
    # grouped by team, services of one team must share a partition
    by_team = plan_partitions(manifest, by="team", target_rows=1_000, workers=2)
    assert by_team.components < plan.components


@pytest.mark.parametrize(
    ("by", "freq", "profile"),
    [("service", "W", "vsmml"), ("team", "M", "devlake"), ("repo", "D", "fourkeys")],
)
def test_dask_metrics_equal_the_local_metrics_exactly(
    org: Org, scheduler: str, by: str, freq: str, profile: str
) -> None:
    query = MetricsQuery(by=by, freq=freq, profile=profile)
    local = metrics_report(query, org.settings)
    done = metrics_report_dask(query, org.settings, scheduler=scheduler)
    assert done.run.partitions >= 3  # by team: two teams, the late team, the unlabelled
    got = done.report
    pd.testing.assert_frame_equal(got.tidy, local.tidy, check_exact=True)
    pd.testing.assert_frame_equal(got.dora, local.dora, check_exact=True)
    pd.testing.assert_frame_equal(got.coverage, local.coverage, check_exact=True)
    pd.testing.assert_frame_equal(got.latest, local.latest, check_exact=True)
    if by == "service":
        # the late service's zero weeks before its first deploy come from the merge step
        late = local.tidy.loc[(local.tidy["service"] == "late")]
        zeros = late.loc[late["metric"].isin(list(GRID_FILL)) & (late["value"] == 0)]
        assert len(zeros) > 5
        # the shared incident made one of B's deployments fail, as it does locally
        b = local.tidy.loc[
            (local.tidy["service"] == org.deploy_service)
            & (local.tidy["metric"] == "change_failure_rate")
        ]
        assert (b["value"] > 0).any()


def test_dask_csv_is_the_local_csv_and_errors_stay_one_line(
    org: Org, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vsmml.config import get_settings

    monkeypatch.setenv("VSMML_HOME", str(org.settings.home))
    monkeypatch.setenv("VSMML_DASK_PARTITION_EVENTS", "1000")
    monkeypatch.setattr("vsmml.pipeline.distributed.cluster.CONNECT_TIMEOUT", "1s")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["metrics", "--by", "team", "--freq", "W", "--format", "csv"]
        local = runner.invoke(app, args)
        dask = runner.invoke(app, [*args, "--engine", "dask", "--scheduler", scheduler])
        assert local.exit_code == dask.exit_code == 0
        assert dask.stdout == local.stdout and len(local.stdout) > 10_000
        assert "dask:" in dask.stderr and scheduler in dask.stderr
        bad = runner.invoke(app, ["metrics", "--scheduler", scheduler])
        assert bad.exit_code == 2 and "only with --engine dask" in bad.stderr
        gone = runner.invoke(app, ["risk", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"])
        assert gone.exit_code == 2 and gone.stderr.startswith("error: --scheduler: cannot reach")
    finally:
        os.environ.pop("VSMML_DASK_PARTITION_EVENTS", None)
        get_settings.cache_clear()


def test_batch_scores_on_dask_equal_the_local_scores(
    org: Org, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vsmml.config import get_settings

    query = RiskQuery(top=5)
    local = score_stored(query, org.settings)
    done = score_stored_dask(query, org.settings, scheduler=scheduler)
    pd.testing.assert_frame_equal(done.report.scored, local.scored, check_exact=True)
    pd.testing.assert_frame_equal(done.report.riskiest, local.riskiest, check_exact=True)
    assert len(local.scored) > 500 and done.run.partitions > 3
    # the command's csv: the same bytes from both engines
    monkeypatch.setenv("VSMML_HOME", str(org.settings.home))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["risk", "--top", "1000", "--format", "csv"]
        by_local = runner.invoke(app, args)
        by_dask = runner.invoke(app, [*args, "--engine", "dask", "--scheduler", scheduler])
    finally:
        get_settings.cache_clear()
    assert by_local.exit_code == by_dask.exit_code == 0, by_dask.stderr[-500:]
    assert by_dask.stdout == by_local.stdout and by_local.stdout.count("\n") > 500


def test_the_dask_trained_risk_model_is_as_good_as_the_local_one(org: Org, scheduler: str) -> None:
    events = read_events(org.settings, kinds=DELIVERY_KINDS)
    data = risk_data_events(events, "the test store")
    _, local_table = train_risk(data, settings=org.settings)
    done = train_risk_dask(org.settings, scheduler=scheduler)
    auc: dict[str, Any] = {
        "local": local_table.set_index("model").loc["vsmml-risk", "auc"],
        "dask": done.table.set_index("model").loc["vsmml-risk", "auc"],
    }
    assert abs(auc["dask"] - auc["local"]) <= 0.01, auc
    # the same held-out changes: the split is the local one
    cols = ["n_train", "n_test", "rate_train", "rate_test"]
    assert done.table[cols].iloc[0].tolist() == local_table[cols].iloc[0].tolist()
    # a real model, better than the stated baseline on held-out data
    assert auc["dask"] > done.table.set_index("model").loc["lr_jit", "auc"] + 0.02
    assert done.result.version == 2 and np.isfinite(auc["dask"])
    assert Path(done.result.export_dir).is_dir()


def test_train_refuses_what_the_dask_engine_cannot_do_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    data = runner.invoke(app, ["train", "risk", "--engine", "dask", "--data", str(tmp_path)])
    assert data.exit_code == 2 and "--data files train locally" in data.stderr
    lone = runner.invoke(app, ["train", "risk", "--scheduler", "tcp://127.0.0.1:9"])
    assert lone.exit_code == 2 and "only with --engine dask" in lone.stderr


def test_service_dependencies_cross_partitions_and_are_inferred_after_the_gather(
    org: Org, scheduler: str
) -> None:
    from vsmml.correlate import correlate
    from vsmml.graph import deploy_order_edges
    from vsmml.pipeline.distributed.cluster import dask_executor
    from vsmml.pipeline.distributed.metrics import partitioned_metrics, service_dependencies

    loose = {"min_count": 2, "min_lift": 1.5}  # the small org's deploy-order edges
    events = read_events(org.settings, kinds=DELIVERY_KINDS)
    local = deploy_order_edges(correlate(events).deployments, **loose)
    assert len(local) >= 3
    manifest = load_manifest(export_lake(org.settings).lake)
    plan = plan_partitions(manifest, by="service", target_rows=1_000, workers=2)
    home = {s: p.index for p in plan.partitions for s in p.scopes}
    # a dependency is not a correlation link: the plan leaves dependent services apart
    pairs = zip(local["service"], local["depends_on"], strict=True)
    apart = [(a, b) for a, b in pairs if home[a] != home[b]]
    assert apart, "no dependency crosses partitions: the test would prove nothing"
    with dask_executor(org.settings, scheduler) as executor:
        _, parts = partitioned_metrics(MetricsQuery(by="service", freq="W"), plan, executor)
    got = service_dependencies(parts, **loose)
    pd.testing.assert_frame_equal(got, local, check_exact=True)
    # no partition alone sees them: each one's own deployments give no cross-partition edge
    alone = [service_dependencies([p], **loose) for p in parts]
    seen = {(a, b) for e in alone for a, b in zip(e["service"], e["depends_on"], strict=True)}
    assert not seen & set(apart)
