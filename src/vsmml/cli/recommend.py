"""`vsmml recommend`: what to fix first, with evidence and the expected effect.

Thin: `vsmml.pipeline.recommend.recommendations` reads the store and ranks; this module only
formats (a table, JSON records, or Markdown).
"""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.text import safe


class Format(enum.StrEnum):
    """Output formats."""

    table = "table"
    json = "json"
    markdown = "markdown"


class Category(enum.StrEnum):
    """Recommendation categories."""

    flow = "flow"
    quality = "quality"
    reliability = "reliability"
    risk = "risk"
    data = "data"


@app.command()
def recommend(
    service: Annotated[
        str | None, typer.Option(help="Only recommendations for this service.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only recommendations for this team.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Window start, ISO-8601 with offset (default: 4 weeks back).")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="Window end (exclusive), ISO-8601 with offset (default: last full week)."
        ),
    ] = None,
    weeks: Annotated[int, typer.Option(min=1, max=52, help="Window length without --since.")] = 4,
    top: Annotated[int | None, typer.Option(min=1, max=1000, help="Show the first N.")] = None,
    category: Annotated[Category | None, typer.Option(help="Only one category.")] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json or markdown.")
    ] = Format.table,
) -> None:
    """Ranked recommendations: finding, evidence (event ids), action, expected effect."""
    from vsmml.pipeline.recommend import RecommendRequest, recommendations, to_markdown, to_table

    request = RecommendRequest(
        service=service,
        team=team,
        since=since,
        until=until,
        weeks=weeks,
        top=top,
        category=category.value if category else None,
    )
    result = recommendations(request)
    if fmt is Format.json:
        typer.echo(json.dumps(result.to_list(), indent=2))
    elif fmt is Format.markdown:
        typer.echo(safe(to_markdown(result)), nl=False)
    else:
        typer.echo(safe(to_table(result)))
