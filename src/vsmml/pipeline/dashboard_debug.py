"""The debug page's data: one deployment or change and everything correlated with it."""

from __future__ import annotations

import json
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.canary import MetricSpec, judge
from vsmml.config import Settings
from vsmml.correlate import Correlation, correlate
from vsmml.correlate.extract import attr_number
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS, STR_DTYPE
from vsmml.features.change_features import change_features
from vsmml.graph.flow import ci_stage_runs
from vsmml.metrics.pipeline import pipeline_runs
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import load_risk_scorer
from vsmml.pipeline.tour import feature_columns
from vsmml.report.pages import Links, Page
from vsmml.report.pages.debug import DebugData, debug_page
from vsmml.store import Store

CANARY_AFTER: Final = pd.Timedelta(hours=1)
BASELINE_BEFORE: Final = pd.Timedelta(hours=6)
FLAKY_WINDOW: Final = pd.Timedelta(days=28)
EVENT_COLUMNS: Final = (
    "ts",
    "kind",
    "source",
    "change_id",
    "deploy_id",
    "incident_id",
    "stage",
    "status",
    "detail",
)
DETAIL_KEYS: Final = (
    "severity",
    "attempt",
    "duration_s",
    "queue_s",
    "passed",
    "failed",
    "skipped",
    "trigger",
    "rolled_back_deploy_id",
    "reviewer",
    "state",
)


def _ids(values: pd.Series) -> set[str]:
    return {str(v) for v in values.dropna().astype(str) if v not in ("", "nan")}


def _isin(col: pd.Series, ids: set[str]) -> np.ndarray:
    return col.astype(STR_DTYPE).isin(ids).fillna(False).to_numpy(bool)


def _detail(attrs: Any) -> str:
    try:
        parsed = json.loads(attrs) if isinstance(attrs, str) else {}
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    return ", ".join(f"{k}={parsed[k]}" for k in DETAIL_KEYS if k in parsed)


def _subject(
    corr: Correlation, change: str | None, deploy: str | None
) -> tuple[str, str, pd.DataFrame, pd.Series | None]:
    """(subject kind, id, the changes concerned, the deployment row or None)."""
    if change is not None and deploy is not None:
        raise DataError("give ?change= or ?deploy=, not both")
    deps = corr.deployments
    if change is None and deploy is None:
        prod = deps.loc[
            (
                (deps["env"].astype(STR_DTYPE) == "production") & ~deps["is_rollback"].astype(bool)
            ).to_numpy(bool)
        ]
        if prod.empty:
            raise DataError("no production deployment in the store")
        deploy = str(prod.sort_values("finished_at")["deploy_id"].iloc[-1])
    if deploy is not None:
        rows = deps.loc[(deps["deploy_id"].astype(STR_DTYPE) == deploy).to_numpy(bool)]
        if rows.empty:
            raise DataError(f"deploy: no deployment {deploy!r} in the store")
        dep = rows.iloc[0]
        ch = corr.changes
        mine = ch.loc[
            (_isin(ch["production_deploy_id"], {deploy}) | _isin(ch["staging_deploy_id"], {deploy}))
        ]
        return "deploy", deploy, mine, dep
    assert change is not None
    ch = corr.changes.loc[(corr.changes["change_id"].astype(STR_DTYPE) == change).to_numpy(bool)]
    if ch.empty:
        raise DataError(f"change: no change {change!r} in the store")
    dep_id = ch["production_deploy_id"].iloc[0]
    rows = deps.loc[_isin(deps["deploy_id"], {str(dep_id)})] if pd.notna(dep_id) else deps.iloc[0:0]
    return "change", change, ch, rows.iloc[0] if not rows.empty else None


