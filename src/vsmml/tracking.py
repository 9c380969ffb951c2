"""MLflow tracking and registry under `VSMML_HOME`, champion promotion, and model export.

One experiment and one registered model per model name (``vsmml-<name>``), kept in a sqlite
file (`Settings.mlflow_uri`) with artifacts under ``$VSMML_HOME/mlruns``: no server, works
offline. `track` logs a trained model's parameters, held-out metrics and evaluation tables
(CSV/JSON artifacts; the model files themselves as plain artifacts, no conda environments),
registers a new version, moves the ``champion`` alias only when the new version beats the
current champion on the held-out metric, and exports the files to
``$VSMML_HOME/models/<name>/<version>/`` with ``metadata.json``. The exported champion is
named by ``$VSMML_HOME/models/<name>/champion.json``, which `vsmml.pipeline.models` reads so the
scoring path never imports mlflow. mlflow is imported inside functions only (it costs seconds).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from vsmml.config import Settings, get_settings
from vsmml.errors import VsmmlError
from vsmml.models.artifacts import CHAMPION_FILE, METADATA_FILE

if TYPE_CHECKING:
    from mlflow import MlflowClient

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

CHAMPION_ALIAS: Final[str] = "champion"
_MAX_PARAM_CHARS: Final[int] = 6000


class TrackingError(VsmmlError, RuntimeError):
    """MLflow could not record, register or promote a model, or an export is unusable."""


class Table(Protocol):
    """Anything written as a CSV artifact (a pandas DataFrame)."""

    def to_csv(self, path_or_buf: Any, *, index: bool = ...) -> Any:
        """Write the table as CSV."""


@dataclass
class TrainedModel:
    """What a trainer hands to `track`: how to save the model and how well it did.

    Args:
        name: model name (``risk``, ``burn``, ``bottleneck``); names the experiment, the
            registered model (``vsmml-<name>``) and the export folder.
        save: writes the model's files into the directory it is given.
        params: hyper-parameters and training settings, logged as MLflow params.
        metrics: held-out metrics, logged as MLflow metrics.
        primary_metric: the key of `metrics` that decides promotion.
        greater_is_better: direction of `primary_metric`.
        tables: evaluation tables, logged as ``evaluation/<key>.csv``.
        metadata: provenance for ``metadata.json`` (data hash, features, training period,
            threshold ...); `track` adds version, run id, metrics, git commit and times.
    """

    name: str
    save: Callable[[Path], None]
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    primary_metric: str
    greater_is_better: bool = True
    tables: Mapping[str, Table] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


ChampionScorer = Callable[[Path], float]
"""Given the current champion's export folder, its `primary_metric` on the new held-out data."""


@dataclass(frozen=True)
class TrackResult:
    """Outcome of `track`: the new version, whether it became champion, and why."""

    name: str
    version: int
    run_id: str
    metric: float
    promoted: bool
    previous_version: int | None
    previous_metric: float | None
    export_dir: Path
    reason: str


def registered_name(name: str) -> str:
    """The experiment and registered-model name of model `name`."""
    return f"vsmml-{name}"


def client(settings: Settings | None = None) -> MlflowClient:
    """An MlflowClient on the sqlite backend under the home folder (created on first use)."""
    s = settings or get_settings()
    s.home.mkdir(parents=True, exist_ok=True)
    import mlflow
    from mlflow import MlflowClient

    # MLflow announces its sqlite schema migrations at INFO on first use; keep CLI output clean.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(s.mlflow_uri)
    mlflow.set_registry_uri(s.mlflow_uri)
    return MlflowClient(tracking_uri=s.mlflow_uri, registry_uri=s.mlflow_uri)


