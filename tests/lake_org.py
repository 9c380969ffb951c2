"""A small synthetic organisation in a real store, with the links that cross services.

Used by the lake and Dask tests. On top of the generated events it adds what a real
organisation sends and a naive partitioning would cut:

- a *shared incident*: an incident reported under service A that names a production deployment
  of service B (an explicit link across services);
- a pipeline run reported with no service and no repo, for a change of service C (linked by sha
  only);
- a late service whose first deployment comes weeks after everyone else's (the zero-filled
  weekly series must start at the organisation's first week, not its own);
- odd service names (a slash, a space, an equals sign, percent, the text ``NULL``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsmml.config import Settings
from vsmml.pipeline.demo import ingest_synthetic
from vsmml.store import Store
from vsmml.synth import SynthConfig

CONFIG = SynthConfig(seed=11, n_services=5, n_teams=2, days=70)
ODD_SERVICES = ("a/b c", "x=y%z", "NULL", "o'brien")


@dataclass(frozen=True)
class Org:
    """Where the store is, and the services the cross links tie together."""

    settings: Settings
    incident_service: str
    deploy_service: str
    unlabelled_sha_service: str
    late_service: str


def _event(**fields: object) -> dict[str, object]:
    return {"source": "test", **fields}


def extra_events(store: Store) -> tuple[pd.DataFrame, dict[str, str]]:
    """The cross-service events, built from what the store already holds."""
    deploys = store.read_events(kinds=["deploy.finished"])
    prod = deploys.loc[(deploys["env"] == "production") & (deploys["status"] == "success")]
    services = sorted(prod["service"].astype(str).unique())
    a, b, c = services[0], services[1], services[2]
    target = prod.loc[prod["service"] == b].iloc[len(prod.loc[prod["service"] == b]) // 2]
    merged = store.read_events(kinds=["change.merged"])
    change = merged.loc[merged["service"] == c].iloc[5]
    t0 = target["ts"]
    rows = [
        _event(
            event_id="x:shared-incident-open",
            kind="incident.opened",
            ts=(t0 + pd.Timedelta(minutes=20)).isoformat(),
            service=a,
            incident_id="INC-shared",
            deploy_id=target["deploy_id"],
            attrs=json.dumps({"severity": "sev2"}),
        ),
        _event(
            event_id="x:shared-incident-resolved",
            kind="incident.resolved",
            ts=(t0 + pd.Timedelta(hours=3)).isoformat(),
            service=a,
            incident_id="INC-shared",
        ),
        _event(
            event_id="x:bare-pipeline-start",
            kind="pipeline.started",
            ts=(change["ts"] + pd.Timedelta(minutes=1)).isoformat(),
            sha=change["sha"],
            pipeline_id="bare-run-1",
        ),
        _event(
            event_id="x:bare-pipeline-end",
            kind="pipeline.finished",
            ts=(change["ts"] + pd.Timedelta(minutes=9)).isoformat(),
            sha=change["sha"],
            pipeline_id="bare-run-1",
            status="failure",
        ),
    ]
    end = CONFIG.end - pd.Timedelta(days=10)
    for i, when in enumerate([end - pd.Timedelta(days=6), end]):
        sha = f"late{i:036d}"
        rows += [
            _event(
                event_id=f"x:late-merge-{i}",
                kind="change.merged",
                ts=(when - pd.Timedelta(hours=5)).isoformat(),
                service="late",
                team="latecomers",
                repo="late-repo",
                change_id=f"late-{i}",
                sha=sha,
            ),
            _event(
                event_id=f"x:late-deploy-{i}",
                kind="deploy.finished",
                ts=when.isoformat(),
                service="late",
                team="latecomers",
                repo="late-repo",
                env="production",
                status="success",
                deploy_id=f"late-d{i}",
                sha=sha,
            ),
        ]
    for j, name in enumerate(ODD_SERVICES):
        rows.append(
            _event(
                event_id=f"x:odd-{j}",
                kind="deploy.finished",
                ts=(CONFIG.start + pd.Timedelta(days=3 + j)).isoformat(),
                service=name,
                env="production",
                status="success",
                deploy_id=f"odd-{j}",
            )
        )
    names = {"incident": a, "deploy": b, "unlabelled": c}
    return pd.DataFrame(rows), names


def build_org(home: Path, *, partition_events: int = 2_000_000) -> Org:
    """Generate the organisation into a store under `home` and add the cross-service events."""
    settings = Settings(home=home, dask_partition_events=partition_events, dask_workers=2)
    with Store.from_settings(settings) as store:
        ingest_synthetic(store, CONFIG, services_per_chunk=5)
        extra, names = extra_events(store)
        report = store.write_events(extra)
        assert report.accepted == len(extra), report.messages
    return Org(settings, names["incident"], names["deploy"], names["unlabelled"], "late")
