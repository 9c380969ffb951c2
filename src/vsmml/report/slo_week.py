"""A week of SLO samples: alert episodes, the week's burn, the budget outlook, SLI episodes.

Pure: sample frames (timestamp, service, good, total) in, small frames out. The budgets
themselves come from `vsmml.slo.status` (through the pipeline), so the report's numbers are the
ones `vsmml slo status` prints.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from vsmml.slo import SLO, budget_remaining, evaluate_alerts

ALERT_COLUMNS: Final = ("service", "severity", "start", "end", "hours")
OUTLOOK_COLUMNS: Final = ("service", "projected", "error_ratio", "method")
EPISODE_COLUMNS: Final = ("service", "start", "end", "peak_at", "peak", "value", "baseline")
OUTLOOK_DAYS: Final[int] = 7


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True values."""
    out = []
    i, n = 0, len(flags)
    while i < n:
        if flags[i]:
            j = i
            while j + 1 < n and flags[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def alert_episodes(
    samples: pd.DataFrame,
    objective: float,
    window_days: int,
    since: pd.Timestamp,
    until: pd.Timestamp,
) -> pd.DataFrame:
    """Page and ticket alerts (multiwindow burn rate) that fired in [since, until), per service:
    when each episode started and ended (evaluated at every sample time)."""
    rows = []
    for name, g in samples.groupby("service", sort=True):
        inside = g.loc[((g["timestamp"] >= since) & (g["timestamp"] < until)).to_numpy(bool)]
        if inside.empty:
            continue
        at = pd.DatetimeIndex(inside["timestamp"].drop_duplicates())
        state = evaluate_alerts(g, SLO(str(name), objective, window_days), at=at)
        for sev in ("page", "ticket"):
            for a, b in _runs(state[sev].to_numpy(dtype=bool)):
                start, end = at[a], at[b]
                hours = (end - start) / pd.Timedelta(hours=1)
                rows.append((str(name), sev, start, end, float(hours)))
    out = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    return out.sort_values(["start", "service"], kind="stable").reset_index(drop=True)


def budgets_at(
    samples: pd.DataFrame, objective: float, window_days: int, at: pd.Timestamp
) -> pd.DataFrame:
    """Per service: the share of the error budget left at `at` (`vsmml.slo.budget_remaining`)."""
    rows = [
        (str(name), budget_remaining(g, SLO(str(name), objective, window_days), at))
        for name, g in samples.groupby("service", sort=True)
    ]
    return pd.DataFrame(rows, columns=["service", "budget_remaining"])


def week_burn(
    samples: pd.DataFrame, objective: float, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Per service: the week's error ratio and burn rate (error ratio ÷ error budget)."""
    inside = samples.loc[
        ((samples["timestamp"] >= since) & (samples["timestamp"] < until)).to_numpy(bool)
    ]
    g = inside.assign(bad=inside["total"] - inside["good"]).groupby("service", sort=True)
    out = g[["bad", "total"]].sum().reset_index()
    out["error_ratio"] = out["bad"] / out["total"].where(out["total"] > 0)
    out["burn"] = out["error_ratio"] / (1.0 - objective)
    out["service"] = out["service"].astype(str)
    return out[["service", "error_ratio", "burn"]]


def budget_outlook(
    samples: pd.DataFrame,
    objective: float,
    window_days: int,
    at: pd.Timestamp,
    days: int = OUTLOOK_DAYS,
) -> pd.DataFrame:
    """The error budget expected to be left `days` after `at` if the last `days` repeat, per
    service: the rolling window then holds its known samples of the last `window_days - days`
    days plus a copy of the last `days` days (their error ratio and traffic)."""
    budget = 1.0 - objective
    rows = []
    span = pd.Timedelta(days=days)
    keep_from = at + span - pd.Timedelta(days=window_days)
    for name, g in samples.groupby("service", sort=True):
        ts = g["timestamp"]
        bad = g["total"] - g["good"]
        last = ((ts > at - span) & (ts <= at)).to_numpy(bool)
        if not last.any():
            continue
        known = ((ts > keep_from) & (ts <= at)).to_numpy(bool)
        b = float(bad[known].sum()) + float(bad[last].sum())
        total = float(g["total"][known].sum()) + float(g["total"][last].sum())
        err_last = float(bad[last].sum()) / max(float(g["total"][last].sum()), 1e-12)
        projected = 1.0 - (b / total) / budget if total > 0 else math.nan
        rows.append((str(name), projected, err_last, f"the last {days} days repeated"))
    return pd.DataFrame(rows, columns=list(OUTLOOK_COLUMNS))


def hourly_error_ratio(samples: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each service's error ratio per hour: name → (timestamp, value) (hours without traffic
    left out)."""
    out: dict[str, pd.DataFrame] = {}
    for name, g in samples.groupby("service", sort=True):
        hour = g["timestamp"].dt.floor("h")
        h = g.assign(hour=hour).groupby("hour")[["good", "total"]].sum()
        h = h.loc[h["total"] > 0]
        out[str(name)] = pd.DataFrame(
            {"timestamp": h.index, "value": (1.0 - h["good"] / h["total"]).to_numpy()}
        )
    return out


def score_episodes(
    scored: dict[str, pd.DataFrame], threshold: float, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Runs of consecutive rows scoring at least `threshold` inside [since, until), per series:
    start, end, the peak score, the value at the peak and the median of the 7 days before.

    Args:
        scored: name → (timestamp, value, score) frames (a detector's causal scores).
    """
    rows = []
    for name, f in scored.items():
        inside = ((f["timestamp"] >= since) & (f["timestamp"] < until)).to_numpy(bool)
        flags = inside & (f["score"].to_numpy(dtype=float) >= threshold)
        for a, b in _runs(flags):
            run = f.iloc[a : b + 1]
            peak = run["score"].to_numpy(dtype=float).argmax()
            start = run["timestamp"].iloc[0]
            before = f.loc[
                (
                    (f["timestamp"] < start) & (f["timestamp"] >= start - pd.Timedelta(days=7))
                ).to_numpy(bool)
            ]
            rows.append(
                (
                    name,
                    start,
                    run["timestamp"].iloc[-1],
                    run["timestamp"].iloc[peak],
                    float(run["score"].iloc[peak]),
                    float(run["value"].iloc[peak]),
                    float(before["value"].median()) if not before.empty else math.nan,
                )
            )
    out = pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))
    return out.sort_values(["start", "service"], kind="stable").reset_index(drop=True)
