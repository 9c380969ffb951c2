"""Value-stream graph on hand-made change records: stage times, summary, constraint, paths."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graph_records import change, frame, runs
from vsmml.errors import DataError
from vsmml.graph import (
    change_path,
    constraints,
    critical_path,
    find_constraints,
    flow_data,
    graph_constraint,
    graph_for,
    graphs_by_service,
    rework_loops,
    stage_summary,
    value_stream_graph,
)


@pytest.fixture
def flow():  # type: ignore[no-untyped-def]
    ch = frame([change("a", 0), change("b", 1, prd_start=12, prd_done=12.1)])
    ev = runs(
        [  # listed out of order: the pipeline order comes from the timestamps
            ("a", "tests", 360.0, 36000.0, "success", 8.5, 1),
            ("a", "build", 1800.0, 900.0, "success", 7, 1),
            ("b", "build", 1800.0, 900.0, "failure", 8, 1),
            ("b", "build", 1800.0, 900.0, "success", 8.5, 2),
            ("b", "tests", 360.0, 36000.0, "success", 9.5, 2),
        ]
    )
    return flow_data(ch, ev)


def test_stage_times_follow_the_documented_definitions(flow) -> None:  # type: ignore[no-untyped-def]
    assert flow.stage_order == ("coding", "review", "build", "tests", "staging", "production")
    st = flow.stages.set_index(["change_id", "stage"])
    assert st.loc[("a", "coding"), "active_h"] == pytest.approx(2.0)
    assert st.loc[("a", "coding"), "wait_h"] == 0.0
    assert st.loc[("a", "review"), "wait_h"] == pytest.approx(3.0)
    assert st.loc[("a", "review"), "active_h"] == pytest.approx(1.0)
    assert st.loc[("a", "tests"), "active_h"] == pytest.approx(10.0)
    assert st.loc[("b", "build"), "wait_h"] == pytest.approx(1.0)  # two attempts summed
    assert st.loc[("b", "build"), "failures"] == 1
    assert st.loc[("a", "staging"), "wait_h"] == pytest.approx(0.5)
    assert st.loc[("a", "production"), "wait_h"] == pytest.approx(10.4)
    assert st.loc[("b", "production"), "wait_h"] == pytest.approx(2.4)
    facts = flow.changes.set_index("change_id")
    assert facts.loc["a", "lead_h"] == pytest.approx(20.1)
    assert facts.loc["b", "ci_attempts"] == 2
    assert facts.loc["a", "week_start"] == pd.Timestamp("2026-03-02", tz="UTC")


def test_without_stage_events_ci_is_one_stage() -> None:
    f = flow_data(frame([change("a", 0)]))
    assert f.stage_order == ("coding", "review", "ci", "staging", "production")
    ci = f.stages.set_index("stage").loc["ci"]
    assert (ci["wait_h"], ci["active_h"]) == (pytest.approx(0.5), pytest.approx(1.0))


def test_undeployed_changes_are_left_out_and_missing_columns_named() -> None:
    rows = [change("a", 0), change("b", 0)]
    rows[1]["production_deployed_at"] = pd.NaT
    assert list(flow_data(frame(rows)).changes["change_id"]) == ["a"]
    with pytest.raises(DataError, match="first_review_at"):
        flow_data(frame(rows).drop(columns="first_review_at"))


def test_summary_shares_throughput_wip_utilisation(flow) -> None:  # type: ignore[no-untyped-def]
    s = stage_summary(flow, by="service", freq="W").set_index("stage")
    assert s["wait_share"].sum() == pytest.approx(1.0)
    total_wait = 2 * 3.0 + 1.5 + 0.2 + 2 * 0.5 + 10.4 + 2.4
    assert s.loc["production", "wait_share"] == pytest.approx(12.8 / total_wait)
    assert s.loc["tests", "throughput_per_week"] == pytest.approx(2.0)
    assert s.loc["tests", "utilisation"] == pytest.approx(20.0 / 168.0)
    assert s.loc["review", "wip"] == pytest.approx(8.0 / 168.0)
    assert s.loc["build", "failures"] == 1
    with pytest.raises(DataError, match="by"):
        stage_summary(flow, by="repo")
    with pytest.raises(DataError, match="freq"):
        stage_summary(flow, freq="M")


def test_constraint_is_the_highest_wait_share_not_the_longest(flow) -> None:  # type: ignore[no-untyped-def]
    c = constraints(flow).iloc[0]
    assert c["constraint"] == "production"
    assert c["longest_stage"] == "tests"  # 10 h active, hardly any queue
    assert c["runner_up"] == "review"
    assert c["margin"] == pytest.approx(12.8 / 6.0 - 1.0)
    org = constraints(flow, by=None, freq=None)
    assert list(org.columns[:1]) == ["constraint"] and org["constraint"].iloc[0] == "production"


def test_near_tie_goes_to_the_busier_stage() -> None:
    summary = pd.DataFrame(
        {
            "service": "s",
            "stage": ["review", "deploy", "build"],
            "wait_share": [0.40, 0.398, 0.202],
            "utilisation": [0.2, 0.9, 0.5],
            "wait_mean_h": [4.0, 3.9, 2.1],
            "time_mean_h": [5.0, 4.0, 9.0],
            "n_changes": [10, 10, 10],
        }
    )
    assert find_constraints(summary)["constraint"].iloc[0] == "deploy"
    assert find_constraints(summary, tie=0.0)["constraint"].iloc[0] == "review"
    assert find_constraints(summary)["longest_stage"].iloc[0] == "build"
    with pytest.raises(DataError, match="tie"):
        find_constraints(summary, tie=-1)


def test_graph_nodes_handoffs_rework_and_critical_path(flow) -> None:  # type: ignore[no-untyped-def]
    g = graph_for(flow, service="svc")
    handoffs = [(a, b) for a, b, d in g.edges(data=True) if d["kind"] == "handoff"]
    assert handoffs == list(nx.utils.pairwise(flow.stage_order))
    assert g.edges["build", "build"] == {"kind": "rework", "count": 1}
    assert graph_constraint(g) == "production"
    path, total = critical_path(g)
    assert path == list(flow.stage_order)
    assert total == pytest.approx(sum(d["time_mean_h"] for _, d in g.nodes(data=True)))
    par = graph_for(flow, parallel=["tests"])
    assert par.has_edge("review", "tests") and par.has_edge("tests", "staging")
    p2, t2 = critical_path(par)
    assert "tests" in p2 and "build" not in p2 and t2 < total
    with pytest.raises(DataError, match="no deployed changes"):
        graph_for(flow, service="nope")
    with pytest.raises(DataError, match="parallel"):
        graph_for(flow, parallel=["nope"])


def test_value_stream_graph_refuses_several_groups(flow) -> None:  # type: ignore[no-untyped-def]
    two = pd.concat([stage_summary(flow, None, None)] * 2)
    with pytest.raises(DataError, match="one group"):
        value_stream_graph(two)
    loops = rework_loops(flow)
    assert loops.to_dict("records") == [{"from_stage": "build", "to_stage": "build", "count": 1}]


def test_change_path(flow) -> None:  # type: ignore[no-untyped-def]
    p = change_path(flow, "a").set_index("stage")
    assert p.loc["production", "longest_wait"]
    assert p.loc["production", "share_of_lead"] == pytest.approx(10.5 / 20.1)
    assert p.loc["tests", "time_h"] == pytest.approx(10.1)
    with pytest.raises(DataError, match="zzz"):
        change_path(flow, "zzz")


def test_empty_values_are_not_a_crash() -> None:
    f = flow_data(frame([change("a", 0)]))
    s = stage_summary(f, by="team", freq=None)
    assert np.isclose(s["window_h"].iloc[0], 168.0)
    assert set(s["stage"]) == set(f.stage_order)


def test_graphs_by_service_match_one_at_a_time(flow) -> None:  # type: ignore[no-untyped-def]
    many = graphs_by_service(flow)
    one = graph_for(flow, service="svc")
    assert list(many) == ["svc"]
    assert dict(many["svc"].edges) == dict(one.edges)
    for n in one.nodes:
        assert many["svc"].nodes[n] == pytest.approx(one.nodes[n])
