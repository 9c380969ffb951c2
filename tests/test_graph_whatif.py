"""What-if re-timing, graph exports, drawing, and the service/team graph on hand-made data."""

from __future__ import annotations

import io
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graph_records import at, change, frame, runs
from vsmml.errors import DataError
from vsmml.graph import (
    cross_team_waits,
    deploy_order_edges,
    flow_data,
    from_json,
    graph_for,
    parse_scenario,
    service_graph,
    team_graph,
    to_graphml,
    to_json,
    what_if,
)
from vsmml.graph.draw import draw_value_stream
from vsmml.graph.services import check_acyclic
from vsmml.graph.whatif import retime


@pytest.fixture
def flow():  # type: ignore[no-untyped-def]
    ch = frame([change("a", 0), change("b", 1, prd_start=12, prd_done=12.1)])
    ev = runs(
        [
            ("a", "build", 1800.0, 900.0, "success", 7, 1),
            ("a", "tests", 360.0, 7200.0, "success", 8.5, 1),
            ("b", "build", 1800.0, 900.0, "success", 8, 1),
            ("b", "tests", 360.0, 7200.0, "success", 9.5, 1),
        ]
    )
    return flow_data(ch, ev)


def test_parse_scenarios(flow) -> None:  # type: ignore[no-untyped-def]
    (s,) = parse_scenario("Review wait -30%", flow)
    assert (s.kind, s.stages, s.part, s.factor) == (
        "scale",
        ("review",),
        "wait",
        pytest.approx(0.7),
    )
    (s,) = parse_scenario("test in parallel", flow)  # singular/plural and spaces are forgiven
    assert (s.kind, s.stages) == ("parallel", ("tests",))
    steps = parse_scenario("ci +10% ; deploy batch size 1 and production active -5 %", flow)
    assert [x.kind for x in steps] == ["scale", "batch", "scale"]
    assert steps[0].stages == ("build", "tests") and steps[2].part == "active"
    for bad, match in [
        ("nothing happens", "cannot read"),
        ("review -100%", "cannot shrink"),
        ("qa wait -10%", "unknown stage"),
        ("review in parallel", "only CI stages"),
        ("deploy batch size 3", "batch size 1"),
        ("  ", "empty"),
    ]:
        with pytest.raises(DataError, match=match):
            parse_scenario(bad, flow)


def test_review_wait_cut_retimes_every_change(flow) -> None:  # type: ignore[no-untyped-def]
    r = what_if(flow, "review wait -30%", n_boot=50)
    per = r.per_change.set_index("change_id")
    assert per.loc["a", "new_lead_h"] == pytest.approx(20.1 - 0.9)
    assert r.baseline_median_h == pytest.approx((20.1 + 12.1) / 2)
    assert r.delta_h == pytest.approx(-0.9)
    assert r.delta_pct_low <= r.delta_pct <= r.delta_pct_high
    assert r.to_dict()["steps"][0]["stages"] == ("review",)
    json.dumps(r.to_dict())


def test_parallel_tests_take_the_longer_branch(flow) -> None:  # type: ignore[no-untyped-def]
    per = retime(flow, parse_scenario("tests in parallel", flow)).set_index("change_id")
    ci_serial = 0.5 + 0.25 + 0.1 + 2.0
    ci_parallel = max(0.75, 2.1)
    assert per.loc["a", "lead_h"] - per.loc["a", "new_lead_h"] == pytest.approx(
        ci_serial - ci_parallel
    )


def test_batch_of_one_gives_riders_a_head_wait() -> None:
    rows = [
        change("a", 0, prd_start=30, prd_done=30.1),
        change("b", 1, prd_start=29, prd_done=30.1),
    ]
    rows[1]["production_deploy_id"] = "d-a"  # b rode along in a's deploy
    rows[1]["merged_at"] = at(7.0)
    rows.append(change("c", 40, prd_start=12, prd_done=12.1))
    f = flow_data(frame(rows))
    assert f.changes.set_index("change_id")["batch_head"].to_dict() == {
        "a": False,
        "b": True,
        "c": True,
    }
    per = retime(f, parse_scenario("deploy batch size 1", f)).set_index("change_id")
    heads = {29 - 1 - 9.6, 12 - 9.6}
    new_wait = per.loc["a", "new_lead_h"] - (per.loc["a", "lead_h"] - (30 - 9.6))
    assert round(new_wait, 6) in {round(h, 6) for h in heads}
    assert per.loc["c", "new_lead_h"] == pytest.approx(per.loc["c", "lead_h"])
    with pytest.raises(DataError, match="confidence"):
        what_if(f, "review -1%", confidence=1.5)


