"""The Risk section: the week's change risk, the riskiest changes shipped and what happened to
them, calibration (predicted against observed failure rate) and the gates that were waived."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table

MAX_BINS: Final[int] = 10
MIN_PER_BIN: Final[int] = 10


@dataclass(frozen=True)
class RiskWeek:
    """The change-risk scores the pipeline computed.

    Attributes:
        week: the changes deployed to production this week: change_id, service, risk, failed,
            outcome (what happened: incident, rollback or nothing seen).
        top: the riskiest of them with `reason` (the model's main reason).
        history: changes deployed in the calibration window with a known outcome: risk, failed.
        threshold: the gate's threshold; model: which model scored them.
        waivers: gate waivers recorded this week (event_id, ts, service, change_id, actor,
            reason, probability); empty when none.
        calibration_window: how the history was chosen, for the caption.
    """

    week: pd.DataFrame
    top: pd.DataFrame
    history: pd.DataFrame
    threshold: float
    model: str
    waivers: pd.DataFrame
    calibration_window: str


def calibration_bins(risk: np.ndarray, failed: np.ndarray) -> pd.DataFrame:
    """Equal-count bins of predicted risk (at most `MAX_BINS`, at least `MIN_PER_BIN` changes
    each): mean predicted probability, observed failure rate and count per bin."""
    n = len(risk)
    if n < MIN_PER_BIN:
        return pd.DataFrame(columns=["predicted", "observed", "n"])
    k = int(min(MAX_BINS, max(1, n // MIN_PER_BIN)))
    order = np.argsort(risk, kind="stable")
    parts = np.array_split(order, k)
    rows = [(float(risk[p].mean()), float(failed[p].astype(float).mean()), len(p)) for p in parts]
    return pd.DataFrame(rows, columns=["predicted", "observed", "n"])


def calibration_scores(
    risk: np.ndarray, failed: np.ndarray, bins: pd.DataFrame
) -> dict[str, float]:
    """Brier score, expected calibration error (count-weighted |predicted - observed| over
    `bins`), mean predicted and observed rate."""
    if len(risk) == 0:
        return {"brier": math.nan, "ece": math.nan, "predicted": math.nan, "observed": math.nan}
    y = failed.astype(float)
    ece = float((bins["n"] * (bins["predicted"] - bins["observed"]).abs()).sum() / bins["n"].sum())
    return {
        "brier": float(np.mean((risk - y) ** 2)),
        "ece": ece,
        "predicted": float(risk.mean()),
        "observed": float(y.mean()),
    }


def _summary(r: RiskWeek, cal: dict[str, float]) -> list[str]:
    w = r.week
    lines = []
    if w.empty:
        lines.append("No change reached production this week: nothing to score.")
    else:
        over = int((w["risk"] >= r.threshold).sum())
        failed = int(w["failed"].sum())
        lines.append(
            f"{len(w):,} changes shipped this week; median risk {fmt.rate(w['risk'].median())}, "
            f"{over} at or above the gate threshold {fmt.rate(r.threshold)}; {failed} failed in "
            "production so far."
        )
        top = r.top.iloc[0]
        lines.append(
            f"Riskiest shipped: {top['change_id']} ({top['service']}, "
            f"{fmt.rate(top['risk'])}): {top['outcome']}."
        )
        hit = r.top.loc[r.top["failed"]]
        if len(r.top) > 1:
            lines.append(f"{len(hit)} of the {len(r.top)} riskiest changes failed.")
    if math.isfinite(cal["ece"]):
        lines.append(
            f"Calibration over {r.calibration_window}: predicted {fmt.rate(cal['predicted'])} "
            f"against {fmt.rate(cal['observed'])} observed (ECE {fmt.number(cal['ece'], 3)}, "
            f"Brier {fmt.number(cal['brier'], 3)})."
        )
    lines.append(
        f"Waived gates this week: {len(r.waivers)}."
        if not r.waivers.empty
        else "Waived gates this week: none recorded."
    )
    return lines


def risk_section(r: RiskWeek, change_link: Callable[[Any], str | None] | None = None) -> Section:
    """Build the Risk section.

    Args:
        r: the scores and outcomes.
        change_link: change id → URL (the debug dashboard), or None for plain text.
    """
    hist = r.history
    risk = hist["risk"].to_numpy(dtype=float)
    failed = hist["failed"].to_numpy(dtype=bool)
    bins = calibration_bins(risk, failed)
    cal = (
        calibration_scores(risk, failed, bins)
        if not bins.empty
        else {"brier": math.nan, "ece": math.nan, "predicted": math.nan, "observed": math.nan}
    )
    links = {"change_id": change_link} if change_link is not None else None
    tables = []
    plot_list = []
    if not r.week.empty:
        tables.append(
            Table.from_frame(
                "The riskiest changes shipped this week, and what happened to them",
                r.top,
                {
                    "change_id": "change",
                    "service": "service",
                    "risk": "risk",
                    "reason": "main reason",
                    "outcome": "what happened",
                },
                {"risk": fmt.rate},
                links=links,
            )
        )
        plot_list.append(
            Plot(
                "risk-histogram",
                "Distribution of change risk this week",
                plots.risk_histogram(
                    r.week["risk"].to_numpy(dtype=float),
                    r.week["failed"].to_numpy(dtype=bool),
                    r.threshold,
                ),
                caption=f"Changes deployed to production this week, scored by {r.model}.",
                data={"risk": r.week["risk"].round(4).tolist()},
            )
        )
    if not bins.empty:
        plot_list.append(
            Plot(
                "calibration",
                "Calibration: predicted against observed failure rate",
                plots.calibration(bins),
                caption=f"Equal-count bins of the changes deployed over {r.calibration_window} "
                "with a known outcome; on the diagonal the model is calibrated.",
                data={"bins": bins.to_dict("records")},
            )
        )
        tables.append(
            Table.from_frame(
                "Calibration bins",
                bins,
                {
                    "predicted": "mean predicted",
                    "observed": "observed failure rate",
                    "n": "changes",
                },
                {"predicted": fmt.rate, "observed": fmt.rate},
            )
        )
    if not r.waivers.empty:
        tables.append(
            Table.from_frame(
                "Gates waived this week",
                r.waivers,
                {
                    "ts": "when",
                    "service": "service",
                    "change_id": "change",
                    "actor": "by",
                    "reason": "reason",
                    "probability": "risk at the gate",
                },
                {"probability": fmt.rate},
                links=links,
            )
        )
    facts: dict[str, Any] = {
        "changes": len(r.week),
        "above_threshold": int((r.week["risk"] >= r.threshold).sum()) if not r.week.empty else 0,
        "failed": int(r.week["failed"].sum()) if not r.week.empty else 0,
        "threshold": r.threshold,
        "model": r.model,
        "top": r.top.to_dict("records"),
        "calibration": {**cal, "bins": bins.to_dict("records")},
        "waivers": r.waivers.to_dict("records"),
    }
    notes = (f"scored by {r.model}",)
    return Section(
        "risk", "Risk", tuple(_summary(r, cal)), facts, tuple(tables), tuple(plot_list), notes
    )
