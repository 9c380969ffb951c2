"""`generate` and `iter_generate`: the seeded organisation as canonical events plus ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.errors import ConfigError
from vsmml.synth.config import SynthConfig
from vsmml.synth.emit import assemble
from vsmml.synth.events import service_events
from vsmml.synth.org import OrgPlan, dependencies_frame, plan_org, services_frame
from vsmml.synth.service import decide_service
from vsmml.synth.truth import GroundTruth, service_truth


@dataclass
class SynthOrg:
    """Events (canonical frame, sorted by ts, unique event_id) and the truth that made them."""

    config: SynthConfig
    events: pd.DataFrame
    truth: GroundTruth


def categories_of(plan: OrgPlan) -> dict[str, list[str]]:
    """Fixed categories for service/team/repo so every chunk's frames share dtypes."""
    return {
        "service": [s.name for s in plan.services],
        "team": list(plan.teams),
        "repo": sorted({s.repo for s in plan.services}),
    }


def _chunk(plan: OrgPlan, indices: list[int]) -> SynthOrg:
    config = plan.config
    cats = categories_of(plan)
    raws: list[dict[str, np.ndarray]] = []
    parts: dict[str, list[pd.DataFrame]] = {}
    for i in indices:
        world = decide_service(config, plan, plan.services[i])
        raws.append(service_events(world, cats))
        for name, frame in service_truth(world, config).items():
            parts.setdefault(name, []).append(frame)
    events = assemble(raws, cats)
    services = services_frame(plan)
    deps = dependencies_frame(plan)
    chosen = {plan.services[i].name for i in indices}
    truth = GroundTruth(
        services=services[services["service"].isin(chosen)].reset_index(drop=True),
        dependencies=deps[deps["service"].isin(chosen)].reset_index(drop=True),
        **{k: pd.concat(v, ignore_index=True) for k, v in parts.items()},
    )
    return SynthOrg(config=config, events=events, truth=truth)


def iter_generate(
    config: SynthConfig | None = None, *, services_per_chunk: int = 10
) -> Iterator[SynthOrg]:
    """The organisation in chunks of services (bounded memory; the union equals `generate`).

    Each service is generated from its own random stream, and everything shared across services
    (plan, team reviewer load) is recomputed per chunk from organisation-level streams, so
    chunking changes nothing but memory use. Events within a chunk are sorted by ts.
    """
    config = config or SynthConfig()
    if services_per_chunk < 1:
        raise ConfigError(f"services_per_chunk: must be >= 1, got {services_per_chunk}")
    plan = plan_org(config)
    n = len(plan.services)
    for lo in range(0, n, services_per_chunk):
        yield _chunk(plan, list(range(lo, min(n, lo + services_per_chunk))))


def generate(config: SynthConfig | None = None) -> SynthOrg:
    """The whole organisation at once (use `iter_generate` for year-scale configs)."""
    config = config or SynthConfig()
    plan = plan_org(config)
    return _chunk(plan, list(range(len(plan.services))))
