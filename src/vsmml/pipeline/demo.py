"""`vsmml demo`: generate the synthetic organisation into the store, train on it, take the tour."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.pipeline.tour import Tour, run_tour
from vsmml.store import Store, WriteReport
from vsmml.synth import SynthConfig, iter_generate


@dataclass
class DemoResult:
    """What `vsmml demo` did: the write report, the store summary and where the store lives."""

    store_path: Path
    report: WriteReport
    summary: dict[str, pd.DataFrame]
    seconds: float
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    training: TrainingSummary | None = None
    training_skipped: str | None = None
    tour: Tour | None = None
    report_path: Path | None = None
    report_skipped: str | None = None


@dataclass
class TrainingSummary:
    """The demo's risk-model training: the registered version, promotion and held-out scores."""

    version: int
    promoted: bool
    reason: str
    evaluation: pd.DataFrame
    seconds: float


def ingest_synthetic(
    store: Store,
    config: SynthConfig,
    *,
    services_per_chunk: int = 4,
    progress: Callable[[int], None] | None = None,
) -> WriteReport:
    """Generate the organisation chunk by chunk (bounded memory) and write each chunk as a batch."""
    total = WriteReport()
    for org in iter_generate(config, services_per_chunk=services_per_chunk):
        total.add(store.write_events(org.events))
        if progress is not None:
            progress(total.accepted)
    return total


def misconfigured_webhook_events(config: SynthConfig) -> pd.DataFrame:
    """A few deliberately broken records (as a misconfigured source sends): the demo shows them
    quarantined with their reasons while everything around them lands."""
    start = config.start
    return pd.DataFrame(
        {
            "event_id": ["legacy:1", "legacy:2", "legacy:3", "legacy:4"],
            "kind": ["deploy.finished", "deploy.completed", "incident.opened", "commit"],
            "ts": [
                (start + pd.Timedelta(days=1)).isoformat(),
                (start + pd.Timedelta(days=2)).isoformat(),
                (start + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
                "1970-01-01T00:00:00Z",
            ],
            "source": ["legacy-webhook"] * 4,
            "service": ["legacy"] * 4,
            "attrs": [json.dumps({"note": "valid: lands"}), None, None, None],
        }
    )


def run_demo(
    settings: Settings | None = None,
    *,
    seed: int | None = None,
    days: int | None = None,
    services: int | None = None,
    tour: bool = True,
    train: bool = True,
    weekly: bool = True,
) -> DemoResult:
    """Generate the default synthetic organisation into the store under VSMML_HOME, train the
    change-risk model on its history (MLflow, champion only if better) unless `train` is False,
    then take the tour (metrics, bottlenecks, SLO budgets, risky changes) unless `tour` is False
    and write the weekly report under VSMML_HOME/reports unless `weekly` is False."""
    s = settings or get_settings()
    overrides: dict[str, int] = {"seed": s.seed if seed is None else seed}
    if days is not None:
        overrides["days"] = days
    config = SynthConfig.preset("demo", **overrides)
    if services is not None:
        overrides.update(n_services=services, n_teams=min(config.n_teams, services))
        config = SynthConfig.preset("demo", **overrides)
    t0 = time.perf_counter()
    skipped: str | None = None
    with Store.from_settings(s) as store:
        report = ingest_synthetic(store, config)
        report.add(store.write_events(misconfigured_webhook_events(config)))
        summary = store.summary()
        quarantine = store.read_quarantine()
        seconds = time.perf_counter() - t0
        training = None
        if train:
            try:
                training = train_demo_risk(s, config, store)
            except DataError as exc:  # too little history to train on: score with the default
                skipped = f"risk model not trained: {exc}"
        else:
            skipped = "risk model not trained (--no-train)"
        taken = run_tour(store) if tour else None
        report_path, report_skipped = _weekly_report(store, s) if weekly else (None, None)
    return DemoResult(
        store_path=s.store_path,
        report=report,
        summary=summary,
        seconds=seconds,
        quarantine=quarantine,
        training=training,
        training_skipped=skipped,
        tour=taken,
        report_path=report_path,
        report_skipped=report_skipped,
    )


def _weekly_report(store: Store, settings: Settings) -> tuple[Path | None, str | None]:
    """The weekly report of the latest complete week, written to VSMML_HOME/reports."""
    from vsmml.pipeline.report import ReportRequest, weekly_from_store

    try:
        done = weekly_from_store(
            store, ReportRequest(out=settings.home / "reports"), settings=settings
        )
    except DataError as exc:
        return None, f"weekly report not written: {exc}"
    return done.html, None


def train_demo_risk(settings: Settings, config: SynthConfig, store: Store) -> TrainingSummary:
    """Train the change-risk model on the organisation's history in the store (changes
    correlated from its events, features as the gate sees them; first 80 % by merge time),
    evaluate it and the baselines on the rest, track it in MLflow and promote it if better."""
    from vsmml.pipeline.training.risk import risk_data_events, train_risk

    t0 = time.perf_counter()
    events = store.read_events(kinds=DELIVERY_KINDS)
    data = risk_data_events(events, f"the store {settings.store_path} (seed {config.seed})")
    result, table = train_risk(data, settings=settings)
    cols = [c for c in ("model", "auc", "pr_auc", "brier", "recall@20%", "ece") if c in table]
    return TrainingSummary(
        version=result.version,
        promoted=result.promoted,
        reason=result.reason,
        evaluation=table[cols].round(3),
        seconds=time.perf_counter() - t0,
    )
