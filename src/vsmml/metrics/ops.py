"""Operations metrics: detection, rollbacks, promotion, flag activation, ingest latency, security.

- ``mttd_median`` / ``_p85`` (hours): impact start → detection; the impact starts at
  ``attrs.started_at`` of the incident when given, else when its linked deployment finished
  (incidents with no identifiable cause and no start are left out);
- ``rollbacks`` and ``rollback_frequency`` (rollbacks ÷ production deployments, rollbacks not
  counted as deployments; a git revert of a released change counts when its release finished);
- ``artifact_promotion_time_median`` / ``_p85`` (hours): artifact published → promoted to
  production (``artifact.promoted`` with env production, else the first production deploy);
- ``flag_activation_time_median`` / ``_p85`` (hours): change deployed to production → its flag
  turned on in production;
- ``ingest_latency_seconds_median`` / ``_p85``: received_at − ts of every event (seconds);
- ``security_remediation_time_median`` / ``_p85`` (hours): finding opened → closed
  (``attrs.finding_id``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.correlate.extract import attr_text, lookup, of_kind
from vsmml.correlate.records import Correlation
from vsmml.events.schema import STR_DTYPE
from vsmml.metrics.frames import (
    By,
    combine,
    count_metric,
    group_columns,
    hours_between,
    keyed,
    positive,
    quantile_metrics,
    ratio_metric,
)
from vsmml.metrics.profiles import Profile, get_profile


def mttd(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Time to detect per incident opened in the period (see module docstring)."""
    prof = get_profile(profile)
    inc = corr.incidents
    fin = corr.deployments.drop_duplicates("deploy_id").set_index("deploy_id")["finished_at"]
    start = inc["impact_started_at"].fillna(lookup(inc["deploy_id_linked"], fin))
    hours = positive(hours_between(start, inc["detected_at"], prof))
    return quantile_metrics(hours, keyed(inc, inc["opened_at"], by, freq), prof, "mttd")


def rollback_frequency(
    corr: Correlation, by: By = "service", freq: str | None = "W"
) -> pd.DataFrame:
    """``rollbacks`` per period and ``rollback_frequency`` = rollbacks ÷ production deployments.

    A rollback is a rollback deployment, or a revert (git) of a change an earlier production
    deployment shipped, counted when the deployment that shipped the revert finished.
    """
    cols = group_columns(by)
    deps = corr.deployments
    prod = deps.loc[((deps["env"] == "production") & (deps["status"] == "success")).to_numpy(bool)]
    is_rb = prod["is_rollback"].to_numpy(dtype=bool)
    reverts = prod["reverts_shipped"] if "reverts_shipped" in prod else pd.Series(0, prod.index)
    n = np.where(is_rb, 1, reverts.to_numpy(dtype="int64"))
    keys = keyed(prod, prod["finished_at"], by, freq)
    if keys.empty:
        return combine([], cols)
    idx = [*cols, "period"]
    g = keys.assign(r=n, d=(~is_rb).astype("int64")).groupby(idx, dropna=False)
    n_rb, n_dep = g["r"].sum(), g["d"].sum()
    return combine(
        [
            count_metric(n_rb, "rollbacks", cols),
            ratio_metric(n_rb, n_dep, "rollback_frequency", cols),
        ],
        cols,
    )


def artifact_promotion_time(
    events: pd.DataFrame,
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Artifact published → promoted to production, in the period of promotion."""
    prof = get_profile(profile)
    pub = of_kind(events, "artifact.published")
    pub = pub.loc[pub["artifact_id"].notna()].sort_values("ts", kind="stable")
    pub = pub.drop_duplicates("artifact_id")
    promo = of_kind(events, "artifact.promoted")
    env = promo["env"].astype(STR_DTYPE).fillna("production")
    promo = promo.loc[(env == "production").to_numpy() & promo["artifact_id"].notna().to_numpy()]
    promoted = promo.groupby("artifact_id", observed=True)["ts"].min()
    promoted.index = promoted.index.astype(STR_DTYPE)
    deps = corr.deployments
    prod = deps.loc[((deps["env"] == "production") & ~deps["is_rollback"]).to_numpy(bool)]
    first_dep = prod.dropna(subset=["artifact_id"]).groupby("artifact_id")["finished_at"].min()
    aid = pub["artifact_id"].astype(STR_DTYPE)
    at = lookup(aid, promoted).fillna(lookup(aid, first_dep))
    hours = positive(hours_between(pub["ts"], at, prof))
    ok = at.notna().to_numpy()
    keys = keyed(pub.loc[ok], at.loc[ok], by, freq)
    return quantile_metrics(hours.loc[ok], keys, prof, "artifact_promotion_time")


def flag_activation_time(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Change deployed to production → flag enabled in production, in the period of release."""
    prof = get_profile(profile)
    ch = corr.changes.loc[corr.changes["released_at"].notna()]
    hours = positive(hours_between(ch["production_deployed_at"], ch["released_at"], prof))
    keys = keyed(ch, ch["released_at"], by, freq)
    return quantile_metrics(hours, keys, prof, "flag_activation_time")


def ingest_latency(
    events: pd.DataFrame,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """received_at − ts in seconds, in the period the event happened."""
    prof = get_profile(profile)
    ev = events.loc[events["received_at"].notna()]
    seconds = positive((ev["received_at"] - ev["ts"]).dt.total_seconds())
    keys = keyed(ev, ev["ts"], by, freq)
    return quantile_metrics(seconds, keys, prof, "ingest_latency_seconds")


def security_remediation_time(
    events: pd.DataFrame,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Security finding opened → closed (hours), in the period the finding was closed."""
    prof = get_profile(profile)
    opened = of_kind(events, "security.finding.opened")
    closed = of_kind(events, "security.finding.closed")
    o = opened.assign(fid=attr_text(opened, "finding_id").to_numpy()).dropna(subset=["fid"])
    o = o.sort_values("ts", kind="stable").drop_duplicates("fid")
    c_ids = attr_text(closed, "finding_id")
    shut = closed.assign(fid=c_ids.to_numpy()).dropna(subset=["fid"]).groupby("fid")["ts"].min()
    at = lookup(o["fid"].astype(STR_DTYPE), shut)
    ok = at.notna().to_numpy()
    hours = positive(hours_between(o["ts"], at, prof)).loc[ok]
    keys = keyed(o.loc[ok], at.loc[ok], by, freq)
    return quantile_metrics(hours, keys, prof, "security_remediation_time")


def ops_metrics(
    events: pd.DataFrame,
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Every operations metric as one tidy frame."""
    prof = get_profile(profile)
    parts = [
        mttd(corr, by, freq, prof),
        rollback_frequency(corr, by, freq),
        artifact_promotion_time(events, corr, by, freq, prof),
        flag_activation_time(corr, by, freq, prof),
        ingest_latency(events, by, freq, prof),
        security_remediation_time(events, by, freq, prof),
    ]
    return combine(parts, group_columns(by))
