"""A small real store for the report and dashboard tests: 4 services, 6 weeks, a few bad records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vsmml.config import Settings
from vsmml.pipeline.demo import ingest_synthetic, misconfigured_webhook_events
from vsmml.store import Store
from vsmml.synth import SynthConfig

CONFIG = SynthConfig.preset("demo", n_services=4, n_teams=2, days=42, seed=11)


def build_store(home: Path, *, rename: dict[str, str] | None = None) -> Settings:
    """Generate the organisation into a store under `home` (services renamed when asked)."""
    settings = Settings(home=home)
    with Store.from_settings(settings) as store:
        if rename:
            from vsmml.synth import generate

            events = generate(CONFIG).events
            service = events["service"].astype(str)
            events["service"] = service.replace(rename)
            store.write_events(events)
        else:
            ingest_synthetic(store, CONFIG)
        store.write_events(misconfigured_webhook_events(CONFIG))
    return settings


def slo_csv(settings: Settings, until: pd.Timestamp, path: Path) -> Path:
    """The store's SLO samples before `until` as a CSV `vsmml slo status --file` reads."""
    with Store.from_settings(settings, read_only=True) as store:
        samples = store.read_slo_samples()
    samples.loc[samples["timestamp"] < until].to_csv(path, index=False)
    return path
