"""`vsmml ingest SOURCE PATH...`, `vsmml replay` and `vsmml quarantine list|show|retry`.

Thin: `vsmml.pipeline.ingest.commands` does the work; this module parses and formats. With
``--server URL`` (token in ``VSMML_TOKEN``) ingest, replay and retry go through the running
server that owns the store (`vsmml.pipeline.service_client`). Stored text (locations,
reasons, records) is printed through `safe` (control characters escaped).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.text import one_line, safe
from vsmml.errors import DataError

quarantine_app = typer.Typer(
    help="See why records were rejected, and retry them after fixing the rules.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="YAML/JSON rules file: per-source sections of rule settings."),
]

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Go through the server at this URL (it owns the store while it runs); "
        "the token comes from VSMML_TOKEN.",
    ),
]


def _print_messages(messages: list[str], limit: int = 10) -> None:
    for line in messages[:limit]:
        typer.echo(f"  - {one_line(line)}", err=True)
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
    server: ServerOption = None,
) -> None:
    """Read a source's files into the store: raw payloads kept, events stored, rejects quarantined.

    Prints the records read and what became of them (accepted, duplicates, quarantined,
    skipped); exits 2 when nothing could be read.
    """
    from vsmml.config import get_settings
    from vsmml.pipeline.ingest.commands import IngestRequest, run_ingest

    if server is not None:
        _ingest_through(server, source, paths, rules, catalog)
        return
    request = IngestRequest(source, paths, rules, catalog or ())
    stdin = sys.stdin.buffer if "-" in paths else None
    report = run_ingest(get_settings(), request, stdin=stdin)
    for missing in report.missing:
        typer.echo(f"warning: {safe(repr(missing))} matches no file", err=True)
    for warning in report.warnings:
        typer.echo(f"warning: {one_line(warning)}", err=True)
    typer.echo(safe(report.summary()))
    for note in report.notes:
        typer.echo(f"note: {one_line(note)}")
    _print_messages(report.messages)
    if report.nothing_read:
        raise DataError("nothing could be read")


def _ingest_through(
    server: str, source: str, paths: list[str], rules: Path | None, catalog: list[Path] | None
) -> None:
    from vsmml.pipeline.ingest.rules import rules_for
    from vsmml.pipeline.service_client import ingest_through

    if "-" in paths:
        raise DataError("ingest --server: standard input is not sent; give files")
    if catalog:
        raise DataError("ingest --server: the server attributes with its own VSMML_CATALOG")
    report = ingest_through(server, source, paths, rules=dict(rules_for(source, rules)))
    for missing in report.missing:
        typer.echo(f"warning: {safe(repr(missing))} matches no file", err=True)
    typer.echo(safe(report.summary()))
    _print_messages(report.messages)
    if report.files == 0:
        raise DataError("nothing could be read")


def _through(server: str, kind: str, **options: object) -> None:
    """`vsmml replay` / `quarantine retry` through the server; prints its answer's summary."""
    from vsmml.pipeline.ingest.rules import read_rules_file
    from vsmml.pipeline.service_client import replay_through, retry_through

    path = options.pop("rules")
    table = read_rules_file(path) if isinstance(path, Path) else None
    call = replay_through if kind == "replay" else retry_through
    doc = call(server, rules=table, **options)  # type: ignore[arg-type]
    typer.echo(safe(doc["summary"]))
    if doc.get("skipped"):
        typer.echo(f"not replayable (no raw payloads kept): {safe(', '.join(doc['skipped']))}")
    _print_messages(list(doc.get("messages", [])))


@app.command()
def replay(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    rules: RulesOption = None,
    server: ServerOption = None,
) -> None:
    """Re-convert stored raw payloads with today's converters and rules (idempotent)."""
    from vsmml.config import get_settings
    from vsmml.pipeline.ingest.commands import run_replay

    if server is not None:
        _through(server, "replay", source=source, rules=rules)
        return
    report = run_replay(get_settings(), source=source, rules=rules)
    typer.echo(safe(report.summary()))
    if report.skipped:
        typer.echo(f"not replayable (no raw payloads kept): {safe(', '.join(report.skipped))}")
    _print_messages(report.messages)


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved records.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="Show at most this many.")] = 50,
) -> None:
    """List quarantined records: id, source, location, field and reason."""
    from vsmml.config import get_settings
    from vsmml.pipeline.ingest.commands import list_quarantine

    listing = list_quarantine(get_settings(), source=source, include_resolved=all_, limit=limit)
    if listing.total == 0:
        typer.echo("quarantine is empty")
        return
    for _, row in listing.rows.iterrows():
        resolved = row["resolved_at"]
        done = (
            " (resolved)" if resolved is not None and str(resolved) not in ("NaT", "None") else ""
        )
        where = (
            f"{row['quarantine_id']:>6}  {one_line(row['source']):<10} {one_line(row['location'])}"
        )
        reason, field = str(row["reason"]), repr(row["field"])
        said = reason if reason.startswith(field) else f"{field}: {reason}"
        typer.echo(f"{where}  {one_line(said)}{done}")
    if listing.total > limit:
        typer.echo(f"... {listing.total - limit} more (use --limit)")


@quarantine_app.command("show")
def quarantine_show(
    quarantine_id: Annotated[int, typer.Argument(help="Id from `quarantine list`.")],
) -> None:
    """Show one quarantined record in full: where, why, and the record itself."""
    from vsmml.config import get_settings
    from vsmml.pipeline.ingest.commands import show_quarantine

    shown = show_quarantine(get_settings(), quarantine_id)
    for name, value in shown.fields.items():
        typer.echo(f"{name}: {one_line(value)}")
    typer.echo("record:")
    typer.echo(safe(shown.record))


@quarantine_app.command("retry")
def quarantine_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Ids to retry (default: all open).")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    rules: RulesOption = None,
    server: ServerOption = None,
) -> None:
    """Convert quarantined records again with the current rules; resolve the ones that land."""
    from vsmml.config import get_settings
    from vsmml.pipeline.ingest.commands import retry

    if server is not None:
        _through(server, "retry", ids=ids, source=source, rules=rules)
        return
    report = retry(get_settings(), ids=ids, source=source, rules=rules)
    typer.echo(safe(report.summary()))
    _print_messages(report.messages)