def _experiment_id(c: MlflowClient, name: str, settings: Settings) -> str:
    exp = c.get_experiment_by_name(registered_name(name))
    if exp is not None:
        return str(exp.experiment_id)
    artifacts = (settings.home / "mlruns" / name).resolve()
    return str(c.create_experiment(registered_name(name), artifact_location=artifacts.as_uri()))


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the repository holding `path` (default: this package), ``+dirty`` if
    tracked files changed; None outside a git checkout."""
    where = path or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    """MLflow params are strings of bounded length; nested values become JSON."""
    out = {}
    for k, v in params.items():
        text = v if isinstance(v, str) else json.dumps(v, default=str, sort_keys=True)
        out[str(k)] = text[:_MAX_PARAM_CHARS]
    return out


def _finite(metrics: Mapping[str, float]) -> dict[str, float]:
    """MLflow metric keys allow a restricted alphabet; NaN metrics are kept out."""
    out = {}
    for k, v in metrics.items():
        key = str(k).replace("%", "pct").replace("@", "_at_")
        if v is not None and math.isfinite(float(v)):
            out[key] = float(v)
    return out


def _champion(c: MlflowClient, name: str) -> tuple[int, float | None] | None:
    """(version, recorded primary metric) of the current champion, None if there is none."""
    from mlflow.exceptions import MlflowException

    try:
        mv = c.get_model_version_by_alias(registered_name(name), CHAMPION_ALIAS)
    except MlflowException:
        return None
    recorded = (mv.tags or {}).get("primary_metric_value")
    return int(mv.version), (float(recorded) if recorded is not None else None)


def _beats(new: float, old: float | None, greater_is_better: bool) -> bool:
    if old is None or not math.isfinite(old):
        return math.isfinite(new)
    return new > old if greater_is_better else new < old


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (rename), so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str, sort_keys=True) + "\n", "utf-8")
    tmp.replace(path)


def export_dir(name: str, version: int, settings: Settings | None = None) -> Path:
    """``$VSMML_HOME/models/<name>/<version>``."""
    return (settings or get_settings()).models_dir / name / str(version)


def log_run(
    c: MlflowClient,
    model: TrainedModel,
    staging: Path,
    settings: Settings,
    run_name: str | None = None,
) -> tuple[str, str]:
    """Log params, metrics, tables and model files (if `staging/model` holds any) in one run of
    the model's experiment; return (run id, artifact uri). Used by `track` and
    `vsmml.pipeline.experiments`."""
    tables = staging / "evaluation"
    tables.mkdir()
    for key, table in model.tables.items():
        table.to_csv(tables / f"{key}.csv", index=False)
    _write_json(tables / "metrics.json", dict(model.metrics))
    run = c.create_run(
        _experiment_id(c, model.name, settings), run_name=run_name or f"{model.name}-train"
    )
    run_id = run.info.run_id
    try:
        from mlflow.entities import Metric, Param, RunTag

        now = int(datetime.now(UTC).timestamp() * 1000)
        c.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in _finite(model.metrics).items()],
            params=[Param(k, v) for k, v in _params(model.params).items()],
            tags=[RunTag("vsmml.model", model.name)],
        )
        c.log_artifacts(run_id, str(tables), "evaluation")
        if any((staging / "model").iterdir()):
            c.log_artifacts(run_id, str(staging / "model"), "model")
    except Exception:
        c.set_terminated(run_id, "FAILED")
        raise
    c.set_terminated(run_id, "FINISHED")
    return run_id, str(run.info.artifact_uri)


def track(
    model: TrainedModel,
    *,
    settings: Settings | None = None,
    champion_scorer: ChampionScorer | None = None,
) -> TrackResult:
    """Log, register, export and (if it beats the champion) promote a trained model.

    The champion is compared on the new held-out data when `champion_scorer` is given (it
    scores the champion's export folder), else on the champion's recorded metric. Ties keep
    the champion. The first version of a model always becomes champion.
    """
    s = settings or get_settings()
    if model.primary_metric not in model.metrics:
        raise TrackingError(
            f"primary_metric {model.primary_metric!r} is not among the metrics "
            f"{sorted(model.metrics)}"
        )
    new_metric = float(model.metrics[model.primary_metric])
    c = client(s)
    reg = registered_name(model.name)
    with tempfile.TemporaryDirectory(prefix="vsmml-track-") as tmp:
        staging = Path(tmp)
        (staging / "model").mkdir()
        model.save(staging / "model")
        run_id, artifact_uri = log_run(c, model, staging, s)
        from mlflow.exceptions import MlflowException

        try:
            c.get_registered_model(reg)
        except MlflowException:
            c.create_registered_model(reg)
        champion = _champion(c, model.name)
        mv = c.create_model_version(reg, source=f"{artifact_uri}/model", run_id=run_id)
        version = int(mv.version)
        previous_version, previous_metric = champion if champion else (None, None)
        basis = "recorded"
        if champion is not None and champion_scorer is not None:
            old_dir = export_dir(model.name, champion[0], s)
            if old_dir.is_dir():
                previous_metric = float(champion_scorer(old_dir))
                basis = "same held-out data"
        promoted = _beats(new_metric, previous_metric, model.greater_is_better)
        c.set_model_version_tag(reg, str(version), "primary_metric", model.primary_metric)
        c.set_model_version_tag(reg, str(version), "primary_metric_value", repr(new_metric))
        if champion is None:
            reason = "first version of this model"
        else:
            verdict = "beats" if promoted else "does not beat"
            old = "unknown" if previous_metric is None else f"{previous_metric:.4f}"
            reason = (
                f"{model.primary_metric} {new_metric:.4f} {verdict} champion "
                f"v{previous_version} ({old}, {basis})"
            )
        target = export_dir(model.name, version, s)
        _export(model, staging / "model", target, version, run_id, promoted, reason)
        if promoted:
            c.set_registered_model_alias(reg, CHAMPION_ALIAS, str(version))
            _write_json(
                target.parent / CHAMPION_FILE,
                {"version": version, "run_id": run_id, model.primary_metric: new_metric},
            )
    return TrackResult(
        name=model.name,
        version=version,
        run_id=run_id,
        metric=new_metric,
        promoted=promoted,
        previous_version=previous_version,
        previous_metric=previous_metric,
        export_dir=target,
        reason=reason,
    )


def _export(
    model: TrainedModel,
    files: Path,
    target: Path,
    version: int,
    run_id: str,
    promoted: bool,
    reason: str,
) -> None:
    """Copy the model files to `target` and write its ``metadata.json``."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(files, target)
    meta = {
        **dict(model.metadata),
        "name": model.name,
        "version": version,
        "run_id": run_id,
        "registered_model": registered_name(model.name),
        "metrics": {k: (v if math.isfinite(float(v)) else None) for k, v in model.metrics.items()},
        "primary_metric": model.primary_metric,
        "params": dict(model.params),
        "git_commit": model.metadata.get("git_commit") or git_commit(),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promoted": promoted,
        "promotion_reason": reason,
    }
    _write_json(target / METADATA_FILE, meta)


def champion_version(name: str, settings: Settings | None = None) -> int | None:
    """The registry's champion version of model `name` (imports mlflow; not for hot paths)."""
    found = _champion(client(settings), name)
    return found[0] if found else None
