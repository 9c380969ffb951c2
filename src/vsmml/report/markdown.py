"""The Markdown summary of a report: highlights, each section's sentences and first table."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from vsmml.report.model import Report, Table

_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|#])")
MAX_ROWS: Final[int] = 12


def md(text: object) -> str:
    """`text` with Markdown's special characters escaped and line breaks flattened."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_table(t: Table, max_rows: int = MAX_ROWS) -> list[str]:
    """A pipe table of the first `max_rows` rows (a line says how many were left out)."""
    lines = [
        f"**{md(t.title)}**",
        "",
        "| " + " | ".join(md(c) for c in t.columns) + " |",
        "|"
        + "|".join("---:" if (t.numeric and t.numeric[i]) else "---" for i in range(len(t.columns)))
        + "|",
    ]
    for row in t.rows[:max_rows]:
        lines.append("| " + " | ".join(md(c) for c in row) + " |")
    if len(t.rows) > max_rows:
        lines.append(f"\n_{len(t.rows) - max_rows} more row(s) in the HTML report._")
    return [*lines, ""]


def report_markdown(report: Report) -> str:
    """The summary an engineering lead reads in five minutes (the HTML file has the plots)."""
    lines = [f"# {md(report.title)}", "", f"{md(report.span)} (UTC) · {md(report.scope)}", ""]
    if report.highlights:
        lines += ["## In five minutes", ""]
        lines += [f"- {md(h)}" for h in report.highlights]
        lines.append("")
    for s in report.sections:
        lines += [f"## {md(s.heading)}", ""]
        lines += [f"- {md(x)}" for x in s.summary]
        lines.append("")
        if s.key == "recommendations":
            for c in s.cards:
                lines += [f"### {md(c.title)}", "", f"_{md(c.meta)}_", ""]
                lines += [f"- **{md(k)}:** {md(v)}" for k, v in c.fields]
                lines += [f"  - {md(b)}" for b in c.bullets[:3]]
                lines.append("")
        elif s.tables:
            lines += md_table(s.tables[0])
        if s.notes:
            lines += [f"_{md(n)}_" for n in s.notes]
            lines.append("")
    if report.provenance:
        lines.append(" · ".join(f"{md(k)}: {md(v)}" for k, v in report.provenance.items()))
    return "\n".join(lines).rstrip() + "\n"