def _events(
    events: pd.DataFrame, corr: Correlation, changes: pd.DataFrame, dep: pd.Series | None
) -> pd.DataFrame:
    deploys = _ids(changes["production_deploy_id"]) | _ids(changes["staging_deploy_id"])
    incidents: set[str] = set()
    if dep is not None:
        deploys.add(str(dep["deploy_id"]))
        inc = corr.incidents
        incidents = _ids(
            inc.loc[_isin(inc["deploy_id_linked"], {str(dep["deploy_id"])}), "incident_id"]
        )
        back = events.loc[(events["kind"].astype(STR_DTYPE) == "rollback").to_numpy(bool)]
        target = back["attrs"].astype(STR_DTYPE).str.contains(f'"{dep["deploy_id"]}"', regex=False)
        deploys |= _ids(back.loc[target.fillna(False).to_numpy(bool), "deploy_id"])
    keep = (
        _isin(events["change_id"], _ids(changes["change_id"]))
        | _isin(events["sha"], _ids(changes["sha"]))
        | _isin(events["pipeline_id"], _ids(changes["pipeline_id"]))
        | _isin(events["artifact_id"], _ids(changes["artifact_id"]))
        | _isin(events["deploy_id"], deploys)
        | _isin(events["incident_id"], incidents)
    )
    out = events.loc[keep].sort_values(["ts", "event_id"], kind="stable")
    out = out.assign(detail=[_detail(a) for a in out["attrs"]])
    shown: pd.DataFrame = out[list(EVENT_COLUMNS)].reset_index(drop=True)
    return shown


def _canary(store: Store, service: str, dep: pd.Series | None) -> tuple[dict[str, Any] | None, str]:
    if dep is None:
        return None, "The change has not reached production: nothing to compare."
    start, end = pd.Timestamp(dep["started_at"]), pd.Timestamp(dep["finished_at"])
    if pd.isna(start):
        start = end
    samples = store.read_slo_samples(since=start - BASELINE_BEFORE, services=[service])
    ratio = 1.0 - samples["good"] / samples["total"].where(samples["total"] > 0)
    ts = samples["timestamp"]
    before = ratio.loc[(ts < start).to_numpy(bool)].to_numpy(dtype=float)
    after = ratio.loc[((ts > end) & (ts <= end + CANARY_AFTER)).to_numpy(bool)].to_numpy(
        dtype=float
    )
    note = (
        "No canary traffic is recorded, so the hour after the deploy is judged against the six "
        "hours before it: Kayenta's Mann-Whitney test on the 5-minute SLI error ratio "
        f"({len(after)} samples after, {len(before)} before)."
    )
    if len(before) == 0 and len(after) == 0:
        return None, "No slo.sample data around this deployment."
    spec = MetricSpec("error_ratio", direction="increase", critical=True, nan_strategy="replace")
    result = judge({"error_ratio": after}, {"error_ratio": before}, [spec]).to_dict()
    return result, note


