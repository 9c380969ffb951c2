"""The report's figures, drawn with matplotlib (no pyplot) and returned as inline SVG strings.

Each function takes a small frame the section built and returns `to_svg` of its figure; none
reads files or settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from vsmml.report.svg import new_figure, style, to_svg

if TYPE_CHECKING:
    import networkx as nx

BLUE: Final = "#2e86c1"
RED: Final = "#c0392b"
GREY: Final = "#95a5a6"
GREEN: Final = "#27ae60"
AMBER: Final = "#e67e22"
STAGE_COLOURS: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def stage_colour(order: int) -> str:
    """The colour of the stage at position `order` of the value stream."""
    return STAGE_COLOURS[order % len(STAGE_COLOURS)]


BAND_POINT: Final[dict[str, str]] = {
    "elite": "#1e8449",
    "high": "#58d68d",
    "medium": "#f5b041",
    "low": "#e74c3c",
}


def dora_trend(
    weekly: pd.DataFrame,
    panels: Sequence[tuple[str, str]],
    current: pd.Timestamp,
    key: str = "dora-trend",
) -> str:
    """Small multiples, one per DORA key: its weekly value, each point coloured by its band.

    Args:
        weekly: columns period, metric, value, band (one scope).
        panels: (metric, title) of each panel.
        current: the report week's period start (drawn larger, outlined).
    """
    from matplotlib.lines import Line2D

    with style():
        fig = new_figure(9.0, 4.6)
        axes = fig.subplots(2, 2).ravel()
        for ax, (metric, title) in zip(axes, panels, strict=False):
            rows = weekly.loc[weekly["metric"] == metric].sort_values("period")
            x = np.arange(len(rows))
            y = rows["value"].to_numpy(dtype=float)
            colours = [BAND_POINT.get(str(b), GREY) for b in rows["band"]]
            ax.plot(x, y, color=BLUE, lw=1.2, zorder=2)
            ax.scatter(x, y, c=colours, s=36, zorder=3, edgecolors="none")
            cur = (rows["period"] == current).to_numpy(dtype=bool)
            ax.scatter(
                x[cur],
                y[cur],
                c=[c for c, k in zip(colours, cur, strict=True) if k],
                s=110,
                zorder=4,
                edgecolors="black",
                linewidths=1.2,
            )
            finite = y[np.isfinite(y)]
            ax.set_ylim(0, float(finite.max()) * 1.2 if finite.size and finite.max() > 0 else 1.0)
            ax.set_title(title, loc="left")
            ax.set_xticks(x, [p.strftime("W%V") for p in rows["period"]])
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        handles = [
            Line2D([], [], marker="o", ls="none", color=c, label=b) for b, c in BAND_POINT.items()
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8)
        return to_svg(fig, key)


def stage_bars(frame: pd.DataFrame, stages: Sequence[str], key: str = "lead-time-stages") -> str:
    """Horizontal bars per service, stacked by stage: mean hours per change (wait + active).

    Args:
        frame: columns service, stage, time_mean_h.
        stages: the stages in value-stream order (legend and stacking order).
    """
    wide = frame.pivot_table(index="service", columns="stage", values="time_mean_h", aggfunc="sum")
    wide = wide.reindex(columns=[s for s in stages if s in wide.columns]).fillna(0.0)
    wide = wide.loc[wide.sum(axis=1).sort_values().index]
    with style():
        fig = new_figure(9.0, max(2.2, 0.38 * len(wide) + 1.3))
        ax = fig.add_subplot()
        left = np.zeros(len(wide))
        y = np.arange(len(wide))
        for stage in wide.columns:
            vals = wide[stage].to_numpy(dtype=float)
            colour = stage_colour(list(stages).index(stage))
            ax.barh(y, vals, left=left, color=colour, label=stage, height=0.7)
            left += vals
        for yi, total in zip(y, left, strict=True):
            ax.text(float(total), float(yi), f" {total:.0f} h", va="center", fontsize=8)
        ax.set_yticks(y, [str(s) for s in wide.index])
        ax.set_xlabel("mean hours per change, first commit → production (wait + active)")
        ax.set_xlim(0, float(left.max()) * 1.12 if len(left) and left.max() > 0 else 1.0)
        ax.legend(
            ncols=min(5, len(wide.columns)),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16 if len(wide) > 4 else -0.3),
            fontsize=8,
        )
        return to_svg(fig, key)


def value_stream(graph: nx.DiGraph, constraint: str | None, key: str = "value-stream") -> str:
    """The value-stream map (`vsmml.graph.draw`): stages with wait and active time, the
    constraint in red, rework loops below."""
    from vsmml.graph.draw import draw_value_stream

    with style():
        fig = draw_value_stream(graph, constraint=constraint, title=f"value stream: {graph.name}")
        fig.set_size_inches(9.0, 3.6)
        return to_svg(fig, key)


def stage_shares(frame: pd.DataFrame, constraint: str | None, key: str = "constraint") -> str:
    """Each stage's share of lead time, split into wait and active; the constraint in red.

    Args:
        frame: columns stage, wait_share_of_lead, active_share_of_lead (value-stream order).
    """
    with style():
        fig = new_figure(9.0, 2.9)
        ax = fig.add_subplot()
        x = np.arange(len(frame))
        colours = [RED if s == constraint else BLUE for s in frame["stage"]]
        wait = frame["wait_share_of_lead"].to_numpy(dtype=float) * 100
        active = frame["active_share_of_lead"].to_numpy(dtype=float) * 100
        ax.bar(x, wait, color=colours, alpha=0.45, hatch="//", label="waiting")
        ax.bar(x, active, bottom=wait, color=colours, label="working")
        for xi, total in zip(x, wait + active, strict=True):
            ax.text(float(xi), float(total), f"{total:.0f}%", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [str(s) for s in frame["stage"]], rotation=20, ha="right")
        ax.set_ylabel("% of lead time")
        ax.set_ylim(0, max(float((wait + active).max()) * 1.2, 1.0) if len(x) else 1.0)
        ax.legend(loc="upper right", fontsize=8)
        return to_svg(fig, key)


def slo_budgets(frame: pd.DataFrame, key: str = "slo-budgets") -> str:
    """Error budget left per service at the end of the week (bars) and the outlook a week on
    (black tick); red when spent or paging, amber when a ticket alert fired.

    Args:
        frame: columns service, budget_remaining, projected (may be NaN), alerting ("page",
            "ticket" or "").
    """
    f = frame.sort_values("budget_remaining", ascending=False).reset_index(drop=True)
    with style():
        fig = new_figure(9.0, max(2.2, 0.34 * len(f) + 1.1))
        ax = fig.add_subplot()
        y = np.arange(len(f))
        left = f["budget_remaining"].to_numpy(dtype=float) * 100
        colours = [
            RED if (v <= 0 or a == "page") else AMBER if a == "ticket" else GREEN
            for v, a in zip(left, f["alerting"], strict=True)
        ]
        ax.barh(y, left, color=colours, height=0.65)
        proj = f["projected"].to_numpy(dtype=float) * 100
        ok = np.isfinite(proj)
        ax.plot(
            proj[ok],
            y[ok],
            marker="|",
            markersize=14,
            mew=2,
            color="black",
            ls="none",
            label="outlook in a week",
        )
        ax.axvline(0, color="#34495e", lw=0.8)
        ax.set_yticks(y, [str(s) for s in f["service"]])
        ax.invert_yaxis()
        ax.set_xlabel("% of the error budget left (30-day window); below 0: overspent")
        if ok.any():
            ax.legend(loc="lower right", fontsize=8)
        return to_svg(fig, key)


def risk_histogram(
    risk: np.ndarray, failed: np.ndarray, threshold: float, key: str = "risk-histogram"
) -> str:
    """Histogram of the week's change risk, failed changes stacked in red, the gate threshold."""
    bins = np.linspace(0.0, 1.0, 21)
    with style():
        fig = new_figure(9.0, 2.8)
        ax = fig.add_subplot()
        ok = risk[~failed.astype(bool)]
        bad = risk[failed.astype(bool)]
        ax.hist(
            [ok, bad],
            bins=list(bins),
            stacked=True,
            color=[BLUE, RED],
            label=["no failure seen", "failed (incident or rollback)"],
        )
        ax.axvline(threshold, color="black", ls="--", lw=1)
        ax.text(
            threshold,
            ax.get_ylim()[1] * 0.95,
            f" gate threshold {threshold:.2f}",
            fontsize=8,
            va="top",
        )
        ax.set_xlabel("predicted probability that the change fails in production")
        ax.set_ylabel("changes")
        ax.set_xlim(0, 1)
        ax.legend(loc="upper right", fontsize=8)
        return to_svg(fig, key)


