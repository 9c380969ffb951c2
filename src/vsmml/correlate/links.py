"""Links: changes to the deployments that shipped them, incidents to the deployments behind them.

Links are made in order of trust, and each records its method and a confidence:

1. explicit ids: the deployed sha is the change's merge sha (``explicit_sha``, 1.0); the incident
   names its deployment (``explicit_deploy_id``, 1.0);
2. commit range between consecutive deployments of the same scope (service, else repo) and
   environment (``commit_range``, 0.9; 0.7 for the first deployment seen in a scope, whose range
   has no lower bound): a change ships with the first deployment whose head is at or after it;
3. time window with service match (``time_window``): a deployment whose sha is unknown ships the
   scope's changes merged before it started (0.5); an incident without an explicit link goes to
   the latest successful production deployment of its service within the window, with a
   confidence that halves every 4 h of gap (0.9 at zero gap: an incident 30 min after a
   deployment gets 0.85, one 12 h after gets 0.11).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate.extract import lookup, member
from vsmml.events.schema import STR_DTYPE, TS_DTYPE

CONFIDENCE: Final[dict[str, float]] = {
    "explicit_sha": 1.0,
    "explicit_deploy_id": 1.0,
    "commit_range": 0.9,
    "commit_range_open": 0.7,
    "time_window": 0.5,
    "latest_prod_deploy": 1.0,
    "root_cause_sha": 1.0,
}
TIME_WINDOW_START: Final = 0.9
TIME_WINDOW_HALF_LIFE_H: Final = 4.0


def scope_of(frame: pd.DataFrame) -> pd.Series:
    """The deployment scope of each row: its service, else ``repo:<repo>``."""
    service = frame["service"].astype(STR_DTYPE)
    repo = "repo:" + frame["repo"].astype(STR_DTYPE)
    return service.fillna(repo).fillna("")


def _us(ts: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds (NaT → int64 min)."""
    return np.asarray(pd.DatetimeIndex(ts.astype(TS_DTYPE)).asi8, dtype="int64")


def good_deployments(deployments: pd.DataFrame, env: str) -> pd.DataFrame:
    """Successful deployments to `env` (rollbacks included: they move the deployed head back)."""
    mask = (deployments["env"] == env) & (deployments["status"] == "success")
    return deployments.loc[mask.to_numpy(dtype=bool)]


def assign_deployments(
    changes: pd.DataFrame, deployments: pd.DataFrame, positions: pd.Series, env: str
) -> pd.DataFrame:
    """For each change, the first successful deployment to `env` that shipped it.

    Args:
        changes: change records (change_id, sha, merged_at, service, repo).
        deployments: the deployment frame.
        positions: sha → time the sha entered the main line (merge time, or commit time), used to
            order commits when the git graph is unknown.
        env: environment name.

    Returns:
        A frame aligned with `changes` (same index): ``{env}_deploy_id``,
        ``{env}_deploy_started_at``, ``{env}_deployed_at`` (deployment finished),
        ``{env}_link_method``,
        ``{env}_link_confidence``.
    """
    cols = [f"{env}_{c}" for c in ("deploy_id", "deploy_started_at", "deployed_at")]
    cols += [f"{env}_link_method", f"{env}_link_confidence"]
    out = pd.DataFrame(index=changes.index, columns=cols)
    deps = good_deployments(deployments, env)
    if deps.empty or changes.empty:
        return _typed(out, env)
    deps = deps.assign(scope=scope_of(deps).to_numpy())
    pos = lookup(deps["sha"], positions)
    known = pos.notna().to_numpy()
    deps = deps.assign(
        pos=np.where(known, _us(pos.fillna(deps["started_at"])), _us(deps["started_at"])),
        method=np.where(known, "commit_range", "time_window"),
        fin=_us(deps["finished_at"]),
    )
    deps = deps.sort_values(["scope", "fin", "deploy_id"], kind="stable")
    running = deps.groupby("scope", sort=False)["pos"].cummax()
    prev = running.groupby(deps["scope"], sort=False).shift()
    first = prev.isna().to_numpy()
    advancing = first | (deps["pos"].to_numpy() > prev.fillna(0).to_numpy())
    adv = deps.loc[advancing].assign(first=first[advancing]).sort_values("pos", kind="stable")
    ch = pd.DataFrame(
        {
            "row": np.arange(len(changes)),
            "scope": scope_of(changes).to_numpy(),
            "at": _us(changes["merged_at"]),
            "sha": changes["sha"].astype(STR_DTYPE).to_numpy(),
        }
    ).sort_values("at", kind="stable")
    right = adv[["pos", "scope", "deploy_id", "started_at", "finished_at", "method", "first"]]
    right = right.rename(columns={"method": "dep_method"})
    right = right.assign(head=adv["sha"].to_numpy())
    hit = pd.merge_asof(
        ch, right, left_on="at", right_on="pos", by="scope", direction="forward"
    ).sort_values("row")
    hit = _prefer_explicit(hit, deps)
    found = hit["deploy_id"].notna().to_numpy()
    explicit = found & (hit["head"] == hit["sha"]).fillna(False).to_numpy(dtype=bool)
    open_range = found & hit["first"].fillna(False).to_numpy(dtype=bool)
    method = np.where(
        explicit,
        "explicit_sha",
        np.where(
            hit["dep_method"].to_numpy() == "time_window",
            "time_window",
            np.where(open_range, "commit_range_open", "commit_range"),
        ),
    )
    method = np.where(found, method, "")
    out = pd.DataFrame(
        {
            cols[0]: hit["deploy_id"].to_numpy(),
            cols[1]: hit["started_at"].array,
            cols[2]: hit["finished_at"].array,
            cols[3]: _nullable(method),
            cols[4]: pd.Series(method).map(CONFIDENCE).to_numpy(dtype="float64"),
        },
        index=changes.index,
    )
    return _typed(out, env)


