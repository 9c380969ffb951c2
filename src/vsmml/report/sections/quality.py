"""The Data quality section: link coverage per source, quarantined and skipped records, and
ingest latency; what the numbers above can be trusted for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from vsmml.report import fmt
from vsmml.report.model import Section, Table

LOW_COVERAGE: Final[float] = 0.9


@dataclass(frozen=True)
class QualityWeek:
    """The week's data-quality numbers.

    Attributes:
        coverage: `vsmml.correlate.link_coverage` of the week's events (source, kind, events,
            linked, share; ``kind="*"`` is the source's total).
        quarantine: records quarantined this week (source, field, reason, received_at).
        open_quarantine: how many quarantined records are unresolved in the store;
            `open_reasons` holds them (source, field, reason).
        skipped: records skipped by type this week (source, type, records), from re-converting
            the week's raw payloads; `skipped_note` says what was checked.
        latency: per source: events, median_s, p85_s, max_s (received_at − ts).
    """

    coverage: pd.DataFrame
    quarantine: pd.DataFrame
    open_quarantine: int
    open_reasons: pd.DataFrame
    skipped: pd.DataFrame
    skipped_note: str
    latency: pd.DataFrame


def quality_section(q: QualityWeek) -> Section:
    """Build the Data quality section."""
    cov = q.coverage
    totals = cov.loc[cov["kind"] == "*"] if not cov.empty else cov
    kinds = cov.loc[cov["kind"] != "*"] if not cov.empty else cov
    lines = []
    if totals.empty:
        lines.append("No delivery events this week: nothing to link.")
    else:
        events = int(totals["events"].sum())
        share = float(totals["linked"].sum()) / events if events else float("nan")
        lines.append(
            f"{events:,} linkable events from {len(totals)} source(s) this week; "
            f"{fmt.rate(share)} attach to a change, deployment or incident."
        )
        low = kinds.loc[kinds["share"] < LOW_COVERAGE].sort_values("share")
        if not low.empty:
            worst = low.iloc[0]
            lines.append(
                f"Lowest coverage: {worst['source']} {worst['kind']} at {fmt.rate(worst['share'])} "
                f"({int(worst['events'] - worst['linked'])} of {int(worst['events'])} unlinked): "
                "metrics miss what they cannot link."
            )
    n_q = len(q.quarantine)
    if n_q:
        reasons = q.quarantine.groupby(["source", "field"], dropna=False).size()
        top = reasons.sort_values(ascending=False).head(3)
        parts = [f"{key[0]} ‘{key[1]}’ ×{n}" for key, n in zip(top.index, top, strict=True)]
        lines.append(
            f"{n_q} record(s) quarantined this week ({', '.join(parts)}); "
            f"{q.open_quarantine} open in all (`vsmml quarantine list`)."
        )
    else:
        lines.append(f"Nothing quarantined this week; {q.open_quarantine} record(s) open in all.")
    skipped = int(q.skipped["records"].sum()) if not q.skipped.empty else 0
    lines.append(
        f"{skipped} record(s) skipped by type this week ({q.skipped_note})."
        if skipped
        else f"No record skipped by type ({q.skipped_note})."
    )
    if not q.latency.empty:
        slow = q.latency.sort_values("p85_s", ascending=False).iloc[0]
        lines.append(
            f"Ingest latency (received − happened): slowest source {slow['source']}, median "
            f"{fmt.seconds(slow['median_s'])}, p85 {fmt.seconds(slow['p85_s'])}."
        )
    tables = []
    if not totals.empty:
        per_source = _coverage_table(totals, kinds)
        tables.append(
            Table.from_frame(
                "Link coverage per source",
                per_source,
                {
                    "source": "source",
                    "events": "events",
                    "linked": "linked",
                    "share": "share",
                    "weakest": "weakest kind",
                    "weakest_share": "its share",
                },
                {"share": fmt.rate, "weakest_share": fmt.rate},
            )
        )
    shown = q.quarantine if n_q else q.open_reasons
    if len(shown):
        qt = (
            shown.groupby(["source", "field", "reason"], dropna=False)
            .size()
            .rename("records")
            .reset_index()
            .sort_values("records", ascending=False, kind="stable")
            .head(10)
        )
        tables.append(
            Table.from_frame(
                "Quarantined this week" if n_q else "Open in quarantine (none this week)",
                qt,
                {"source": "source", "field": "field", "reason": "reason", "records": "records"},
            )
        )
    if skipped:
        tables.append(
            Table.from_frame(
                "Skipped by type this week",
                q.skipped,
                {"source": "source", "type": "type", "records": "records"},
            )
        )
    if not q.latency.empty:
        tables.append(
            Table.from_frame(
                "Ingest latency per source (this week's events)",
                q.latency,
                {
                    "source": "source",
                    "events": "events",
                    "median_s": "median",
                    "p85_s": "p85",
                    "max_s": "max",
                },
                {"median_s": fmt.seconds, "p85_s": fmt.seconds, "max_s": fmt.seconds},
                note="received_at − ts: a replayed or back-filled source shows its age here",
            )
        )
    facts: dict[str, Any] = {
        "coverage": cov.to_dict("records"),
        "quarantined": n_q,
        "open_quarantine": q.open_quarantine,
        "skipped": q.skipped.to_dict("records"),
        "latency": q.latency.to_dict("records"),
    }
    return Section("data_quality", "Data quality", tuple(lines), facts, tuple(tables))


def _coverage_table(totals: pd.DataFrame, kinds: pd.DataFrame) -> pd.DataFrame:
    out = totals[["source", "events", "linked", "share"]].copy()
    weakest = kinds.sort_values(["source", "share"], kind="stable").drop_duplicates("source")
    w = weakest.set_index("source")
    out["weakest"] = out["source"].map(w["kind"])
    out["weakest_share"] = out["source"].map(w["share"])
    return out.reset_index(drop=True)
