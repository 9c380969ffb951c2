"""Per-stage lead, wait and active time of the value stream (median and p85, hours).

Stages of a change, in order (``vsmml`` profile; spans in hours, rounded per the profile):

| stage | lead (from → to) | wait | active |
|---|---|---|---|
| coding | first commit → PR opened | 0 | lead |
| pickup | opened → first review by someone else | lead | 0 |
| review | first review → merged | 0 | lead |
| build | merged → pipeline finished | Σ CI queue_s | Σ CI duration_s |
| staging | artifact published → staging deployed | until deploy starts | deploy run |
| production | staging deployed → production deployed | until deploy starts | deploy run |

A change is counted in the period of its first commit (so a week's numbers describe the work
that started that week). CI stages (build, unit-tests ...) are broken down by `ci_stage_times`.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from vsmml.correlate.extract import attr_number, of_kind
from vsmml.correlate.records import Correlation
from vsmml.metrics.frames import (
    By,
    combine,
    group_columns,
    hours_between,
    keyed,
    positive,
    quantile_metrics,
)
from vsmml.metrics.profiles import Profile, get_profile

STAGES: Final = ("coding", "pickup", "review", "build", "staging", "production")
MEASURES: Final = ("lead", "wait", "active")


def change_stage_spans(corr: Correlation, profile: str | Profile | None = None) -> pd.DataFrame:
    """Wide per-change spans: change_id, service, team, repo, first_commit_at and, per stage,
    ``{stage}_lead``, ``{stage}_wait``, ``{stage}_active`` in hours (NaN when not reached)."""
    prof = get_profile(profile)
    ch = corr.changes
    out = ch[["change_id", "service", "team", "repo", "first_commit_at"]].copy()

    def span(a: str, b: str) -> pd.Series:
        return positive(hours_between(ch[a], ch[b], prof))

    zero = pd.Series(0.0, index=ch.index)
    coding = span("first_commit_at", "opened_at")
    pickup = span("opened_at", "first_review_at")
    review = span("first_review_at", "merged_at")
    build = span("merged_at", "pipeline_finished_at")
    has_build = build.notna()
    build_wait = prof.round_span(ch["build_wait_s"] / 3600.0).where(has_build)
    build_active = prof.round_span(ch["build_active_s"] / 3600.0).where(has_build)
    staging = span("artifact_published_at", "staging_deployed_at")
    prod = span("staging_deployed_at", "production_deployed_at")
    parts = {
        "coding": (coding, zero.where(coding.notna()), coding),
        "pickup": (pickup, pickup, zero.where(pickup.notna())),
        "review": (review, zero.where(review.notna()), review),
        "build": (build, build_wait, build_active),
        "staging": (
            staging,
            span("artifact_published_at", "staging_deploy_started_at").where(staging.notna()),
            span("staging_deploy_started_at", "staging_deployed_at").where(staging.notna()),
        ),
        "production": (
            prod,
            span("staging_deployed_at", "production_deploy_started_at").where(prod.notna()),
            span("production_deploy_started_at", "production_deployed_at").where(prod.notna()),
        ),
    }
    for stage, (lead, wait, active) in parts.items():
        out[f"{stage}_lead"] = lead
        out[f"{stage}_wait"] = wait
        out[f"{stage}_active"] = active
    return out.reset_index(drop=True)


def stage_times(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Tidy ``stage_{stage}_{lead|wait|active}_{median|p85}`` per group and first-commit period."""
    prof = get_profile(profile)
    spans = change_stage_spans(corr, prof)
    keys = keyed(spans, spans["first_commit_at"], by, freq)
    parts = [
        quantile_metrics(spans[f"{s}_{m}"], keys, prof, f"stage_{s}_{m}")
        for s in STAGES
        for m in MEASURES
    ]
    return combine(parts, group_columns(by))


def ci_stage_times(
    events: pd.DataFrame,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Per CI stage (build, unit-tests ...): ``ci_{stage}_{wait|active}_{median|p85}`` in hours.

    Wait is the run's ``queue_s``, active its ``duration_s``, per stage run (every attempt), in
    the period the run finished.
    """
    prof = get_profile(profile)
    runs = of_kind(events, "stage.finished")
    runs = runs.loc[runs["stage"].notna()]
    keys = keyed(runs, runs["ts"], by, freq)
    wait = prof.round_span(attr_number(runs, "queue_s") / 3600.0)
    active = prof.round_span(attr_number(runs, "duration_s") / 3600.0)
    stage = runs["stage"].astype("str")
    parts = []
    for name in sorted(stage.dropna().unique()):
        sel = (stage == name).to_numpy()
        k = keys.loc[sel]
        parts.append(quantile_metrics(wait.loc[sel], k, prof, f"ci_{name}_wait"))
        parts.append(quantile_metrics(active.loc[sel], k, prof, f"ci_{name}_active"))
    return combine(parts, group_columns(by))


STAGE_EVENTS: Final[dict[str, str]] = {
    "coding": "change.opened (pull / merge requests)",
    "pickup": "change.opened and change.reviewed (reviews by someone else)",
    "review": "change.reviewed and change.merged",
    "build": "pipeline.finished on the merge sha (CI runs; stage.finished for CI stages)",
    "staging": "artifact.published and deploy.finished in staging",
    "production": "deploy.finished in staging and in production",
}
"""The events each stage's times are measured from."""


def missing_stages(corr: Correlation, profile: str | Profile | None = None) -> list[str]:
    """The stages no change has a time for (so a bottleneck among them cannot be seen)."""
    spans = change_stage_spans(corr, profile)
    return [s for s in STAGES if not spans[f"{s}_lead"].notna().any()]


def stage_data_note(corr: Correlation, profile: str | Profile | None = None) -> str | None:
    """What `vsmml bottlenecks` lacks, for people; None when every stage has times.

    With no stage at all (git history alone, say) the value stream has no stages to compare:
    the note names the events that would give them.
    """
    missing = missing_stages(corr, profile)
    if not missing:
        return None
    needs = "; ".join(f"{s}: {STAGE_EVENTS[s]}" for s in missing)
    if len(missing) == len(STAGES):
        return (
            "no stage times: the events hold no pull requests, reviews, CI runs or staging "
            f"deployments, so there is no value stream to find a bottleneck in. Needed: {needs}"
        )
    return f"no times for {', '.join(missing)} (not compared). Needed: {needs}"
