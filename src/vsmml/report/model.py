"""The report's parts: tables, plots and sections, and the result object that renders them.

A section is a small object (a heading, a few sentences, tables, plots, notes and the numbers
behind them); a `Report` is a list of sections with `to_dict()`, `to_markdown()`,
`save_html()` and `_repr_html_()` (so a notebook shows it inline).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

Cell = str | int | float | bool | None
Formatter = Callable[[Any], str]
ALLOWED_LINK_PREFIXES: Final = ("/", "#", "?", "http://127.0.0.1", "http://localhost", "https://")


def safe_href(href: str | None) -> str | None:
    """`href` when it is a relative or local link (never ``javascript:`` or a data URL)."""
    if not href:
        return None
    return href if href.startswith(ALLOWED_LINK_PREFIXES) else None


def plain(value: Any) -> Any:
    """A JSON value for `value`: numpy scalars unwrapped, NaN/inf and NaT as None, times ISO."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value) if not isinstance(value, str) else value


@dataclass(frozen=True)
class Link:
    """A cell that points somewhere: its text and a URL (rendered as a link in HTML only)."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Table:
    """A small table: column titles, rows of already formatted cells, the raw values behind them.

    `rows` hold what people read (text); `values` hold the numbers (`to_dict`, tests).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | Link, ...], ...]
    values: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""
    numeric: tuple[bool, ...] = ()
    anchors: tuple[str, ...] = ()
    """Optional ids of the rows (``incident-<id>``), so other pages can link to a row."""

    @classmethod
    def from_frame(
        cls,
        title: str,
        frame: pd.DataFrame,
        columns: Mapping[str, str],
        formats: Mapping[str, Formatter] | None = None,
        *,
        note: str = "",
        links: Mapping[str, Callable[[Any], str | None]] | None = None,
    ) -> Table:
        """Rows of `frame`'s `columns` (name → title), each cell through its formatter.

        Args:
            links: column → function giving the URL of a cell's value (None: no link).
        """
        fmts = formats or {}
        hrefs = links or {}
        rows: list[tuple[str | Link, ...]] = []
        values: list[tuple[Cell, ...]] = []
        for rec in frame[list(columns)].itertuples(index=False, name=None):
            cells: list[str | Link] = []
            for name, v in zip(columns, rec, strict=True):
                text = fmts.get(name, text_of)(v)
                href = safe_href(hrefs[name](v)) if name in hrefs and not _missing(v) else None
                cells.append(Link(text, href) if href else text)
            rows.append(tuple(cells))
            values.append(tuple(plain(v) for v in rec))
        numeric = tuple(pd.api.types.is_numeric_dtype(frame[c].dtype) for c in columns)
        return cls(title, tuple(columns.values()), tuple(rows), tuple(values), note, numeric)

    def to_dict(self) -> dict[str, Any]:
        """Title, column titles and the raw values."""
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.values] or [[str(c) for c in r] for r in self.rows],
            "note": self.note,
        }

    def __len__(self) -> int:
        return len(self.rows)


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def text_of(v: Any) -> str:
    """A cell's default text: numbers with sensible precision, missing values as an en dash."""
    if _missing(v):
        return "–"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        x = float(v)
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"
    if isinstance(v, pd.Timestamp):
        return v.tz_convert("UTC").strftime("%Y-%m-%d %H:%M") if v.tzinfo else v.isoformat()
    return str(v)


@dataclass(frozen=True)
class Plot:
    """One figure as an inline ``<svg>`` element, with a title, a caption and its data."""

    key: str
    title: str
    svg: str
    caption: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Title, caption and the numbers plotted (not the drawing)."""
        return {
            "key": self.key,
            "title": self.title,
            "caption": self.caption,
            "data": plain(self.data),
        }


@dataclass(frozen=True)
class Card:
    """A block for one item read on its own (a recommendation): a title, a line of metadata,
    labelled fields and a list of bullet points (e.g. the evidence)."""

    title: str
    meta: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    bullets: tuple[str, ...] = ()
    bullets_title: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "title": self.title,
            "meta": self.meta,
            "fields": dict(self.fields),
            "bullets": list(self.bullets),
        }


@dataclass(frozen=True)
class Section:
    """One heading of the report: a few sentences, tables, plots, notes and its numbers.

    Attributes:
        key: a stable identifier (``dora``, ``lead_time`` ...), the HTML anchor.
        heading: the heading people read ("DORA").
        summary: the sentences that say what matters, most important first.
        facts: the numbers behind the sentences (JSON values), for `to_dict` and tests.
        tables, plots, cards: what the section shows.
        notes: caveats (too little data, a source missing, how a number was computed).
    """

    key: str
    heading: str
    summary: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    plots: tuple[Plot, ...] = ()
    notes: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "key": self.key,
            "heading": self.heading,
            "summary": list(self.summary),
            "facts": plain(self.facts),
            "tables": [t.to_dict() for t in self.tables],
            "plots": [p.to_dict() for p in self.plots],
            "notes": list(self.notes),
            "cards": [c.to_dict() for c in self.cards],
        }


@dataclass(frozen=True)
class Report:
    """The weekly report: what it covers and its sections, in reading order.

    Attributes:
        title: the page title.
        period: the week's label (``2026-W26``) and `span` its days for people.
        scope: ``organisation``, ``service checkout`` or ``team atlas``.
        since, until: the instants covered, [since, until).
        highlights: the five-minute summary: one line per section that matters most.
        sections: the sections in order.
        provenance: where the data came from (store, model, counts), for the footer.
    """

    title: str
    period: str
    span: str
    scope: str
    since: pd.Timestamp
    until: pd.Timestamp
    sections: tuple[Section, ...]
    highlights: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        """The section with `key` (KeyError naming the keys there are)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r}; sections: {[s.key for s in self.sections]}")

    @property
    def plots(self) -> list[Plot]:
        """Every plot, in reading order."""
        return [p for s in self.sections for p in s.plots]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (no drawings): what a script or a test reads."""
        return {
            "title": self.title,
            "period": self.period,
            "span": self.span,
            "scope": self.scope,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "highlights": list(self.highlights),
            "sections": [s.to_dict() for s in self.sections],
            "provenance": plain(self.provenance),
        }

    def to_html(self) -> str:
        """One self-contained HTML document: inline styles and SVG, no external resources."""
        from vsmml.report.render import render_report

        return render_report(self)

    def to_markdown(self) -> str:
        """The Markdown summary: highlights, each section's sentences and key tables."""
        from vsmml.report.markdown import report_markdown

        return report_markdown(self)

    def save_html(self, path: str | Path) -> Path:
        """Write `to_html()` to `path` (UTF-8) and return the path."""
        out = Path(path)
        out.write_text(self.to_html(), encoding="utf-8")
        return out

    def save_markdown(self, path: str | Path) -> Path:
        """Write `to_markdown()` to `path` (UTF-8) and return the path."""
        out = Path(path)
        out.write_text(self.to_markdown(), encoding="utf-8")
        return out

    def _repr_html_(self) -> str:
        """Jupyter shows the report inline (the same document, styles scoped to it)."""
        from vsmml.report.render import render_report

        return render_report(self, fragment=True)


def cells(values: Sequence[Any]) -> tuple[str, ...]:
    """Default texts of a row of values."""
    return tuple(text_of(v) for v in values)