def calibration(bins: pd.DataFrame, key: str = "calibration") -> str:
    """Predicted vs observed failure rate per risk bin (marker area: changes in the bin).

    Args:
        bins: columns predicted, observed, n.
    """
    with style():
        fig = new_figure(4.8, 4.0)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color=GREY, ls="--", lw=1, label="perfectly calibrated")
        n = bins["n"].to_numpy(dtype=float)
        size = 20 + 180 * n / n.max() if len(n) and n.max() > 0 else 20
        ax.plot(bins["predicted"], bins["observed"], color=BLUE, lw=1)
        ax.scatter(
            bins["predicted"],
            bins["observed"],
            s=size,
            color=BLUE,
            zorder=3,
            label="changes per bin (area)",
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("predicted failure probability")
        ax.set_ylabel("observed failure rate")
        ax.legend(loc="upper left", fontsize=8)
        return to_svg(fig, key)


def series_panel(
    series: Mapping[str, pd.DataFrame],
    marks: Mapping[str, pd.DataFrame],
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    ylabel: str,
    key: str,
) -> str:
    """One line per series over [since, until) with its marked points (e.g. anomalies).

    Args:
        series: name → (timestamp, value) frame.
        marks: name → (timestamp, value) frame of the points to mark.
    """
    with style():
        fig = new_figure(9.0, 2.8)
        ax = fig.add_subplot()
        for i, (name, frame) in enumerate(series.items()):
            colour = stage_colour(i)
            ax.plot(frame["timestamp"], frame["value"], color=colour, lw=1, label=name)
            m = marks.get(name)
            if m is not None and not m.empty:
                ax.plot(
                    m["timestamp"],
                    m["value"],
                    marker="o",
                    ls="none",
                    color=colour,
                    markeredgecolor="black",
                )
        ax.set_xlim(since, until)  # type: ignore[arg-type]
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left", fontsize=8, ncols=min(4, max(len(series), 1)))
        fig.autofmt_xdate()
        return to_svg(fig, key)


def lines_by_group(frame: pd.DataFrame, *, ylabel: str, key: str, percent: bool = False) -> str:
    """One line per group over the weeks (columns period, group, value)."""
    with style():
        fig = new_figure(9.0, 3.2)
        ax = fig.add_subplot()
        periods = sorted(frame["period"].unique())
        x = {p: i for i, p in enumerate(periods)}
        for i, (name, g) in enumerate(frame.groupby("group", sort=True)):
            g = g.sort_values("period")
            y = g["value"].to_numpy(dtype=float) * (100 if percent else 1)
            ax.plot(
                [x[p] for p in g["period"]],
                y,
                marker="o",
                ms=3,
                lw=1.4,
                color=stage_colour(i),
                label=str(name),
            )
        ax.set_xticks(range(len(periods)), [pd.Timestamp(p).strftime("W%V") for p in periods])
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        return to_svg(fig, key)


def heatmap(
    frame: pd.DataFrame, *, title: str, key: str, vmax: float | None = None, percent: bool = False
) -> str:
    """Rows × columns of values as coloured cells with their numbers (columns row, col,
    value; darker is worse); vector rectangles, no raster image."""
    wide = frame.pivot_table(index="row", columns="col", values="value", aggfunc="mean")
    wide = wide.sort_index().reindex(columns=sorted(wide.columns))
    vals = wide.to_numpy(dtype=float)
    top = vmax if vmax is not None else (np.nanmax(vals) if np.isfinite(vals).any() else 1.0)
    with style():
        fig = new_figure(9.0, max(2.0, 0.34 * len(wide) + 1.0))
        ax = fig.add_subplot()
        mesh = ax.pcolormesh(
            np.ma.masked_invalid(vals),
            cmap="OrRd",
            vmin=0.0,
            vmax=max(float(top), 1e-9),
            edgecolors="white",
            linewidth=1,
        )
        for (r, c), v in np.ndenumerate(vals):
            if np.isfinite(v):
                text = f"{v * 100:.0f}" if percent else f"{v:.1f}"
                ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=7)
        ax.set_yticks(np.arange(len(wide)) + 0.5, [str(s) for s in wide.index])
        ax.set_xticks(
            np.arange(len(wide.columns)) + 0.5,
            [pd.Timestamp(c).strftime("W%V") for c in wide.columns],
        )
        ax.invert_yaxis()
        ax.set_title(title, loc="left")
        fig.colorbar(mesh, ax=ax, fraction=0.03, pad=0.01)
        return to_svg(fig, key)


def stage_durations(frame: pd.DataFrame, key: str = "stage-durations") -> str:
    """Queue and run time per pipeline step (columns step, queue_min, run_min; failed runs red)."""
    with style():
        fig = new_figure(9.0, max(2.0, 0.32 * len(frame) + 1.0))
        ax = fig.add_subplot()
        y = np.arange(len(frame))
        q = frame["queue_min"].to_numpy(dtype=float)
        r = frame["run_min"].to_numpy(dtype=float)
        colours = [RED if f else BLUE for f in frame["failed"]]
        ax.barh(y, q, color=GREY, alpha=0.6, label="queued")
        ax.barh(y, r, left=q, color=colours, label="running (red: failed)")
        ax.set_yticks(y, [str(s) for s in frame["step"]])
        ax.invert_yaxis()
        ax.set_xlabel("minutes")
        ax.legend(loc="lower right", fontsize=8)
        return to_svg(fig, key)
