"""Graph exports: JSON nodes/links (d3 and the HTTP API) and GraphML text (Gephi, yEd, networkx).

Both are pure: they return a dict or a string and leave writing files to the caller.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np


def _plain(value: Any) -> Any:
    """numpy scalars to Python, NaN/inf to None (JSON has no NaN), other objects to text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def to_json(graph: nx.DiGraph) -> dict[str, Any]:
    """``{"name", "directed", "nodes": [{"id", ...attrs}], "links": [{"source", "target", ...}]}``.

    Values are JSON-safe (NaN becomes null), so `json.dumps` works on the result as is.
    """
    nodes = [
        {"id": str(n), **{k: _plain(v) for k, v in d.items()}} for n, d in graph.nodes(data=True)
    ]
    links = [
        {"source": str(a), "target": str(b), **{k: _plain(v) for k, v in d.items()}}
        for a, b, d in graph.edges(data=True)
    ]
    return {
        "name": str(graph.graph.get("name", "")),
        "directed": graph.is_directed(),
        "nodes": nodes,
        "links": links,
    }


def from_json(data: dict[str, Any]) -> nx.DiGraph:
    """Rebuild a DiGraph from `to_json` output (null attributes are dropped)."""
    g = nx.DiGraph(name=data.get("name", ""))
    for node in data.get("nodes", []):
        attrs = {k: v for k, v in node.items() if k != "id" and v is not None}
        g.add_node(node["id"], **attrs)
    for link in data.get("links", []):
        attrs = {k: v for k, v in link.items() if k not in ("source", "target") and v is not None}
        g.add_edge(link["source"], link["target"], **attrs)
    return g


def to_graphml(graph: nx.DiGraph) -> str:
    """GraphML text of `graph`; attributes become typed GraphML keys (None/NaN are left out)."""
    clean = nx.DiGraph(name=str(graph.graph.get("name", "")))
    for n, d in graph.nodes(data=True):
        clean.add_node(str(n), **_attrs(d))
    for a, b, d in graph.edges(data=True):
        clean.add_edge(str(a), str(b), **_attrs(d))
    return "\n".join(nx.generate_graphml(clean)) + "\n"


def _attrs(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ((k, _plain(v)) for k, v in d.items()) if v is not None}