def test_json_and_graphml_round_trip(flow) -> None:  # type: ignore[no-untyped-def]
    g = graph_for(flow)
    g.nodes["review"]["note"] = float("nan")
    data = to_json(g)
    text = json.dumps(data)
    assert data["nodes"][1]["note"] is None and '"links"' in text
    back = from_json(json.loads(text))
    assert set(back.edges) == set(g.edges)
    assert back.nodes["review"]["wait_share"] == pytest.approx(g.nodes["review"]["wait_share"])
    parsed = nx.parse_graphml(to_graphml(g))
    assert set(parsed.edges) == set(g.edges)
    assert parsed.nodes["production"]["n_changes"] == 2
    assert "note" not in parsed.nodes["review"]


def test_draw_returns_a_figure_with_the_constraint_named(flow) -> None:  # type: ignore[no-untyped-def]
    fig = draw_value_stream(graph_for(flow), constraint="production")
    assert "constraint: production" in fig.axes[0].get_title()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def _deploys(service: str, minutes: list[float]) -> pd.DataFrame:
    t = [pd.Timestamp("2026-03-02", tz="UTC") + pd.Timedelta(minutes=m) for m in minutes]
    return pd.DataFrame(
        {
            "service": service,
            "env": "production",
            "started_at": t,
            "finished_at": [x + pd.Timedelta(minutes=5) for x in t],
            "is_rollback": False,
        }
    )


def test_deploy_order_infers_who_waits_on_whom() -> None:
    rng = np.random.default_rng(0)
    base = np.sort(rng.uniform(0, 60 * 24 * 28, 20))
    deps = pd.concat(
        [
            _deploys("core", list(base)),
            _deploys("web", list(base + 12)),  # always 7 min after core finished
            _deploys("batch", list(np.sort(rng.uniform(0, 60 * 24 * 28, 20)))),
        ],
        ignore_index=True,
    )
    edges = deploy_order_edges(deps)
    assert edges[["service", "depends_on"]].values.tolist() == [["web", "core"]]
    assert edges["follows"].iloc[0] == 20 and edges["lift"].iloc[0] > 10
    assert deploy_order_edges(deps.iloc[:0]).empty
    services = pd.DataFrame({"service": ["core", "web", "batch"], "team": ["red", "blue", "red"]})
    declared = pd.DataFrame({"service": ["batch"], "depends_on": ["web"]})
    g = service_graph(services, declared, deps)
    assert g.edges["web", "core"]["inferred"] and not g.edges["web", "core"]["declared"]
    assert g.edges["batch", "web"]["declared"]
    tg = team_graph(g)
    assert tg.edges["blue", "red"]["via"] == "web->core"
    assert tg.edges["red", "blue"]["dependencies"] == 1
    assert check_acyclic(g) == []


def test_cross_team_review_waits() -> None:
    ch = frame([change("a", 0), change("b", 1)])
    ts = [at(5), at(6), at(0.5)]
    events = pd.DataFrame(
        {
            "kind": ["change.reviewed", "change.reviewed", "change.opened"],
            "ts": ts,
            "change_id": ["a", "b", "x"],
            "team": ["blue", "blue", "red"],
            "attrs": ['{"reviewer": "rita"}', '{"reviewer": "bob"}', '{"author": "rita"}'],
        }
    )
    out = cross_team_waits(ch, events, people=None)
    assert out.to_dict("records") == [
        {
            "from_team": "blue",
            "to_team": "red",
            "kind": "review",
            "n": 1,
            "wait_h": pytest.approx(3.0),
            "wait_mean_h": pytest.approx(3.0),
        }
    ]
    g = nx.DiGraph()
    g.add_node("s1", team="blue")
    g.add_node("s2", team="red")
    g.add_edge("s1", "s2")
    both = cross_team_waits(ch, events.iloc[:0], g)
    assert both["kind"].tolist() == ["dependency"] and np.isnan(both["wait_h"].iloc[0])
    assert cross_team_waits(ch, events.iloc[:0]).empty
