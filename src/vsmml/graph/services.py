"""The service and team graph: dependencies (declared and inferred from deploy order), team
hand-offs, and who waits on whom.

Edges point from the waiting side to the side waited on: ``checkout → payments`` means
checkout depends on payments (it waits for payments' releases). Declared edges come from a
catalogue frame (`vsmml.events.catalog`) or the synthetic organisation's truth (columns
``service``, ``depends_on``). Inferred edges come from deploy ordering: service A's production
deploys start within `window` after service B's finish far more often than chance (lift over
independent Poisson deploys) and at least `min_count` times.
"""

from __future__ import annotations

from typing import Final

import networkx as nx
import numpy as np
import pandas as pd

from vsmml.correlate.extract import attr_text, of_kind, require_columns
from vsmml.errors import DataError
from vsmml.events.schema import STR_DTYPE, TS_DTYPE

WINDOW: Final = pd.Timedelta(minutes=30)
WAIT_COLUMNS: Final = ("from_team", "to_team", "kind", "n", "wait_h", "wait_mean_h")


def _us(ts: pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(ts.astype(TS_DTYPE)).asi8, dtype="int64")


def deploy_order_edges(
    deployments: pd.DataFrame,
    *,
    window: pd.Timedelta = WINDOW,
    min_count: int = 3,
    min_lift: float = 3.0,
) -> pd.DataFrame:
    """Pairs (service, depends_on) whose production deploys follow each other too often.

    For every ordered pair (A, B): ``follows`` = A's production deploys that start within
    `window` after one of B's finishes; ``expected`` = what independent deploys at B's rate would
    give; ``lift`` = follows / expected. Returns pairs with follows >= `min_count` and
    lift >= `min_lift`, columns service, depends_on, follows, expected, lift.
    """
    require_columns(deployments, ("service", "env", "started_at", "finished_at"), "deployments")
    prod = deployments.loc[(deployments["env"] == "production").to_numpy(dtype=bool)]
    if "is_rollback" in prod:
        prod = prod.loc[~prod["is_rollback"].fillna(False).to_numpy(dtype=bool)]
    prod = prod.loc[prod["service"].notna()]
    cols = ["service", "depends_on", "follows", "expected", "lift"]
    if prod.empty:
        return pd.DataFrame(columns=cols)
    start, finish = _us(prod["started_at"]), _us(prod["finished_at"])
    span = max(int(finish.max() - start.min()), 1)
    w = int(window.value // 1000)
    svc = prod["service"].astype(STR_DTYPE).to_numpy()
    names = sorted(set(svc.tolist()))
    starts = {s: np.sort(start[svc == s]) for s in names}
    finishes = {s: np.sort(finish[svc == s]) for s in names}
    rows = []
    for a in names:
        ta = starts[a]
        for b in names:
            if a == b:
                continue
            fb = finishes[b]
            hit = np.searchsorted(fb, ta, "right") - np.searchsorted(fb, ta - w, "left") > 0
            follows = int(hit.sum())
            if follows < min_count:
                continue
            expected = ta.size * (1.0 - np.exp(-fb.size * w / span))
            lift = follows / max(expected, 1e-12)
            if lift >= min_lift:
                rows.append((a, b, follows, expected, lift))
    return pd.DataFrame(rows, columns=cols).astype({"service": STR_DTYPE, "depends_on": STR_DTYPE})


def service_graph(
    services: pd.DataFrame | None = None,
    dependencies: pd.DataFrame | None = None,
    deployments: pd.DataFrame | None = None,
    **infer: object,
) -> nx.DiGraph:
    """A DiGraph of services (node attribute ``team``) with dependency edges.

    Args:
        services: frame with service and team (catalogue, synth truth, or change records).
        dependencies: declared edges (service, depends_on).
        deployments: `correlate(...).deployments`; when given, edges are also inferred from deploy
            ordering (`deploy_order_edges`, keyword arguments in `infer`).

    Edge attributes: ``declared`` (bool), ``inferred`` (bool), ``follows`` and ``lift`` (deploy
    ordering evidence; 0 when not inferred).
    """
    g = nx.DiGraph(name="services")
    if services is not None:
        require_columns(services, ("service", "team"), "services")
        pairs = services[["service", "team"]].dropna().drop_duplicates("service")
        for s, t in zip(pairs["service"], pairs["team"], strict=True):
            g.add_node(str(s), team=str(t))
    if dependencies is not None:
        require_columns(dependencies, ("service", "depends_on"), "dependencies")
        for a, b in zip(dependencies["service"], dependencies["depends_on"], strict=True):
            g.add_edge(str(a), str(b), declared=True, inferred=False, follows=0, lift=0.0)
    if deployments is not None:
        opts = {k: v for k, v in infer.items() if k in ("window", "min_count", "min_lift")}
        inferred = deploy_order_edges(deployments, **opts)  # type: ignore[arg-type]
        for a, b, follows, lift in zip(
            inferred["service"],
            inferred["depends_on"],
            inferred["follows"],
            inferred["lift"],
            strict=True,
        ):
            old = g.get_edge_data(str(a), str(b), default={"declared": False})
            g.add_edge(
                str(a),
                str(b),
                declared=bool(old["declared"]),
                inferred=True,
                follows=int(follows),
                lift=float(lift),
            )
    for n, d in g.nodes(data=True):
        d.setdefault("team", "")
        g.nodes[n]["team"] = str(d["team"])
    return g


def team_graph(services: nx.DiGraph) -> nx.DiGraph:
    """Collapse a service graph onto teams: an edge for every cross-team dependency, weighted by
    how many service edges it stands for (``dependencies``) and naming them (``via``)."""
    g = nx.DiGraph(name="teams")
    for _, d in services.nodes(data=True):
        if d.get("team"):
            g.add_node(d["team"])
    for a, b in services.edges():
        ta, tb = services.nodes[a].get("team", ""), services.nodes[b].get("team", "")
        if not ta or not tb or ta == tb:
            continue
        if g.has_edge(ta, tb):
            g.edges[ta, tb]["dependencies"] += 1
            g.edges[ta, tb]["via"] += f",{a}->{b}"
        else:
            g.add_edge(ta, tb, dependencies=1, via=f"{a}->{b}")
    return g


def people_teams(events: pd.DataFrame) -> pd.Series:
    """person → team, from the authors of opened changes (the team they most often work in)."""
    opened = of_kind(events, "change.opened")
    if opened.empty:
        return pd.Series(dtype=STR_DTYPE)
    frame = pd.DataFrame(
        {
            "person": attr_text(opened, "author").to_numpy(),
            "team": opened["team"].astype(STR_DTYPE).to_numpy(),
        }
    ).dropna()
    counts = frame.groupby(["person", "team"]).size().rename("n").reset_index()
    top = counts.sort_values(["person", "n"], ascending=[True, False]).drop_duplicates("person")
    return pd.Series(top["team"].to_numpy(), index=top["person"].to_numpy(), dtype=STR_DTYPE)


def cross_team_waits(
    changes: pd.DataFrame,
    events: pd.DataFrame,
    services: nx.DiGraph | None = None,
    people: pd.Series | None = None,
) -> pd.DataFrame:
    """Who waits on whom across teams.

    ``review``: a change waited (opened → first review) for a reviewer of another team; the
    reviewer's team comes from `people` (person → team), else from who authors changes where.
    ``dependency``: a service of one team depends on a service of another (service graph);
    n is the number of such service edges; wait_h is NaN (events show that one service
    depends on another, not how long its changes waited for it).

    Returns columns `WAIT_COLUMNS`, one row per (from_team, to_team, kind), most waiting first.
    """
    require_columns(changes, ("change_id", "team", "opened_at", "first_review_at"), "changes")
    who = people if people is not None else people_teams(events)
    reviews = of_kind(events, "change.reviewed")
    parts = []
    if not reviews.empty:
        rv = pd.DataFrame(
            {
                "change_id": reviews["change_id"].astype(STR_DTYPE).to_numpy(),
                "ts": reviews["ts"].to_numpy(),
                "reviewer": attr_text(reviews, "reviewer").to_numpy(),
            }
        ).dropna()
        ch = changes[["change_id", "team", "opened_at", "first_review_at"]].dropna()
        first = rv.merge(ch, left_on=["change_id", "ts"], right_on=["change_id", "first_review_at"])
        first = first.drop_duplicates("change_id")
        first["to_team"] = first["reviewer"].map(who)
        first["from_team"] = first["team"].astype(STR_DTYPE)
        first = first.loc[first["to_team"].notna() & (first["to_team"] != first["from_team"])]
        hours = (first["first_review_at"] - first["opened_at"]).dt.total_seconds() / 3600.0
        first = first.assign(wait=hours.to_numpy())
        agg = first.groupby(["from_team", "to_team"]).agg(
            n=("wait", "size"), wait_h=("wait", "sum")
        )
        parts.append(agg.reset_index().assign(kind="review"))
    if services is not None:
        tg = team_graph(services)
        rows = [(a, b, d["dependencies"], np.nan) for a, b, d in tg.edges(data=True)]
        dep = pd.DataFrame(rows, columns=["from_team", "to_team", "n", "wait_h"])
        parts.append(dep.assign(kind="dependency"))
    if not parts:
        return pd.DataFrame(columns=list(WAIT_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["wait_mean_h"] = out["wait_h"] / out["n"].clip(lower=1)
    out = out.astype({"from_team": STR_DTYPE, "to_team": STR_DTYPE, "kind": STR_DTYPE})
    out["n"] = out["n"].astype("int64")
    return (
        out[list(WAIT_COLUMNS)]
        .sort_values(["wait_h", "n"], ascending=False, na_position="last", kind="stable")
        .reset_index(drop=True)
    )


def check_acyclic(services: nx.DiGraph) -> list[list[str]]:
    """Dependency cycles (each a list of services); empty when the graph is a DAG."""
    if not isinstance(services, nx.DiGraph):
        raise DataError("services: expected a networkx DiGraph")
    return [list(map(str, c)) for c in nx.simple_cycles(services)]
