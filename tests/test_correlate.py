"""Correlation on tiny hand-made event sets: PRs, trunk commits, batches, monorepos, rollbacks."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics_events import at, deploy, ev, frame, pr
from vsmml.correlate import correlate, link_coverage
from vsmml.correlate.extract import attr_bool, attr_number, attr_text, lookup, require_columns
from vsmml.correlate.links import link_incidents
from vsmml.errors import DataError


def _row(changes: pd.DataFrame, cid: str) -> pd.Series:
    return changes.set_index("change_id").loc[cid]


def test_pr_stage_times_and_first_review_by_someone_else() -> None:
    corr = correlate(frame(pr("c1", "a1", 0, 5) + deploy("d1", "a1", 8)))
    c = _row(corr.changes, "c1")
    assert c["first_commit_at"] == at(0)
    assert c["opened_at"] == at(1)
    assert c["first_review_at"] == at(2.5)  # ann's own review at 2 h does not count
    assert c["merged_at"] == at(5)
    assert c["production_deploy_id"] == "d1"
    assert c["production_deployed_at"] == at(8)
    assert c["production_link_method"] == "explicit_sha"
    assert c["production_link_confidence"] == 1.0


def test_several_changes_per_deployment_by_commit_range() -> None:
    rows = pr("c1", "a1", 0, 5) + pr("c2", "a2", 1, 6) + deploy("d0", "a0", -10)
    rows += [ev("commit", -20, sha="a0"), *deploy("d1", "a2", 8)]
    corr = correlate(frame(rows))
    c1, c2 = _row(corr.changes, "c1"), _row(corr.changes, "c2")
    assert c1["production_deploy_id"] == c2["production_deploy_id"] == "d1"
    assert c1["production_link_method"] == "commit_range"
    assert c1["production_link_confidence"] == pytest.approx(0.9)
    assert c2["production_link_method"] == "explicit_sha"
    deps = corr.deployments.set_index("deploy_id")
    assert deps.loc["d1", "n_changes"] == 2
    assert deps.loc["d0", "n_changes"] == 1  # the trunk commit a0


def test_first_deployment_range_is_open_and_less_confident() -> None:
    rows = pr("c1", "a1", 0, 5) + pr("c2", "a2", 1, 6) + deploy("d1", "a2", 8)
    c1 = _row(correlate(frame(rows)).changes, "c1")
    assert c1["production_link_method"] == "commit_range_open"
    assert c1["production_link_confidence"] == pytest.approx(0.7)


def test_trunk_commits_without_pr_are_changes() -> None:
    rows = [ev("commit", 0, sha="t1"), ev("commit", 1, sha="t2"), *deploy("d1", "t2", 2)]
    corr = correlate(frame(rows))
    assert list(corr.changes["change_id"]) == ["commit:t1", "commit:t2"]
    assert set(corr.changes["kind"]) == {"commit"}
    assert list(corr.changes["production_deploy_id"]) == ["d1", "d1"]
    assert corr.changes["first_commit_at"].tolist() == [at(0), at(1)]


def test_monorepo_services_deploy_separately() -> None:
    mono = {"repo": "mono"}
    rows = pr("a1", "s1", 0, 2, service="web", **mono) + pr("b1", "s2", 0, 3, service="db", **mono)
    rows += deploy("dw", "s2", 5, service="web", repo="mono")  # web deploys the repo head
    rows += deploy("dd", "s2", 6, service="db", repo="mono")
    corr = correlate(frame(rows))
    assert _row(corr.changes, "a1")["production_deploy_id"] == "dw"
    assert _row(corr.changes, "b1")["production_deploy_id"] == "dd"


def test_redeploy_and_rollback_keep_first_shipment() -> None:
    rows = pr("c1", "a1", 0, 2) + deploy("d1", "a1", 3) + pr("c2", "a2", 4, 5)
    rows += deploy("d2", "a2", 6)
    rows += [
        ev(
            "rollback",
            7,
            deploy_id="r1",
            sha="a1",
            env="production",
            attrs={"rolled_back_deploy_id": "d2"},
        )
    ]
    rows += deploy("d3", "a2", 9)  # redeploy of the same head after the fix
    corr = correlate(frame(rows))
    assert _row(corr.changes, "c2")["production_deploy_id"] == "d2"
    deps = corr.deployments.set_index("deploy_id")
    assert bool(deps.loc["r1", "is_rollback"])
    assert bool(deps.loc["d2", "rolled_back"]) and bool(deps.loc["d2", "failed"])
    assert deps.loc["d2", "restored_at"] == at(7)
    assert deps.loc["d3", "n_changes"] == 0
    assert bool(_row(corr.changes, "c2")["failed"])


def test_deploy_without_sha_uses_artifact_then_time_window() -> None:
    rows = pr("c1", "a1", 0, 2)
    rows += [ev("artifact.published", 2.5, artifact_id="art1", sha="a1")]
    rows += deploy("d1", None, 3, artifact_id="art1")
    rows += pr("c2", "a2", 4, 5) + deploy("d2", None, 7)
    corr = correlate(frame(rows))
    assert _row(corr.changes, "c1")["production_link_method"] == "explicit_sha"
    c2 = _row(corr.changes, "c2")
    assert c2["production_deploy_id"] == "d2"
    assert c2["production_link_method"] == "time_window"
    assert c2["production_link_confidence"] == pytest.approx(0.5)
    assert _row(corr.changes, "c1")["artifact_id"] == "art1"


def test_failed_deploys_do_not_ship_and_staging_is_linked() -> None:
    rows = pr("c1", "a1", 0, 2) + deploy("s1", "a1", 3, env="staging")
    rows += deploy("f1", "a1", 4, status="failure") + deploy("d1", "a1", 5)
    c = _row(correlate(frame(rows)).changes, "c1")
    assert c["staging_deploy_id"] == "s1"
    assert c["production_deploy_id"] == "d1"


def _incident_case() -> list[dict[str, object]]:
    rows = pr("c1", "a1", 0, 2) + deploy("d1", "a1", 3)
    rows += pr("c2", "a2", 3, 4) + deploy("d2", "a2", 5)
    rows += [
        ev("incident.opened", 5.5, incident_id="i1"),  # no link: time window → d2
        ev("incident.resolved", 6.5, incident_id="i1"),
        ev("incident.opened", 6, incident_id="i2", deploy_id="d1"),  # explicit
        ev("incident.resolved", 8, incident_id="i2"),
        ev("incident.opened", 7, incident_id="i3", sha="a1"),  # root cause given
        ev("incident.resolved", 7.5, incident_id="i3"),
        ev("incident.opened", 200, incident_id="i4", service="other"),  # no identifiable cause
    ]
    return rows


def test_incident_links_per_method() -> None:
    corr = correlate(frame(_incident_case()))
    inc = corr.incidents.set_index("incident_id")
    assert inc.loc["i1", "deploy_id_linked"] == "d2"
    assert inc.loc["i1", "link_method"] == "time_window"
    assert inc.loc["i1", "link_confidence"] == pytest.approx(0.9 * 0.5 ** (0.5 / 4))
    assert inc.loc["i2", "link_method"] == "explicit_deploy_id"
    assert inc.loc["i2", "link_confidence"] == 1.0
    assert pd.isna(inc.loc["i4", "deploy_id_linked"]) and inc.loc["i4", "link_confidence"] == 0
    assert pd.isna(inc.loc["i4", "resolved_at"])
    latest = corr.relink("latest_prod_deploy").incidents.set_index("incident_id")
    assert (latest.loc[["i1", "i2", "i3"], "deploy_id_linked"] == "d2").all()
    assert pd.isna(latest.loc["i4", "deploy_id_linked"])
    root = corr.relink("root_cause_sha").incidents.set_index("incident_id")
    assert root.loc["i3", "deploy_id_linked"] == "d1"
    assert root["deploy_id_linked"].notna().sum() == 1
    one = corr.relink("one_to_one").incidents.set_index("incident_id")
    assert one["deploy_id_linked"].notna().sum() == 1  # only the explicit one
    with pytest.raises(ValueError, match="unknown method"):
        link_incidents(corr.incidents, corr.deployments, corr.changes, "bogus")


def test_failure_weights_and_restoration_from_incidents() -> None:
    corr = correlate(frame(_incident_case()))
    deps = corr.deployments.set_index("deploy_id")
    assert deps.loc["d1", "failure_weight"] == 1.0
    assert deps.loc["d1", "restored_at"] == at(8)
    assert deps.loc["d2", "failure_weight"] == pytest.approx(0.9 * 0.5 ** (0.5 / 4))
    assert deps.loc["d2", "incident_id"] == "i1"
    assert _row(corr.changes, "c2")["incident_id"] == "i1"


def test_links_long_form() -> None:
    links = correlate(frame(_incident_case())).links()
    assert set(links["target"]) == {"deploy:production", "incident→deploy"}
    assert len(links.loc[links["target"] == "incident→deploy"]) == 3


def test_link_coverage_counts_unlinked_events() -> None:
    rows = pr("c1", "a1", 0, 2) + deploy("d1", "a1", 3)
    rows += [ev("change.opened", 4, change_id="c9", sha="z", source="gh")]  # never merged
    rows += [ev("slo.sample", 5, env="production")]
    rows += deploy("d9", "unknown", 6, service="ghost")  # ships nothing
    events = frame(rows)
    cov = link_coverage(events, correlate(events))
    total = cov.set_index(["source", "kind"])
    assert total.loc[("gh", "*"), "share"] == 0.0
    assert total.loc[("test", "deploy.finished"), "linked"] == 1
    assert total.loc[("test", "deploy.finished"), "events"] == 2
    assert "slo.sample" not in set(cov["kind"])
    assert next(iter(cov["kind"])) == "*"


def test_link_coverage_kinds_partition_the_schema_and_skip_resource_changes() -> None:
    from vsmml.correlate import coverage
    from vsmml.events.schema import KINDS

    groups = (coverage.CHANGE_KINDS, coverage.DEPLOY_KINDS, coverage.INCIDENT_KINDS)
    parts = [*groups, coverage.NOT_LINKABLE]
    assert sorted(k for part in parts for k in part) == sorted(KINDS)
    assert "commit" in coverage.CHANGE_KINDS and "resource.changed" in coverage.NOT_LINKABLE
    rows = pr("c1", "a1", 0, 2) + deploy("d1", "a1", 3)
    rows += [ev("resource.changed", 4, repo="r", source="cde", status="created")]
    events = frame(rows)
    cov = link_coverage(events, correlate(events))
    assert "cde" not in set(cov["source"]) and "resource.changed" not in set(cov["kind"])


def test_flag_release_time() -> None:
    rows = pr("c1", "a1", 0, 2) + deploy("d1", "a1", 3)
    rows += [
        ev("flag.toggled", 4, flag="f", change_id="c1", env="production", attrs={"enabled": False}),
        ev("flag.toggled", 6, flag="f", change_id="c1", env="production", attrs={"enabled": True}),
    ]
    assert _row(correlate(frame(rows)).changes, "c1")["released_at"] == at(6)


def test_pipeline_and_artifact_stage_times() -> None:
    rows = pr("c1", "a1", 0, 2)
    rows += [
        ev("pipeline.started", 2.1, pipeline_id="p1", sha="a1", change_id="c1"),
        ev(
            "stage.finished",
            2.3,
            pipeline_id="p1",
            stage="build",
            sha="a1",
            attrs={"queue_s": 60, "duration_s": 600},
        ),
        ev("pipeline.finished", 2.4, pipeline_id="p1", sha="a1", status="failure"),
        ev("pipeline.started", 2.5, pipeline_id="p2", sha="a1", change_id="c1"),
        ev(
            "stage.finished",
            2.7,
            pipeline_id="p2",
            stage="build",
            sha="a1",
            attrs={"queue_s": 120, "duration_s": 300},
        ),
        ev("pipeline.finished", 3, pipeline_id="p2", sha="a1", status="success"),
        ev("artifact.published", 3.1, artifact_id="x", sha="a1", pipeline_id="p2"),
    ]
    c = _row(correlate(frame(rows)).changes, "c1")
    assert c["pipeline_started_at"] == at(2.1)
    assert c["pipeline_finished_at"] == at(3)
    assert c["pipeline_id"] == "p2"
    assert c["build_wait_s"] == 180 and c["build_active_s"] == 900
    assert c["artifact_published_at"] == at(3.1)


def test_attr_extraction_and_lookup() -> None:
    f = frame(
        [
            ev("commit", 0, attrs={"n": 3.5, "s": "x", "b": True, "i": 1}),
            ev("commit", 1, attrs={"n": "no"}),
            ev("commit", 2),
        ]
    )
    assert attr_number(f, "n").tolist()[0] == 3.5
    assert pd.isna(attr_number(f, "n").iloc[1])
    assert attr_text(f, "s").iloc[0] == "x"
    assert attr_bool(f, "b").iloc[0] and attr_bool(f, "i").iloc[0]
    assert pd.isna(attr_bool(f, "b").iloc[2])
    empty = f.iloc[:0]
    assert attr_number(empty, "n").empty and attr_text(empty, "s").empty
    assert attr_bool(empty, "b").empty
    got = lookup(pd.Series(["a", "b"]), pd.Series([at(1)], index=["a"]))
    assert got.iloc[0] == at(1) and pd.isna(got.iloc[1])
    with pytest.raises(DataError, match="missing column"):
        require_columns(f, ["nope"], "events")


def test_empty_events_correlate_to_empty_frames() -> None:
    corr = correlate(frame([ev("slo.sample", 0)]))
    assert corr.changes.empty and corr.deployments.empty and corr.incidents.empty


def test_compact_joins_arrow_chunks_and_keeps_values() -> None:
    from vsmml.correlate.extract import compact

    parts = [frame(pr("c1", "a1", 0, 5)), frame(pr("c2", "a2", 1, 6) + deploy("d1", "a2", 8))]
    events = pd.concat(parts, ignore_index=True)
    packed = compact(events)
    pd.testing.assert_frame_equal(packed, events)
    assert correlate(packed).changes.equals(correlate(events).changes)
