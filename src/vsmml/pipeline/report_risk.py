"""The weekly report's change-risk data: the changes deployed in the calibration window
scored with `vsmml score`'s scorer, the week's riskiest with their reasons and outcomes, and
the gates waived that week."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate import Correlation
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.tour import feature_columns
from vsmml.recommend.gather import waivers_from_events
from vsmml.report.sections.risk import RiskWeek
from vsmml.report.week import TREND_WEEKS, IsoWeek

TOP_RISKY: Final[int] = 5


def _between(ts: pd.Series, since: pd.Timestamp, until: pd.Timestamp) -> np.ndarray:
    return ((ts >= since) & (ts < until)).to_numpy(dtype=bool)


def _outcomes(corr: Correlation) -> pd.DataFrame:
    """Per change: when it reached production and what happened to that deployment."""
    ch = corr.changes[
        ["change_id", "production_deploy_id", "production_deployed_at", "failed", "incident_id"]
    ]
    deps = corr.deployments.set_index("deploy_id")["rolled_back"]
    rolled = ch["production_deploy_id"].map(deps).fillna(False).astype(bool)
    text = []
    for failed, inc, back, dep in zip(
        ch["failed"].fillna(False),
        ch["incident_id"],
        rolled,
        ch["production_deploy_id"],
        strict=True,
    ):
        if back and isinstance(inc, str):
            text.append(f"failed: deploy {dep} rolled back, incident {inc}")
        elif back:
            text.append(f"failed: deploy {dep} rolled back")
        elif isinstance(inc, str):
            text.append(f"failed: incident {inc} linked to deploy {dep}")
        elif failed:
            text.append(f"failed: deploy {dep}")
        else:
            text.append("no incident or rollback seen")
    return pd.DataFrame(
        {
            "change_id": ch["change_id"].to_numpy(),
            "deployed_at": ch["production_deployed_at"].to_numpy(),
            "failed": ch["failed"].fillna(False).astype(bool).to_numpy(),
            "outcome": text,
        }
    )


def risk_week(
    corr: Correlation,
    feats: pd.DataFrame,
    events: pd.DataFrame,
    week: IsoWeek,
    scorer: RiskScorer,
    model: str,
) -> RiskWeek:
    """Every change deployed in the calibration window scored (`vsmml score`'s scorer, the
    tour's feature columns), the week's riskiest with their main reason and outcome."""
    feats = feats.drop(columns=["failed"]).merge(_outcomes(corr), on="change_id", how="left")
    since = week.shifted(1 - TREND_WEEKS).start
    window_rows = feats.loc[_between(feats["deployed_at"], since, week.end)].reset_index(drop=True)
    risk = (
        scorer.predict_proba(scorer.matrix(feature_columns(window_rows, scorer)))
        if not window_rows.empty
        else np.array([])
    )
    window_rows["risk"] = risk
    this = window_rows.loc[_between(window_rows["deployed_at"], week.start, week.end)]
    top = this.sort_values("risk", ascending=False, kind="stable").head(TOP_RISKY)
    reasons = scorer.score(feature_columns(top, scorer), top=1) if not top.empty else []
    top = top.assign(reason=[r.reasons[0].text if r.reasons else "" for r in reasons])
    waivers = waivers_from_events(events)
    waivers = waivers.loc[_between(waivers["ts"], week.start, week.end)]
    cols = ["change_id", "service", "risk", "failed", "outcome"]
    return RiskWeek(
        week=this[cols].reset_index(drop=True),
        top=top[[*cols, "reason"]].reset_index(drop=True),
        history=window_rows[["risk", "failed"]],
        threshold=float(scorer.threshold),
        model=model,
        waivers=waivers.reset_index(drop=True),
        calibration_window=f"the four weeks {since:%Y-%m-%d} .. {week.end:%Y-%m-%d}",
    )
