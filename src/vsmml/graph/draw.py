"""A matplotlib figure of the value stream for the weekly report (Agg backend, imported lazily).

Stages are laid out left to right as boxes whose bar shows wait (hatched) and active time per
change; the constraint is drawn in red; rework loops are arcs below the line with their counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def draw_value_stream(
    graph: nx.DiGraph, *, constraint: str | None = None, title: str | None = None
) -> Figure:
    """Draw `graph` (a `value_stream_graph`) and return the figure (the caller saves it).

    Args:
        graph: value-stream graph; nodes need ``order``, ``wait_mean_h`` and ``active_mean_h``.
        constraint: stage to highlight (e.g. from `graph_constraint`).
        title: figure title (default: the graph's name).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    nodes = sorted(graph.nodes(data=True), key=lambda nd: (nd[1].get("order", 0), str(nd[0])))
    names = [str(n) for n, _ in nodes]
    x = {n: float(i) for i, n in enumerate(names)}
    fig = Figure(figsize=(max(6.0, 1.3 * len(names)), 3.8), layout="constrained")
    ax = fig.add_subplot()
    wait = [float(d.get("wait_mean_h", 0.0) or 0.0) for _, d in nodes]
    active = [float(d.get("active_mean_h", 0.0) or 0.0) for _, d in nodes]
    colours = ["#c0392b" if n == constraint else "#2e86c1" for n in names]
    pos = list(range(len(names)))
    ax.bar(pos, wait, color=colours, alpha=0.45, hatch="//", label="wait (h per change)")
    ax.bar(pos, active, bottom=wait, color=colours, label="active (h per change)")
    top = max([w + a for w, a in zip(wait, active, strict=True)] or [1.0])
    for a, b, d in graph.edges(data=True):
        if d.get("kind") != "rework" or a not in x or b not in x:
            continue
        arrow = FancyArrowPatch(
            (x[a], -0.08 * top),
            (x[b], -0.08 * top),
            connectionstyle="arc3,rad=0.35",
            arrowstyle="->",
            mutation_scale=10,
            color="#7f8c8d",
        )
        ax.add_patch(arrow)
        ax.annotate(
            str(d.get("count", "")),
            ((x[a] + x[b]) / 2, -0.2 * top),
            ha="center",
            fontsize=7,
            color="#7f8c8d",
        )
    ax.set_xticks(pos, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(-0.3 * top, 1.15 * top)
    ax.set_ylabel("hours per change")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend(fontsize=7, loc="upper right")
    label = title if title is not None else str(graph.graph.get("name", "value stream"))
    if constraint:
        label += f" — constraint: {constraint}"
    ax.set_title(label, fontsize=10)
    return fig
