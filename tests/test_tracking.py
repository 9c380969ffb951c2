"""MLflow tracking on a real sqlite backend: registration, champion promotion, export layout.

One MLflow home is shared by the module (creating the sqlite schema costs seconds): the
fixture records v1 (first: champion), v2 (worse: not promoted), v3 (better: promoted), then
trains v4 through `train_risk`, v5 through `vsmml train risk --data` and v6 on synthetic data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from model_fixtures import jit_frame, small_risk_model
from vsmml.cli import app
from vsmml.config import Settings, get_settings
from vsmml.models.artifacts import CHAMPION_FILE, METADATA_FILE
from vsmml.pipeline.models import locate
from vsmml.pipeline.training.common import data_hash
from vsmml.pipeline.training.risk import RiskData, risk_data_file, train_risk
from vsmml.tracking import (
    TrackingError,
    TrackResult,
    TrainedModel,
    champion_version,
    registered_name,
    track,
)

pytestmark = pytest.mark.slow


@dataclass
class Tracked:
    settings: Settings
    results: list[TrackResult]
    table: pd.DataFrame
    cli_output: str
    cli_exit: int
    cli_all: Any


def _trained(auc: float, model: Any) -> TrainedModel:
    return TrainedModel(
        name="risk",
        save=model.save,
        params={"num_leaves": 7, "grid": {"a": [1, 2]}},
        metrics={"auc": auc, "brier": 0.2, "recall@20%": 0.4, "ece": float("nan")},
        primary_metric="auc",
        tables={"evaluation": pd.DataFrame({"model": ["x"], "auc": [auc]})},
        metadata={"data_hash": "abc", "features": ["la"], "training_period": ["a", "b"]},
    )


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracked]:
    home = tmp_path_factory.mktemp("mlflow-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VSMML_HOME", str(home))
        get_settings.cache_clear()
        settings = get_settings()
        model, _, _ = small_risk_model()
        results = [track(_trained(auc, model), settings=settings) for auc in (0.70, 0.60, 0.80)]
        x, y = jit_frame(900, seed=5, signal=2.0)
        data = RiskData(
            x.assign(bug=y), "fixture", tuple(c for c in x.columns if c != "committed_at")
        )
        fast = {"n_estimators": 20, "num_leaves": 7, "blend_weight": 0.5, "n_jobs": 1}
        from vsmml.models.risk import ChangeRiskModel

        result, table = train_risk(
            data, settings=settings, model_factory=lambda: ChangeRiskModel(**fast)
        )
        results.append(result)
        csv = home / "changes.csv"
        x.assign(bug=y).to_csv(csv, index=False)
        import vsmml.models.risk

        class FastRisk(ChangeRiskModel):  # the CLI builds ChangeRiskModel(); keep the test quick
            def __init__(self) -> None:
                super().__init__(**fast)

        mp.setattr(vsmml.models.risk, "ChangeRiskModel", FastRisk)
        cli = CliRunner().invoke(app, ["train", "risk", "--data", str(csv), "--format", "vsmml"])
        every = CliRunner().invoke(app, ["train", "risk", "--days", "21", "--seed", "3"])
        yield Tracked(settings, results, table, cli.output, cli.exit_code, every)
    get_settings.cache_clear()


def test_first_version_is_registered_champion(tracked: Tracked) -> None:
    first = tracked.results[0]
    assert (first.version, first.promoted, first.previous_version) == (1, True, None)
    assert first.reason == "first version of this model"


def test_worse_model_is_not_promoted_and_better_one_is(tracked: Tracked) -> None:
    _, worse, better = tracked.results[:3]
    assert (worse.version, worse.promoted, worse.previous_version) == (2, False, 1)
    assert worse.previous_metric == pytest.approx(0.70)
    assert "does not beat champion v1" in worse.reason
    assert (better.version, better.promoted, better.previous_version) == (3, True, 1)


def test_registry_alias_and_run_contents(tracked: Tracked) -> None:
    from vsmml.tracking import client

    c = client(tracked.settings)
    champion = champion_version("risk", tracked.settings)
    exports = (tracked.settings.models_dir / "risk").glob(f"*/{METADATA_FILE}")
    metas = [json.loads(p.read_text()) for p in exports]
    assert sorted(m["version"] for m in metas) == [1, 2, 3, 4, 5, 6]
    last_promoted = max(m["version"] for m in metas if m["promoted"])
    assert champion == last_promoted
    run = c.get_run(tracked.results[2].run_id)
    assert run.data.metrics["auc"] == pytest.approx(0.80)
    assert "recall_at_20pct" in run.data.metrics and "ece" not in run.data.metrics
    assert json.loads(run.data.params["grid"]) == {"a": [1, 2]}
    paths = {a.path for a in c.list_artifacts(run.info.run_id, "evaluation")}
    assert paths == {"evaluation/evaluation.csv", "evaluation/metrics.json"}
    model_files = {a.path for a in c.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.txt", "model/model.json"} <= model_files
    exp = c.get_experiment_by_name(registered_name("risk"))
    assert exp is not None
    assert exp.artifact_location.startswith((tracked.settings.home / "mlruns").resolve().as_uri())


def test_export_layout_and_metadata(tracked: Tracked) -> None:
    folder = tracked.settings.models_dir / "risk"
    for r in tracked.results:
        assert r.export_dir == folder / str(r.version)
        assert {"model.txt", "model.json", METADATA_FILE} <= {
            p.name for p in r.export_dir.iterdir()
        }
    meta = json.loads((folder / "2" / METADATA_FILE).read_text())
    assert meta["version"] == 2 and meta["promoted"] is False
    assert meta["data_hash"] == "abc" and meta["metrics"]["ece"] is None
    assert meta["run_id"] == tracked.results[1].run_id
    assert meta["git_commit"] is None or len(meta["git_commit"]) >= 40
    pointer = json.loads((folder / CHAMPION_FILE).read_text())
    assert pointer["version"] == champion_version("risk", tracked.settings)
    loc = locate("risk", settings=tracked.settings)
    assert (loc.source, loc.version) == ("home", str(pointer["version"]))


def test_train_risk_compares_on_the_same_held_out_data(tracked: Tracked) -> None:
    trained = tracked.results[3]
    assert trained.version == 4
    assert "same held-out data" in trained.reason
    assert trained.previous_version == 3
    assert trained.promoted == (trained.metric > (trained.previous_metric or 0))
    assert set(tracked.table["model"]) == {"vsmml-risk", "lr_jit", "lapredict"}
    meta = json.loads((trained.export_dir / METADATA_FILE).read_text())
    assert meta["n_train"] == 720 and meta["n_test"] == 180
    assert meta["threshold"] == 0.5 and len(meta["data_hash"]) == 64
    assert meta["training_period"][0].startswith("2024-01-01")
    assert meta["metrics"]["auc"] == pytest.approx(trained.metric)
    assert meta["metrics"]["lr_jit_auc"] > 0.5


def test_cli_train_risk_on_a_file(tracked: Tracked) -> None:
    assert tracked.cli_exit == 0, tracked.cli_output
    assert "registered vsmml-risk v5" in tracked.cli_output
    assert "lapredict" in tracked.cli_output


def test_primary_metric_must_be_logged(tracked: Tracked) -> None:
    bad = TrainedModel("risk", lambda p: None, {}, {"auc": 0.5}, primary_metric="popt")
    with pytest.raises(TrackingError, match="primary_metric 'popt'"):
        track(bad, settings=tracked.settings)


def test_data_hash_is_stable_and_sensitive() -> None:
    x, y = jit_frame(50, seed=1)
    a = data_hash(x.assign(bug=y))
    assert a == data_hash(x.assign(bug=y))
    assert a != data_hash(x.assign(bug=1 - y))


def test_risk_data_file_reads_vsmml_format(tmp_path: Path) -> None:
    x, y = jit_frame(60, seed=2)
    path = tmp_path / "jit.csv"
    x.assign(bug=y).to_csv(path, index=False)
    data = risk_data_file(path, "vsmml")
    assert len(data.frame) == 60 and data.source == "jit.csv (vsmml)"


def test_cli_train_risk_on_synthetic(tracked: Tracked) -> None:
    """`vsmml train all` (risk, burn, bottleneck) is covered in test_training_jobs.py."""
    out = tracked.cli_all.output
    assert tracked.cli_all.exit_code == 0, out
    assert "synthetic organisation (seed 3, days=21)" in out
    assert "registered vsmml-risk v6" in out


def test_cli_train_unknown_model_exits_2(vsmml_home: Path) -> None:
    result = CliRunner().invoke(app, ["train", "nonsense"])
    assert result.exit_code == 2
    assert "must be one of" in result.output


def test_log_experiment_records_a_run_without_registering(tracked: Tracked) -> None:
    from vsmml.pipeline.experiments import log_experiment, runs_table
    from vsmml.tracking import client

    c = client(tracked.settings)
    versions = len(c.search_model_versions(f"name='{registered_name('risk')}'"))
    champion = champion_version("risk", tracked.settings)
    before = runs_table("risk", tracked.settings)
    run_id = log_experiment(
        "risk",
        params={"features": "jit only", "num_leaves": 7},
        metrics={"auc": 0.71, "ece": float("nan")},
        tables={"by_project": pd.DataFrame({"project": ["a"], "auc": [0.71]})},
        run_name="jit-only",
        settings=tracked.settings,
    )
    after = runs_table("risk", tracked.settings)
    assert len(after) == len(before) + 1
    newest = after.iloc[0]
    assert newest["run_id"] == run_id and newest["run_name"] == "jit-only"
    assert newest["metrics.auc"] == pytest.approx(0.71)
    assert newest["params.features"] == "jit only"
    assert str(newest["start_time"].tz) == "UTC"
    paths = {a.path for a in c.list_artifacts(run_id, "evaluation")}
    assert paths == {"evaluation/by_project.csv", "evaluation/metrics.json"}
    assert not c.list_artifacts(run_id, "model")  # no model files were given
    assert len(c.search_model_versions(f"name='{registered_name('risk')}'")) == versions
    assert champion_version("risk", tracked.settings) == champion
    assert runs_table("never-logged", tracked.settings).empty
