"""Value-stream graph: stages and hand-offs, the constraint, critical path, what-if, exports.

Pure functions, frames in and graphs/frames out::

    corr = correlate(events)
    flow = flow_data(corr.changes, events)          # per-change stage wait/active hours
    constraints(flow, by="service", freq="W")       # the constraint per service-week
    g = graph_for(flow, service="checkout")         # networkx DiGraph of stages
    critical_path(g); what_if(flow, "review wait -30%")
"""

from vsmml.graph.build import (
    graph_for,
    graphs_by_service,
    rework_loops,
    stage_summary,
    value_stream_graph,
)
from vsmml.graph.constraint import (
    change_path,
    constraint_accuracy,
    constraints,
    critical_path,
    find_constraints,
    graph_constraint,
)
from vsmml.graph.export import from_json, to_graphml, to_json
from vsmml.graph.flow import FlowData, flow_data
from vsmml.graph.services import (
    cross_team_waits,
    deploy_order_edges,
    service_graph,
    team_graph,
)
from vsmml.graph.whatif import WhatIfResult, parse_scenario, what_if

__all__ = [
    "FlowData",
    "WhatIfResult",
    "change_path",
    "constraint_accuracy",
    "constraints",
    "critical_path",
    "cross_team_waits",
    "deploy_order_edges",
    "find_constraints",
    "flow_data",
    "from_json",
    "graph_constraint",
    "graph_for",
    "graphs_by_service",
    "parse_scenario",
    "rework_loops",
    "service_graph",
    "stage_summary",
    "team_graph",
    "to_graphml",
    "to_json",
    "value_stream_graph",
    "what_if",
]
