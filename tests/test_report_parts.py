"""The report's pure parts on tiny inline frames: weeks, tables, SVG, sections, SLO helpers."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError
from vsmml.pipeline.report import choose_week, report_name
from vsmml.report import IsoWeek, Link, Report, Section, Table, latest_complete_week
from vsmml.report.markdown import md, report_markdown
from vsmml.report.model import plain, safe_href
from vsmml.report.sections.dora import changed_most
from vsmml.report.sections.risk import calibration_bins, calibration_scores
from vsmml.report.slo_week import alert_episodes, budget_outlook, score_episodes, week_burn
from vsmml.report.svg import new_figure, style, to_svg

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


# -- weeks ------------------------------------------------------------------------------------
def test_iso_weeks_parse_and_span_monday_to_monday() -> None:
    w = IsoWeek.parse("2026-W47")
    assert (w.year, w.week, w.label) == (2026, 47, "2026-W47")
    assert w.start == ts("2026-11-16") and w.end == ts("2026-11-23")
    assert IsoWeek.parse("2026w7") == IsoWeek(2026, 7)
    assert IsoWeek.of(ts("2026-01-01 12:00")) == IsoWeek(2026, 1)  # ISO 2026-W01 starts 29 Dec
    assert IsoWeek.of(ts("2027-01-01")) == IsoWeek(2026, 53)
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52)
    with pytest.raises(DataError, match="2025 has no ISO week 53"):
        IsoWeek.parse("2025-W53")
    with pytest.raises(DataError, match="ISO week like 2026-W47"):
        IsoWeek.parse("week 47")
    with pytest.raises(DataError, match="timezone-aware"):
        IsoWeek.of(pd.Timestamp("2026-01-01"))


def test_latest_complete_week_is_the_one_before_the_latest_work_and_before_now() -> None:
    assert latest_complete_week(ts("2026-06-28 23:00")) == IsoWeek(2026, 25)
    assert latest_complete_week(ts("2026-06-29 00:01")) == IsoWeek(2026, 26)
    assert latest_complete_week(ts("2026-06-29"), now=ts("2026-06-23")) == IsoWeek(2026, 25)


def _events(kinds_ts: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"kind": [k for k, _ in kinds_ts], "ts": pd.to_datetime([t for _, t in kinds_ts], utc=True)}
    )


def test_choose_week_skips_back_over_weeks_without_events() -> None:
    ev = _events(
        [("commit", "2026-06-02"), ("commit", "2026-06-30"), ("deploy.finished", "2026-07-01")]
    )
    # the latest complete week before the last work (W26) has no events: W23 does
    assert choose_week(ev, None, now=ts("2026-12-01")) == IsoWeek(2026, 23)
    assert choose_week(ev, "2026-W27") == IsoWeek(2026, 27)
    with pytest.raises(
        DataError, match=r"--week 2026-W25: no events in that week; the store holds"
    ):
        choose_week(ev, "2026-W25")
    with pytest.raises(DataError, match="no complete week yet"):
        choose_week(_events([("commit", "2026-06-30")]), None, now=ts("2026-12-01"))


def test_report_file_names_are_safe() -> None:
    w = IsoWeek(2026, 5)
    assert report_name(w, "organisation") == "vsmml-report-2026-W05"
    assert report_name(w, "service ../../etc") == "vsmml-report-2026-W05-service-.._.._etc"


# -- tables, links, plain values ----------------------------------------------------------------
def test_tables_format_cells_keep_values_and_link_only_safely() -> None:
    frame = pd.DataFrame({"change": ["c-1", "c-2"], "risk": [0.41, np.nan]})
    t = Table.from_frame(
        "t",
        frame,
        {"change": "change", "risk": "risk"},
        {"risk": lambda v: "–" if pd.isna(v) else f"{v:.0%}"},
        links={"change": lambda v: f"/ui/debug?change={v}" if v == "c-1" else f"javascript:{v}"},
    )
    assert t.rows[0] == (Link("c-1", "/ui/debug?change=c-1"), "41%")
    assert t.rows[1] == ("c-2", "–")  # a javascript: link is dropped, the text stays
    assert t.to_dict()["rows"] == [["c-1", 0.41], ["c-2", None]]
    assert t.numeric == (False, True)
    assert safe_href("data:text/html,x") is None and safe_href("?token=1") == "?token=1"


def test_plain_turns_numpy_and_missing_values_into_json() -> None:
    out = plain({"a": np.int64(3), "b": np.float64("nan"), "c": ts("2026-01-01"), "d": pd.NaT})
    assert out == {"a": 3, "b": None, "c": "2026-01-01T00:00:00+00:00", "d": None}
    assert plain([np.bool_(True), math.inf]) == [True, None]


# -- SVG --------------------------------------------------------------------------------------
def test_svg_is_inline_with_prefixed_ids_and_text_kept_as_text() -> None:
    with style():
        fig = new_figure(3, 2)
        ax = fig.add_subplot()
        ax.bar([0, 1], [1, 2], hatch="//")
        ax.set_title("cost $5 <b>")
        svg = to_svg(fig, "k1")
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg
    ids = set(pd.Series(svg.split('id="')[1:]).str.split('"').str[0])
    assert ids and all(i.startswith("k1-") for i in ids)
    assert "url(#" not in svg.replace("url(#k1-", "")
    assert "cost $5 &lt;b&gt;" in svg  # no math parsing, markup escaped
    assert "<script" not in svg and "<metadata" not in svg
    urls = set(re.findall(r"https?://[^\"]+", svg))
    assert urls == {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # xmlns only


# -- sections ----------------------------------------------------------------------------------
def test_changed_most_ranks_band_moves_first_and_ignores_thin_weeks() -> None:
    week = ts("2026-06-22")
    last = week - pd.Timedelta(weeks=1)
    rows = [
        ("a", last, "change_failure_rate", 0.04, 20),
        ("a", week, "change_failure_rate", 0.20, 20),  # elite -> low: 3 band steps
        ("b", last, "lead_time_median", 10.0, 30),
        ("b", week, "lead_time_median", 20.0, 30),  # +100 % but the band stays elite
        ("c", last, "lead_time_median", 1.0, 1),
        ("c", week, "lead_time_median", 90.0, 1),  # too few changes to count
    ]
    services = pd.DataFrame(rows, columns=["service", "period", "metric", "value", "n"])
    scope = services.iloc[0:0].drop(columns="service")
    out = changed_most(scope, services, week)
    assert out["service"].tolist() == ["a", "b"]
    assert out.iloc[0]["band_last"] == "elite" and out.iloc[0]["band_this"] == "low"
    assert not out.iloc[0]["better"]


def test_calibration_bins_are_equal_count_and_scores_are_right() -> None:
    risk = np.linspace(0.0, 0.99, 100)
    failed = risk > 0.5
    bins = calibration_bins(risk, failed)
    assert len(bins) == 10 and bins["n"].tolist() == [10] * 10
    assert bins["observed"].iloc[0] == 0.0 and bins["observed"].iloc[-1] == 1.0
    cal = calibration_scores(risk, failed, bins)
    assert cal["brier"] == pytest.approx(np.mean((risk - failed) ** 2))
    assert cal["observed"] == pytest.approx(failed.mean())
    assert calibration_bins(risk[:5], failed[:5]).empty


def test_markdown_escapes_and_flattens_text() -> None:
    assert md("a|b *c* <x>\nd") == "a\\|b \\*c\\* \\<x\\> d"
    r = Report(
        "T", "2026-W01", "span", "organisation", ts("2026-01-01"), ts("2026-01-08"),
        (Section("dora", "DORA", ("one | two",), tables=(Table("tt", ("a",), (("1",),)),)),),
    )  # fmt: skip
    text = report_markdown(r)
    assert "## DORA" in text and "one \\| two" in text and "| a |" in text


# -- SLO helpers ---------------------------------------------------------------------------------
def _samples(service: str, start: str, hours: int, bad_from: str | None = None) -> pd.DataFrame:
    t = pd.date_range(start, periods=hours * 12, freq="5min", tz=UTC)
    bad = np.zeros(len(t))
    if bad_from is not None:
        bad[t >= ts(bad_from)] = 50.0
    return pd.DataFrame({"timestamp": t, "service": service, "good": 1000.0 - bad, "total": 1000.0})


def test_alert_episodes_start_and_end_where_the_burn_does() -> None:
    s = pd.concat(
        [
            _samples("api", "2026-06-01", 24 * 40, bad_from="2026-07-08 10:00"),
            _samples("web", "2026-06-01", 24 * 40),
        ]
    )
    s = s.loc[~((s["timestamp"] >= ts("2026-07-08 12:00")) & (s["service"] == "api"))]
    out = alert_episodes(s, 0.999, 30, ts("2026-07-06"), ts("2026-07-13"))
    assert set(out["service"]) == {"api"}
    page = out.loc[out["severity"] == "page"].iloc[0]
    assert ts("2026-07-08 10:00") <= page["start"] <= ts("2026-07-08 10:15")
    burn = week_burn(s, 0.999, ts("2026-07-06"), ts("2026-07-13")).set_index("service")
    assert burn.loc["web", "burn"] == 0.0 and burn.loc["api", "burn"] > 1.0


def test_budget_outlook_repeats_the_last_week() -> None:
    # 20 quiet days, then 10 days at exactly the budget rate (error ratio 0.001)
    quiet = _samples("api", "2026-06-01", 24 * 20)
    steady = _samples("api", "2026-06-21", 24 * 10)
    steady["good"] = 999.0
    s = pd.concat([quiet, steady], ignore_index=True)
    at = ts("2026-07-01")
    out = budget_outlook(s, 0.999, 30, at).iloc[0]
    # a week on, the 30-day window holds 13 quiet and 17 steady days: 1 - 17/30 left
    assert out["projected"] == pytest.approx(1 - 17 / 30, abs=0.01)
    assert out["error_ratio"] == pytest.approx(0.001)


def test_score_episodes_are_runs_above_the_threshold_inside_the_week() -> None:
    t = pd.date_range("2026-06-20", periods=24 * 14, freq="h", tz=UTC)
    score = np.zeros(len(t))
    score[(t >= ts("2026-06-23 05:00")) & (t < ts("2026-06-23 08:00"))] = [0.6, 0.9, 0.7]
    score[t == ts("2026-06-21 00:00")] = 0.99  # before the week: not reported
    f = pd.DataFrame({"timestamp": t, "value": score / 10, "score": score})
    out = score_episodes({"api": f}, 0.5, ts("2026-06-22"), ts("2026-06-29"))
    assert len(out) == 1
    row = out.iloc[0]
    assert row["start"] == ts("2026-06-23 05:00") and row["end"] == ts("2026-06-23 07:00")
    assert row["peak_at"] == ts("2026-06-23 06:00") and row["peak"] == 0.9
