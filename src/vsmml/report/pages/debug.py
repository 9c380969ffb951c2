"""The debug dashboard: one deployment or change, its events in order, the canary comparison
against the baseline, test failures per commit and the flaky tests, pipeline step durations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table
from vsmml.report.pages.model import Links, Page


@dataclass(frozen=True)
class DebugData:
    """One deployment (and the changes it shipped) or one change.

    Attributes:
        subject: ``deploy`` or ``change``; subject_id: its id.
        service: the service it belongs to.
        summary: facts for the header (status, sha, env, changes, outcome ...).
        changes: the changes shipped: change_id, sha, risk, reason, failed.
        events: every related event in order: ts, kind, source, id columns, status, detail.
        canary: the judgement (`vsmml.canary.CanaryResult.to_dict`) or None, and `canary_note`
            how the canary and baseline were chosen.
        tests: per commit: sha, change_id, runs, failed_runs, tests_failed, tests_passed.
        flaky: per stage (test suite): runs, flaky_failures, share, last_sha (28 days).
        steps: per pipeline step of the shipped changes: step, queue_min, run_min, failed.
    """

    subject: str
    subject_id: str
    service: str
    summary: dict[str, Any]
    changes: pd.DataFrame
    events: pd.DataFrame
    canary: dict[str, Any] | None
    canary_note: str
    tests: pd.DataFrame
    flaky: pd.DataFrame
    steps: pd.DataFrame
    services: tuple[str, ...] = ()


def _header(d: DebugData, links: Links) -> Section:
    facts = [
        f"{k}: {('yes' if v else 'no') if isinstance(v, bool) else v}"
        for k, v in d.summary.items()
        if v is not None and str(v) != "nan"
    ]
    tables = []
    if not d.changes.empty:
        tables.append(
            Table.from_frame(
                "Changes shipped",
                d.changes,
                {
                    "change_id": "change",
                    "sha": "commit",
                    "risk": "risk",
                    "reason": "main reason",
                    "failed": "failed",
                },
                {"risk": fmt.rate, "sha": lambda v: str(v)[:12]},
                links={"change_id": links.change},
            )
        )
    return Section("summary", "Summary", tuple(facts), dict(d.summary), tuple(tables))


def _timeline(d: DebugData, links: Links) -> Section:
    e = d.events
    first, last = (e["ts"].min(), e["ts"].max()) if not e.empty else (None, None)
    span = f" from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}" if first is not None else ""
    return Section(
        "events",
        "Events in order",
        (
            f"{len(e)} event(s){span}, by correlation: change, commit, pipeline, artifact, "
            "deployment and linked incidents.",
        ),
        {"kinds": e["kind"].astype(str).value_counts().to_dict() if not e.empty else {}},
        (
            Table.from_frame(
                "Timeline",
                e,
                {
                    "ts": "when",
                    "kind": "kind",
                    "source": "source",
                    "change_id": "change",
                    "deploy_id": "deploy",
                    "incident_id": "incident",
                    "stage": "stage",
                    "status": "status",
                    "detail": "detail",
                },
                {"ts": lambda v: pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S")},
                links={
                    "change_id": links.change,
                    "deploy_id": links.deploy,
                    "incident_id": links.incident,
                },
            ),
        ),
    )


def _canary(d: DebugData) -> Section:
    if d.canary is None:
        return Section("canary", "Canary against baseline", (d.canary_note,))
    c = d.canary
    metrics = pd.DataFrame(c.get("metrics", []))
    tables = []
    if not metrics.empty:
        cols = {
            k: k.replace("_", " ")
            for k in (
                "name",
                "classification",
                "ratio",
                "p_value",
                "canary_n",
                "baseline_n",
                "reason",
            )
            if k in metrics.columns
        }
        tables.append(
            Table.from_frame(
                "Metrics judged",
                metrics,
                cols,
                {"ratio": lambda v: fmt.number(v, 2), "p_value": lambda v: fmt.number(v, 3)},
            )
        )
    return Section(
        "canary",
        "Canary against baseline",
        (
            f"Verdict: {c.get('classification')} (score {c.get('score')}). {d.canary_note}",
            *([str(c["reason"])] if c.get("reason") else []),
        ),
        {"canary": c},
        tuple(tables),
    )


def _tests(d: DebugData, links: Links) -> Section:
    tables = []
    if not d.tests.empty:
        tables.append(
            Table.from_frame(
                "Test failures per commit",
                d.tests,
                {
                    "sha": "commit",
                    "change_id": "change",
                    "runs": "pipeline runs",
                    "failed_runs": "failed runs",
                    "tests_failed": "tests failed",
                    "tests_passed": "tests passed",
                },
                {"sha": lambda v: str(v)[:12]},
                links={"change_id": links.change},
            )
        )
    if not d.flaky.empty:
        tables.append(
            Table.from_frame(
                f"Flaky test suites of {d.service} "
                "(failed, then passed on the same commit; 28 days)",
                d.flaky,
                {
                    "stage": "suite",
                    "runs": "runs",
                    "flaky_failures": "flaky failures",
                    "share": "share",
                    "last_sha": "last seen on",
                },
                {"share": fmt.rate, "last_sha": lambda v: str(v)[:12]},
            )
        )
    failed = int(d.tests["tests_failed"].sum()) if not d.tests.empty else 0
    lines = (
        f"{failed} failed test(s) across {len(d.tests)} commit(s); "
        f"{len(d.flaky)} flaky suite(s) in the service's last 28 days.",
    )
    return Section("tests", "Tests", lines, {}, tuple(tables))


def _steps(d: DebugData) -> Section:
    if d.steps.empty:
        return Section("steps", "Pipeline steps", ("No pipeline step events.",))
    total = float((d.steps["queue_min"] + d.steps["run_min"]).sum())
    slow = d.steps.iloc[int((d.steps["queue_min"] + d.steps["run_min"]).to_numpy().argmax())]
    return Section(
        "steps",
        "Pipeline steps",
        (
            f"{fmt.hours(total / 60)} in CI steps; the longest: {slow['step']} "
            f"({fmt.number(slow['queue_min'], 0)} min queued, {fmt.number(slow['run_min'], 0)} "
            "min running).",
        ),
        {"steps": d.steps.to_dict("records")},
        (),
        (Plot("debug-steps", "Step durations", plots.stage_durations(d.steps)),),
    )


def debug_page(d: DebugData, links: Links) -> Page:
    """Build the debug page of one deployment or change."""
    what = "Deployment" if d.subject == "deploy" else "Change"
    return Page(
        "debug",
        f"{what} {d.subject_id}",
        f"service {d.service}",
        (_header(d, links), _timeline(d, links), _canary(d), _tests(d, links), _steps(d)),
        params={d.subject: d.subject_id},
    )
