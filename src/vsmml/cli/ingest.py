"""`vsmml ingest SOURCE PATH...`, `vsmml replay` and `vsmml quarantine list|show|retry`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app

quarantine_app = typer.Typer(
    help="See why records were rejected, and retry them after fixing the rules.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="YAML/JSON rules file: per-source sections of rule settings."),
]


def _print_messages(messages: list[str], limit: int = 10) -> None:
    for line in messages[:limit]:
        typer.echo(f"  - {line}", err=True)
    if len(messages) > limit:
        typer.echo(f"  ... ({len(messages) - limit} more; see `vsmml quarantine list`)", err=True)


@app.command()
def ingest(
    source: Annotated[
        str,
        typer.Argument(
            help="cdevents, github, gitlab, jenkins, pagerduty, git, devlake, jsonl or csv."
        ),
    ],
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders or globs; '-' reads standard input.")
    ],
    rules: RulesOption = None,
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            help="Service catalogue (our YAML or Backstage catalog-info.yaml) that attributes"
            " events to services and teams; repeatable. Default: VSMML_CATALOG.",
        ),
    ] = None,
) -> None:
    """Read a source's files into the store: raw payloads kept, events stored, rejects quarantined.

    Prints the accepted, duplicate and quarantined counts; exits 1 when nothing could be read.
    """
    from vsmml.config import get_settings
    from vsmml.errors import VsmmlError
    from vsmml.pipeline.ingest import ingest_paths, load_catalog
    from vsmml.pipeline.ingest.rules import rules_for
    from vsmml.store import Store

    default_catalog = get_settings().catalog
    catalog_files = catalog or ([default_catalog] if default_catalog else [])
    try:
        services = load_catalog(catalog_files) if catalog_files else None
        with Store.from_settings() as store:
            report = ingest_paths(
                store, source, paths, rules=rules_for(source, rules), catalog=services
            )
    except VsmmlError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for missing in report.missing:
        typer.echo(f"warning: {missing!r} matches no file", err=True)
    typer.echo(report.summary())
    _print_messages(report.messages)
    if report.nothing_read:
        typer.echo("error: nothing could be read", err=True)
        raise typer.Exit(1)


@app.command()
def replay(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    rules: RulesOption = None,
) -> None:
    """Re-convert stored raw payloads with today's converters and rules (idempotent)."""
    from vsmml.errors import VsmmlError
    from vsmml.pipeline.ingest.replay import replay as run_replay
    from vsmml.pipeline.ingest.rules import read_rules_file
    from vsmml.store import Store

    try:
        table = read_rules_file(rules) if rules else None
        with Store.from_settings() as store:
            report = run_replay(store, source=source, rules=table)
    except VsmmlError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(report.summary())
    if report.skipped:
        typer.echo(f"not replayable (no raw payloads kept): {', '.join(report.skipped)}")
    _print_messages(report.messages)


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved records.")] = False,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """List quarantined records: id, source, location, field and reason."""
    from vsmml.store import Store

    with Store.from_settings(read_only=False) as store:
        q = store.read_quarantine(source=source, include_resolved=all_)
    if q.empty:
        typer.echo("quarantine is empty")
        return
    for _, row in q.head(limit).iterrows():
        done = (
            " (resolved)"
            if row["resolved_at"] is not None and str(row["resolved_at"]) not in ("NaT", "None")
            else ""
        )
        where = f"{row['quarantine_id']:>6}  {row['source']:<10} {row['location']}"
        typer.echo(f"{where}  {row['field']!r}: {row['reason']}{done}")
    if len(q) > limit:
        typer.echo(f"... {len(q) - limit} more (use --limit)")


@quarantine_app.command("show")
def quarantine_show(
    quarantine_id: Annotated[int, typer.Argument(help="Id from `quarantine list`.")],
) -> None:
    """Show one quarantined record in full: where, why, and the record itself."""
    from vsmml.store import Store

    with Store.from_settings() as store:
        q = store.read_quarantine(include_resolved=True)
    row = q[q["quarantine_id"] == quarantine_id]
    if row.empty:
        typer.echo(f"error: no quarantined record {quarantine_id}", err=True)
        raise typer.Exit(1)
    rec = row.iloc[0]
    for name in (
        "quarantine_id",
        "received_at",
        "source",
        "location",
        "field",
        "reason",
        "resolved_at",
    ):
        typer.echo(f"{name}: {rec[name]}")
    typer.echo("record:")
    typer.echo(str(rec["record"]))


@quarantine_app.command("retry")
def quarantine_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Ids to retry (default: all open).")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    rules: RulesOption = None,
) -> None:
    """Convert quarantined records again with the current rules; resolve the ones that land."""
    from vsmml.errors import VsmmlError
    from vsmml.pipeline.ingest.replay import retry_quarantine
    from vsmml.pipeline.ingest.rules import read_rules_file
    from vsmml.store import Store

    try:
        table = read_rules_file(rules) if rules else None
        with Store.from_settings() as store:
            report = retry_quarantine(store, ids=ids or None, source=source, rules=table)
    except VsmmlError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(report.summary())
    _print_messages(report.messages)