def _tests(events: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    shas = _ids(changes["sha"])
    mine = events.loc[_isin(events["sha"], shas)]
    runs = pipeline_runs(mine)
    tests = mine.loc[(mine["kind"].astype(STR_DTYPE) == "test.finished").to_numpy(bool)]
    t = tests.assign(
        f=attr_number(tests, "failed").fillna(0.0), p=attr_number(tests, "passed").fillna(0.0)
    )
    rows = []
    by_sha = changes.set_index(changes["sha"].astype(str))["change_id"]
    for sha in sorted(shas):
        r = runs.loc[runs["sha"].astype(str) == sha]
        tt = t.loc[t["sha"].astype(str) == sha]
        rows.append(
            (
                sha,
                str(by_sha.get(sha, "")),
                len(r),
                int((~r["success"]).sum()),
                int(tt["f"].sum()),
                int(tt["p"].sum()),
            )
        )
    return pd.DataFrame(
        rows, columns=["sha", "change_id", "runs", "failed_runs", "tests_failed", "tests_passed"]
    )


def _flaky(events: pd.DataFrame, service: str, until: pd.Timestamp) -> pd.DataFrame:
    window = events.loc[
        (
            (events["service"].astype(STR_DTYPE) == service)
            & (events["ts"] <= until)
            & (events["ts"] > until - FLAKY_WINDOW)
        ).to_numpy(bool)
    ]
    runs = ci_stage_runs(window).sort_values("ts", kind="stable")
    if runs.empty:
        return pd.DataFrame(columns=["stage", "runs", "flaky_failures", "share", "last_sha"])
    ok_at = runs["ts"].where(~runs["failed"])
    last_ok = ok_at.groupby([runs["sha"], runs["stage"]], sort=False).transform("max")
    runs = runs.assign(flaky=runs["failed"] & last_ok.notna() & (last_ok > runs["ts"]))
    rows = []
    for stage, g in runs.groupby("stage", sort=True):
        f = g.loc[g["flaky"]]
        if f.empty:
            continue
        rows.append((str(stage), len(g), len(f), len(f) / len(g), str(f["sha"].iloc[-1])))
    out = pd.DataFrame(rows, columns=["stage", "runs", "flaky_failures", "share", "last_sha"])
    return out.sort_values("flaky_failures", ascending=False, kind="stable").reset_index(drop=True)


def _steps(events: pd.DataFrame, changes: pd.DataFrame, dep: pd.Series | None) -> pd.DataFrame:
    chosen = changes
    if dep is not None and pd.notna(dep.get("artifact_id")):
        built = changes.loc[_isin(changes["artifact_id"], {str(dep["artifact_id"])})]
        chosen = built if not built.empty else changes
    pipelines = _ids(chosen["pipeline_id"])
    runs = ci_stage_runs(events.loc[_isin(events["pipeline_id"], pipelines)])
    runs = runs.sort_values("ts", kind="stable")
    attempt = runs.groupby(["pipeline_id", "stage"], sort=False).cumcount() + 1
    step = [
        s if a == 1 else f"{s} (attempt {a})" for s, a in zip(runs["stage"], attempt, strict=True)
    ]
    return pd.DataFrame(
        {
            "step": step,
            "queue_min": runs["queue_s"].to_numpy() / 60,
            "run_min": runs["duration_s"].to_numpy() / 60,
            "failed": runs["failed"].to_numpy(),
        }
    )


def _scored(
    corr: Correlation, events: pd.DataFrame, changes: pd.DataFrame, scorer: RiskScorer
) -> pd.DataFrame:
    feats = change_features(corr.changes, events, corr.deployments)
    rows = feats.loc[_isin(feats["change_id"], _ids(changes["change_id"]))].reset_index(drop=True)
    cols = ["change_id", "sha", "risk", "reason", "failed"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    scores = scorer.score(feature_columns(rows, scorer), top=1)
    sha = changes.set_index("change_id")["sha"]
    return pd.DataFrame(
        {
            "change_id": rows["change_id"].to_numpy(),
            "sha": rows["change_id"].map(sha).to_numpy(),
            "risk": [s.probability for s in scores],
            "reason": [s.reasons[0].text if s.reasons else "" for s in scores],
            "failed": rows["failed"].fillna(False).astype(bool).to_numpy(),
        }
    )[cols]


def debug(
    store: Store,
    *,
    change: str | None = None,
    deploy: str | None = None,
    settings: Settings | None = None,
    scorer: RiskScorer | None = None,
) -> Page:
    """The debug page of `deploy` or `change` (neither: the latest production deployment)."""
    every = store.read_events(kinds=DELIVERY_KINDS)
    if every.empty:
        raise DataError("store: no events; run `vsmml demo` or `vsmml ingest` first")
    corr = correlate(every)
    kind, subject, changes, dep = _subject(corr, change, deploy)
    service = str(dep["service"]) if dep is not None else str(changes["service"].iloc[0])
    events = every.loc[(every["service"].astype(STR_DTYPE) == service).to_numpy(bool)]
    if scorer is None:
        scorer = load_risk_scorer(settings=settings)[0]
    when = pd.Timestamp(dep["finished_at"]) if dep is not None else events["ts"].max()
    summary: dict[str, Any] = {
        "service": service,
        "environment": None if dep is None else str(dep["env"]),
        "status": None if dep is None else str(dep["status"]),
        "finished": None
        if dep is None
        else f"{pd.Timestamp(dep['finished_at']):%Y-%m-%d %H:%M} UTC",
        "commit": None if dep is None else str(dep["sha"]),
        "changes shipped": len(changes),
        "rolled back": None if dep is None else bool(dep["rolled_back"]),
        "incident": None if dep is None or pd.isna(dep["incident_id"]) else str(dep["incident_id"]),
        "deployment": None if dep is None else str(dep["deploy_id"]),
    }
    canary, note = _canary(store, service, dep)
    data = DebugData(
        subject=kind,
        subject_id=subject,
        service=service,
        summary=summary,
        changes=_scored(corr, events, changes, scorer),
        events=_events(events, corr, changes, dep),
        canary=canary,
        canary_note=note,
        tests=_tests(events, changes),
        flaky=_flaky(events, service, when),
        steps=_steps(events, changes, dep),
    )
    return debug_page(data, Links())