def _prefer_explicit(hit: pd.DataFrame, deps: pd.DataFrame) -> pd.DataFrame:
    """Where a deployment (not a rollback) names the change's own sha, it wins over the range.

    Per-change deployments (e.g. a staging deploy of each change's artifact) can go out of
    merge order; the range rule would then credit a change to a later change's deployment.
    """
    own = deps.loc[~deps["is_rollback"].to_numpy(dtype=bool)]
    own = own.sort_values("fin", kind="stable").drop_duplicates(["scope", "sha"])
    own = own[["scope", "sha", "deploy_id", "started_at", "finished_at"]].rename(
        columns={"deploy_id": "x_id", "started_at": "x_start", "finished_at": "x_fin"}
    )
    joined = hit.merge(own, on=["scope", "sha"], how="left")
    use = joined["x_id"].notna().to_numpy()
    joined.loc[use, "deploy_id"] = joined.loc[use, "x_id"]
    joined.loc[use, "started_at"] = joined.loc[use, "x_start"]
    joined.loc[use, "finished_at"] = joined.loc[use, "x_fin"]
    joined.loc[use, "head"] = joined.loc[use, "sha"]
    joined.loc[use, "first"] = False
    return joined.drop(columns=["x_id", "x_start", "x_fin"])


def _typed(out: pd.DataFrame, env: str) -> pd.DataFrame:
    return out.astype(
        {
            f"{env}_deploy_id": STR_DTYPE,
            f"{env}_deploy_started_at": TS_DTYPE,
            f"{env}_deployed_at": TS_DTYPE,
            f"{env}_link_method": STR_DTYPE,
            f"{env}_link_confidence": "float64",
        }
    )


