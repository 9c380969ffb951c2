"""The demo tour over a real store holding a small synthetic organisation."""

from __future__ import annotations

import pytest

from vsmml.pipeline.demo import ingest_synthetic
from vsmml.pipeline.tour import Tour, run_tour
from vsmml.store import Store
from vsmml.synth import SynthConfig, generate

pytestmark = pytest.mark.slow  # a demo store and the tour

CONFIG = SynthConfig.preset("demo", n_services=4, n_teams=2, days=42, seed=11)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Tour:
    path = tmp_path_factory.mktemp("tour") / "s.duckdb"
    with Store(path) as store:
        ingest_synthetic(store, CONFIG)
        return run_tour(store)


def test_dora_table_has_every_service_with_bands(tour: Tour) -> None:
    services = sorted(generate(CONFIG).truth.services["service"])
    assert tour.dora["service"].tolist() == services
    assert (tour.dora["deploys/day"] > 0).all()
    assert tour.dora["CFR"].between(0, 1).all()
    assert set(tour.dora["lead band"]) <= {"elite", "high", "medium", "low"}


def test_bottlenecks_name_the_planted_stage_of_most_services(tour: Tour) -> None:
    truth = generate(CONFIG).truth.bottlenecks
    planted = truth.groupby("service")["stage"].agg(lambda s: s.value_counts().index[0])
    found = tour.bottlenecks.set_index("service")["constraint"]
    assert "(organisation)" in found.index
    agree = [found[s] == planted[s] for s in planted.index]
    assert sum(agree) >= len(agree) - 1


def test_slo_table_reports_budget_per_service(tour: Tour) -> None:
    assert len(tour.slo) == CONFIG.n_services
    assert (tour.slo["budget left"] <= 1).all()
    assert tour.slo["page"].dtype == bool


def test_risky_changes_are_scored_and_explained(tour: Tour) -> None:
    risky = tour.risky_changes
    assert 0 < len(risky) <= 5
    assert risky["risk"].between(0, 1).all()
    assert risky["risk"].is_monotonic_decreasing
    assert risky["top reason"].str.len().gt(0).all()
    assert "default" in tour.risk_model or "home" in tour.risk_model
