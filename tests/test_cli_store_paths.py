"""The read commands end to end over a real store under VSMML_HOME filled by the pipeline."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.errors import DataError
from vsmml.pipeline.demo import ingest_synthetic
from vsmml.pipeline.queries.reads import delivery_flow, read_events, slo_samples
from vsmml.store import Store
from vsmml.synth import SynthConfig, generate

pytestmark = pytest.mark.slow  # demo store, every read path

CONFIG = SynthConfig.preset("tiny")


@pytest.fixture
def filled_home(vsmml_home: Path) -> Path:
    with Store.from_settings() as store:
        ingest_synthetic(store, CONFIG)
    return vsmml_home


def test_slo_samples_come_from_the_store_with_their_counts(filled_home: Path) -> None:
    samples = slo_samples()
    expected = generate(CONFIG).events
    expected = expected[expected["kind"] == "slo.sample"]
    assert len(samples) == len(expected)
    assert samples["timestamp"].dt.tz is not None
    assert (samples["good"] <= samples["total"]).all()
    one = slo_samples(services=[samples["service"].iloc[0]])
    assert one["service"].nunique() == 1


def test_slo_status_and_anomalies_read_the_store(filled_home: Path) -> None:
    runner = CliRunner()
    status = runner.invoke(app, ["slo", "status"])
    assert status.exit_code in (0, 3), status.output
    for name in generate(CONFIG).truth.services["service"]:
        assert name in status.output
    found = runner.invoke(app, ["anomalies", "--detector", "robust_zscore", "--top", "3"])
    assert found.exit_code == 0, found.output
    assert "rows score >=" in found.output


def test_bottlenecks_and_metrics_read_the_store(filled_home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["bottlenecks", "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.output))
    assert set(table["service"]) == set(generate(CONFIG).truth.services["service"])
    metrics = runner.invoke(app, ["metrics", "--format", "csv", "--freq", "all"])
    assert metrics.exit_code == 0, metrics.output
    assert "deployments" in metrics.output


def test_flow_for_an_unknown_service_names_the_known_ones(filled_home: Path) -> None:
    with pytest.raises(DataError, match="no deployed changes for 'nope'"):
        delivery_flow(service="nope")
    assert len(delivery_flow(service=str(generate(CONFIG).truth.services["service"][0])).changes)


def test_reading_an_empty_store_is_a_clear_error(vsmml_home: Path) -> None:
    with Store.from_settings():
        pass
    with pytest.raises(DataError, match="run `vsmml demo`"):
        read_events()
