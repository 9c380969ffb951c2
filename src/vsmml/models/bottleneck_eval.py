"""Evaluation of the bottleneck model against the trailing-median baseline.

Top-1 accuracy of the predicted dominant stage (overall, in the period where a planted
bottleneck moves, and in the periods just after it), and the pinball loss of per-change wait
quantiles against the baseline quantile (each stage's trailing 4-period empirical quantile).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.features.bottleneck_features import quantile_rows
from vsmml.models.bottleneck import pinball


def periods_since_move(bottlenecks: pd.DataFrame) -> pd.DataFrame:
    """Per (service, period_start): periods since the planted bottleneck last moved.

    `bottlenecks` is the synthetic truth table (service, week_start, regime). Periods of the
    first regime get -1 (no move yet); the week a new regime starts gets 0.
    """
    need = {"service", "week_start", "regime"}
    if not need <= set(bottlenecks.columns):
        raise DataError(f"periods_since_move: needs columns {sorted(need)}")
    b = bottlenecks.sort_values(["service", "week_start"], kind="stable")
    since = b.groupby("service", sort=False)["regime"].transform(
        lambda r: r.groupby(r.ne(r.shift()).cumsum()).cumcount()
    )
    out = pd.DataFrame(
        {
            "service": b["service"].astype("str").to_numpy(),
            "period_start": b["week_start"].to_numpy(),
            "since_move": np.where(b["regime"].to_numpy() > 0, since.to_numpy(), -1),
        }
    )
    out["period_start"] = pd.to_datetime(out["period_start"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return out


def top1_table(frame: pd.DataFrame, predictors: list[str], label: str = "stage") -> pd.DataFrame:
    """Accuracy of each predictor column against `label`, overall and by move status.

    `frame` may carry `since_move` (see `periods_since_move`): rows then also split into the
    move period (0), the three periods after it (1-3) and the steady state (the rest). With a
    boolean `in_ramp` column (the periods in which the next bottleneck builds up before a move),
    those get their own group and leave the steady state.
    """
    groups: dict[str, pd.Series] = {"all": pd.Series(True, index=frame.index)}
    if "since_move" in frame.columns:
        s = frame["since_move"]
        ramp = (
            frame["in_ramp"].astype(bool)
            if "in_ramp" in frame.columns
            else pd.Series(False, index=frame.index)
        )
        groups["move period (0)"] = s == 0
        groups["after move (1-3)"] = s.between(1, 3)
        if "in_ramp" in frame.columns:
            groups["ramp before a move"] = ramp & ~s.between(0, 3)
        groups["steady"] = ((s == -1) | (s > 3)) & ~ramp
    rows = []
    for name, mask in groups.items():
        row: dict[str, object] = {"periods": name, "n": int(mask.sum())}
        for p in predictors:
            hit = frame.loc[mask, p].astype("str") == frame.loc[mask, label].astype("str")
            row[p] = float(hit.mean()) if mask.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def pinball_table(
    features: pd.DataFrame,
    waits: pd.DataFrame,
    predicted: pd.DataFrame,
    stages: list[str],
    quantiles: tuple[float, ...] = (0.5, 0.85),
) -> pd.DataFrame:
    """Mean pinball loss (hours) of the model's and the baseline's quantiles over test changes.

    Args:
        features: the test periods' `period_features` rows.
        waits: per-change waits (targets are the changes of those periods).
        predicted: `BottleneckModel.predict_quantiles(features)`.
        stages: the stage vocabulary.
        quantiles: the levels to compare (columns ``q<level>`` of `predicted`).
    """
    rows = quantile_rows(features, waits, stages)
    pred = predicted.set_index(["row", "stage"])
    key = pd.MultiIndex.from_arrays([rows["row"], rows["stage"]])
    out = []
    for q in quantiles:
        base_col = "s_med4" if q == 0.5 else ("s_p85_4" if q == 0.85 else None)
        if base_col is None:
            raise DataError(f"pinball_table: no baseline quantile for level {q}")
        model_q = pred[f"q{q:g}"].reindex(key).to_numpy()
        base_q = rows[base_col].fillna(0.0).to_numpy()
        y = rows["wait_h"].to_numpy()
        for stage in ["all", *stages]:
            m = np.ones(len(rows), dtype=bool) if stage == "all" else (rows["stage"] == stage)
            m = np.asarray(m)
            out.append(
                {
                    "quantile": q,
                    "stage": stage,
                    "n": int(m.sum()),
                    "model": pinball(y[m], model_q[m], q),
                    "baseline": pinball(y[m], base_q[m], q),
                }
            )
    table = pd.DataFrame(out)
    table["ratio"] = table["model"] / table["baseline"]
    return table
