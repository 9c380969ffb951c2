"""Burn and bottleneck training jobs on a real MLflow sqlite backend: register, export, promote.

One MLflow home is shared by the module (creating the sqlite schema costs seconds). Each job
trains twice on the same small synthetic organisation: v1 becomes champion, the identical v2
ties on the same held-out data and is not promoted. Then `vsmml train all` trains all three
models through the CLI (v3 of burn and bottleneck, v1 of risk).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.models.artifacts import CHAMPION_FILE, METADATA_FILE
from vsmml.tracking import TrackResult, champion_version

pytestmark = pytest.mark.slow

SMALL_BURN = {"n_services": 4, "n_teams": 2, "days": 56}
SMALL_BOTTLENECK = {"n_services": 4, "n_teams": 2, "days": 84}
FAST_BURN = {"n_estimators": 30, "min_data_in_leaf": 50, "n_jobs": 1}
FAST_BOTTLENECK = {"n_estimators": 20, "quantile_estimators": 20, "n_jobs": 1}


@dataclass
class Jobs:
    settings: Settings
    burn: list[TrackResult]
    burn_table: pd.DataFrame
    bottleneck: list[TrackResult]
    bottleneck_table: pd.DataFrame
    cli_all: Any
    cli_data: Any


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    import vsmml.models.burn
    import vsmml.models.risk
    import vsmml.pipeline.training.bottleneck as tjb
    import vsmml.pipeline.training.burn as tj
    from vsmml.models.bottleneck import BottleneckModel
    from vsmml.models.burn import BurnRiskModel
    from vsmml.models.risk import ChangeRiskModel

    home = tmp_path_factory.mktemp("mlflow-jobs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VSMML_HOME", str(home))
        get_settings.cache_clear()
        settings = get_settings()
        burn_data = tj.burn_data_synthetic(7, **SMALL_BURN)
        burn_runs = [
            tj.train_burn(
                burn_data, settings=settings, model_factory=lambda: BurnRiskModel(**FAST_BURN)
            )
            for _ in range(2)
        ]
        bn_data = tjb.bottleneck_data_synthetic(7, **SMALL_BOTTLENECK)
        stages = list(bn_data.stages)
        bn_runs = [
            tjb.train_bottleneck(
                bn_data,
                settings=settings,
                model_factory=lambda: BottleneckModel(stages=stages, **FAST_BOTTLENECK),
            )
            for _ in range(2)
        ]

        class FastBurn(BurnRiskModel):  # the CLI builds BurnRiskModel(random_state=seed)
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**{**kwargs, **FAST_BURN})

        class FastRisk(ChangeRiskModel):
            def __init__(self) -> None:
                super().__init__(n_estimators=20, num_leaves=7, blend_weight=0.5, n_jobs=1)

        mp.setattr(vsmml.models.burn, "BurnRiskModel", FastBurn)
        mp.setattr(vsmml.models.risk, "ChangeRiskModel", FastRisk)
        mp.setitem(tj.BURN_SYNTH, "n_services", 4)
        mp.setitem(tj.BURN_SYNTH, "n_teams", 2)
        mp.setitem(tjb.BOTTLENECK_SYNTH, "n_services", 4)
        mp.setitem(tjb.BOTTLENECK_SYNTH, "n_teams", 2)
        cli_all = CliRunner().invoke(app, ["train", "all", "--days", "84", "--seed", "7"])
        cli_data = CliRunner().invoke(app, ["train", "burn", "--data", str(home / "x.csv")])
        yield Jobs(
            settings,
            [r for r, _ in burn_runs],
            burn_runs[0][1],
            [r for r, _ in bn_runs],
            bn_runs[0][1],
            cli_all,
            cli_data,
        )
    get_settings.cache_clear()


@pytest.mark.parametrize("name", ["burn", "bottleneck"])
def test_first_run_is_champion_and_identical_rerun_is_not_promoted(jobs: Jobs, name: str) -> None:
    first, second = getattr(jobs, name)
    assert (first.version, first.promoted, first.previous_version) == (1, True, None)
    assert (second.version, second.promoted, second.previous_version) == (2, False, 1)
    assert second.metric == pytest.approx(first.metric)
    assert second.previous_metric == pytest.approx(first.metric)
    assert "does not beat champion v1" in second.reason
    assert "same held-out data" in second.reason


@pytest.mark.parametrize(
    ("name", "files", "primary", "baseline"),
    [
        ("burn", {"model.txt", "model.json"}, "f1", "rule_f1"),
        ("bottleneck", {"model.json"}, "top1", "baseline_top1"),
    ],
)
def test_export_holds_model_files_and_metadata(
    jobs: Jobs, name: str, files: set[str], primary: str, baseline: str
) -> None:
    first = getattr(jobs, name)[0]
    assert first.export_dir == jobs.settings.models_dir / name / "1"
    assert files | {METADATA_FILE} <= {p.name for p in first.export_dir.iterdir()}
    meta = json.loads((first.export_dir / METADATA_FILE).read_text())
    assert meta["name"] == name and meta["version"] == 1 and meta["promoted"] is True
    assert meta["primary_metric"] == primary
    assert meta["metrics"][primary] == pytest.approx(first.metric)
    assert 0.0 <= meta["metrics"][baseline] <= 1.0
    assert len(meta["data_hash"]) == 64
    assert meta["training_period"][1] < meta["test_period"][0]
    pointer = json.loads((jobs.settings.models_dir / name / CHAMPION_FILE).read_text())
    assert pointer["version"] == champion_version(name, jobs.settings)


def test_burn_evaluation_against_the_page_rule(jobs: Jobs) -> None:
    table = jobs.burn_table
    assert list(table["detector"]) == ["BurnRiskModel", "page rule 1h/5m at 14.4x"]
    assert {"precision", "recall", "median_lead_min", "f1"} <= set(table.columns)
    meta = json.loads((jobs.burn[0].export_dir / METADATA_FILE).read_text())
    assert meta["training_period"][1] < meta["test_period"][0]
    assert meta["events_test"] > 0 and 0.0 < meta["threshold"] < 1.0
    assert meta["events_threshold_oof"] > 0  # chosen on pooled out-of-fold predictions
    assert "run_z" in meta["feature_names"]  # the elevated-stretch features are used
    assert meta["params"]["threshold"] == meta["threshold"]  # saved with the model
    assert "anomaly_score" in meta["feature_names"]
    assert "last_deploy_risk" not in meta["feature_names"]


def test_bottleneck_evaluation_against_the_trailing_median(jobs: Jobs) -> None:
    table = jobs.bottleneck_table
    assert table.iloc[0]["periods"] == "all"
    assert {"model", "baseline_median"} <= set(table.columns)
    from vsmml.tracking import client

    run = client(jobs.settings).get_run(jobs.bottleneck[0].run_id)
    metrics = run.data.metrics
    assert metrics["top1"] == pytest.approx(jobs.bottleneck[0].metric)
    assert metrics["pinball_q50"] > 0 and metrics["baseline_pinball_q85"] > 0
    artifacts = {
        a.path for a in client(jobs.settings).list_artifacts(run.info.run_id, "evaluation")
    }
    assert {"evaluation/accuracy.csv", "evaluation/pinball.csv"} <= artifacts


def test_cli_train_all_trains_every_model(jobs: Jobs) -> None:
    out = jobs.cli_all.output
    assert jobs.cli_all.exit_code == 0, out
    assert "registered vsmml-risk v1" in out
    assert "registered vsmml-burn v3" in out
    assert "registered vsmml-bottleneck v3" in out
    assert "synthetic organisation (seed 7, days=84, detector=default" in out


def test_cli_refuses_data_for_synthetic_only_models(jobs: Jobs) -> None:
    assert jobs.cli_data.exit_code == 2
    assert "--data trains risk only" in jobs.cli_data.output


def test_too_few_weeks_or_pages_is_a_data_error(jobs: Jobs) -> None:
    import vsmml.pipeline.training.bottleneck as tjb
    import vsmml.pipeline.training.burn as tj

    bn = tjb.bottleneck_data_synthetic(7, n_services=2, n_teams=1, days=35)
    with pytest.raises(DataError, match="at least 8 weeks"):
        tjb.train_bottleneck(bn, settings=jobs.settings)
    burn = tj.burn_data_synthetic(7, n_services=1, n_teams=1, days=7, detector=None)
    with pytest.raises(DataError, match="too few pages"):
        tj.train_burn(burn, settings=jobs.settings)


def test_champion_that_cannot_read_the_features_scores_nan(
    jobs: Jobs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A champion saved with other features loses to any finite new model."""
    import vsmml.pipeline.training.burn as tj

    data = tj.burn_data_synthetic(7, **SMALL_BURN)
    renamed = data.features.rename(columns={"anomaly_score": "other"})
    monkeypatch.setattr(
        tj,
        "BURN_FEATURE_COLUMNS",
        tuple(c for c in tj.BURN_FEATURE_COLUMNS if c != "anomaly_score"),
    )
    from vsmml.models.burn import BurnRiskModel

    result, _ = tj.train_burn(
        replace(data, features=renamed),
        settings=jobs.settings,
        model_factory=lambda: BurnRiskModel(**FAST_BURN),
    )
    assert result.previous_metric is not None and result.previous_metric != result.previous_metric
    assert result.promoted
