"""Benchmark: value-stream graph build and constraint search for a year of 100 services.

The synthetic organisation (`year50` preset widened to 100 services and 20 teams, 365 days) is
generated chunk by chunk and correlated per chunk (services are independent); only the change
records and `stage.finished` rows are kept. Then each graph step is timed, with its peak traced
memory (tracemalloc: Python and numpy allocations), and the constraint rule is scored against
the planted bottlenecks. Reference: an interactive budget of 10 s for the whole graph pass.

Run: ``.venv/bin/python bench/bench_graph.py`` (``--quick``: 10 services, 91 days).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pandas as pd

from vsmml.correlate import correlate
from vsmml.graph import (
    constraint_accuracy,
    constraints,
    critical_path,
    flow_data,
    graphs_by_service,
    service_graph,
    what_if,
)
from vsmml.synth import GroundTruth, SynthConfig, iter_generate

BUDGET_S = 10.0


def prepare(
    config: SynthConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, GroundTruth, float]:
    """Generate and correlate chunk by chunk; keep changes, deployments, stage rows, truth."""
    t = time.perf_counter()
    changes, deploys, stages, truths = [], [], [], []
    for chunk in iter_generate(config, services_per_chunk=10):
        corr = correlate(chunk.events)
        changes.append(corr.changes)
        deploys.append(corr.deployments)
        ev = chunk.events
        stages.append(ev.loc[(ev["kind"] == "stage.finished").to_numpy(dtype=bool)])
        truths.append(chunk.truth)
    cat = {"service": "str", "team": "str", "repo": "str"}
    ch = pd.concat([c.astype(cat) for c in changes], ignore_index=True)
    dep = pd.concat([d.astype(cat) for d in deploys], ignore_index=True)
    st = pd.concat([s.astype({**cat, "kind": "str"}) for s in stages], ignore_index=True)
    return ch, dep, st, GroundTruth.concat(truths), time.perf_counter() - t


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run `fn` twice: timed untraced, then under tracemalloc (which slows it) for the peak.

    Returns its result, seconds and peak traced memory in MiB.
    """
    t = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, secs, peak


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 services, 91 days")
    args = parser.parse_args()
    if args.quick:
        config = SynthConfig.preset("year50", n_services=10, n_teams=3, days=91)
    else:
        config = SynthConfig.preset("year50", n_services=100, n_teams=20)
    changes, deploys, stage_rows, truth, prep_s = prepare(config)
    print(
        f"organisation: {config.n_services} services, {config.days} days; "
        f"{len(changes):,} changes, {len(stage_rows):,} CI stage runs "
        f"(generate + correlate {prep_s:.1f} s, not part of the graph pass)"
    )
    flow, t_flow, m_flow = timed(lambda: flow_data(changes, stage_rows))
    weekly, t_week, m_week = timed(lambda: constraints(flow, by="service", freq="W"))
    per_service, t_svc, m_svc = timed(lambda: constraints(flow, by="service", freq=None))
    _, t_org, m_org = timed(lambda: constraints(flow, by=None, freq=None))
    names = sorted(set(flow.changes["service"]))

    def graphs() -> int:
        for g in graphs_by_service(flow).values():
            critical_path(g)
        return len(names)

    _, t_graphs, m_graphs = timed(graphs)
    _, t_deps, m_deps = timed(lambda: service_graph(truth.services, truth.dependencies, deploys))
    _, t_what, m_what = timed(lambda: what_if(flow, "review wait -30%", n_boot=200))
    rows = [
        ("stage times (flow_data)", len(flow.stages), t_flow, m_flow),
        ("constraint per service-week", len(weekly), t_week, m_week),
        ("constraint per service", len(per_service), t_svc, m_svc),
        ("constraint, organisation", 1, t_org, m_org),
        ("graph + critical path per service", len(names), t_graphs, m_graphs),
        ("service graph + deploy-order inference", len(deploys), t_deps, m_deps),
        ("what-if 'review wait -30%' (200 boot)", len(flow.changes), t_what, m_what),
    ]
    total = sum(r[2] for r in rows)
    table = pd.DataFrame(rows, columns=["step", "rows", "seconds", "peak_MiB"])
    table["rows_per_s"] = (table["rows"] / table["seconds"]).round(0)
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                [["total graph pass", len(changes), total, table["peak_MiB"].max(), None]],
                columns=table.columns,
            ),
        ],
        ignore_index=True,
    )
    print(table.round(3).to_string(index=False))
    print(f"ratio vs the {BUDGET_S:.0f} s budget: {total / BUDGET_S:.2f} (below 1 is within it)")
    acc = constraint_accuracy(weekly, truth.bottlenecks)
    ident = acc["stage"] == acc["planted_stage"]
    print(
        f"planted bottleneck found: {acc['hit'].mean():.2%} of {len(acc):,} service-weeks "
        f"(identifiable {ident.mean():.2%}: {acc.loc[ident, 'hit'].mean():.2%}); "
        f"longest stage: {acc['longest_hit'].mean():.2%}"
    )


if __name__ == "__main__":
    main()