def link_incidents(
    incidents: pd.DataFrame,
    deployments: pd.DataFrame,
    changes: pd.DataFrame,
    method: str = "confidence",
    window_hours: float = 72.0,
) -> pd.DataFrame:
    """Tie each incident to the production deployment behind it, by one of the profile rules.

    Returns one row per incident: incident_id, deploy_id (null when no cause is identifiable),
    link_method, link_confidence (0 when unlinked). Methods: ``confidence`` (explicit id, else
    time window with decaying confidence), ``latest_prod_deploy`` (DevLake: the latest successful
    production deployment of the scope finished strictly before the incident), ``root_cause_sha``
    (Four Keys: the deployment that first shipped the incident's sha), ``one_to_one`` (GitLab:
    explicit ids only; every incident counts as a failure on its own).
    """
    base = pd.DataFrame({"incident_id": incidents["incident_id"].to_numpy()})
    prod = good_deployments(deployments, "production")
    prod = prod.loc[~prod["is_rollback"].to_numpy(dtype=bool)]
    explicit_ok = member(incidents["deploy_id"], prod["deploy_id"])
    explicit = incidents["deploy_id"].where(explicit_ok).to_numpy()
    if method in ("confidence", "one_to_one"):
        dep = pd.Series(explicit, dtype=STR_DTYPE)
        how = np.where(explicit_ok, "explicit_deploy_id", "")
        conf = np.where(explicit_ok, 1.0, 0.0)
        if method == "confidence":
            near, gap_h = _latest_before(incidents, prod, window_hours, strict=False)
            use = ~explicit_ok & near.notna().to_numpy()
            dep = dep.where(~use, near.to_numpy())
            how = np.where(use, "time_window", how)
            decay = TIME_WINDOW_START * 0.5 ** (gap_h / TIME_WINDOW_HALF_LIFE_H)
            conf = np.where(use, decay, conf)
    elif method == "latest_prod_deploy":
        near, _ = _latest_before(incidents, prod, None, strict=True)
        dep = near
        how = np.where(near.notna().to_numpy(), "latest_prod_deploy", "")
        conf = np.where(near.notna(), 1.0, 0.0)
    elif method == "root_cause_sha":
        # a missing sha is no root cause: it must not match another missing sha
        shipped = changes.loc[changes["production_deploy_id"].notna() & changes["sha"].notna()]
        by_sha = shipped.drop_duplicates("sha").set_index("sha")["production_deploy_id"]
        known = prod.loc[prod["sha"].notna()]
        heads = known.drop_duplicates("sha").set_index("sha")["deploy_id"]
        sha = incidents["sha"].astype(STR_DTYPE)
        dep = sha.map(by_sha).fillna(sha.map(heads)).astype(STR_DTYPE).reset_index(drop=True)
        how = np.where(dep.notna().to_numpy(), "root_cause_sha", "")
        conf = np.where(dep.notna(), 1.0, 0.0)
    else:
        raise ValueError(f"incident linking: unknown method {method!r}")
    base["deploy_id"] = pd.Series(np.asarray(dep, dtype=object), dtype=STR_DTYPE)
    base["link_method"] = _nullable(how)
    base["link_confidence"] = np.asarray(conf, dtype="float64")
    return base


def _nullable(values: np.ndarray) -> pd.Series:
    """Text values with "" meaning missing, as a nullable text series."""
    text = pd.Series(values, dtype=STR_DTYPE)
    return text.where(text != "")


def _latest_before(
    incidents: pd.DataFrame, prod: pd.DataFrame, window_hours: float | None, *, strict: bool
) -> tuple[pd.Series, np.ndarray]:
    """Latest production deployment of the same scope finished before each incident opened."""
    n = len(incidents)
    if n == 0 or prod.empty:
        return pd.Series([None] * n, dtype=STR_DTYPE), np.full(n, np.nan)
    left = pd.DataFrame(
        {
            "row": np.arange(n),
            "scope": scope_of(incidents).to_numpy(),
            "at": _us(incidents["opened_at"]),
        }
    ).sort_values("at", kind="stable")
    right = pd.DataFrame(
        {
            "scope": scope_of(prod).to_numpy(),
            "fin": _us(prod["finished_at"]),
            "deploy_id": prod["deploy_id"].to_numpy(),
        }
    ).sort_values("fin", kind="stable")
    tol = None if window_hours is None else int(window_hours * 3600 * 1_000_000)
    hit = pd.merge_asof(
        left,
        right,
        left_on="at",
        right_on="fin",
        by="scope",
        direction="backward",
        allow_exact_matches=not strict,
        tolerance=tol,
    ).sort_values("row")
    gap_h = (hit["at"] - hit["fin"]).to_numpy(dtype="float64") / 3.6e9
    return hit["deploy_id"].astype(STR_DTYPE).reset_index(drop=True), gap_h
