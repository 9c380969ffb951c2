"""`vsmml lake export|import|status`: the Parquet event lake Dask (and any DuckDB) reads.

Thin: `vsmml.pipeline.lake` does the work; this module parses options and prints one summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app

lake_app = typer.Typer(
    help="The Parquet event lake (partitioned by service and month) that --engine dask reads.",
    no_args_is_help=True,
)
app.add_typer(lake_app, name="lake")


@lake_app.command("export")
def export(
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Lake folder (default VSMML_LAKE or $VSMML_HOME/lake)."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Rewrite the whole lake instead of adding what is new.")
    ] = False,
) -> None:
    """Export the store's events the lake does not hold yet (all of them the first time)."""
    from vsmml.pipeline.lake import export_lake

    r = export_lake(path=to, full=full)
    size = f"{r.rows:,} events in {r.files:,} files, {r.partitions:,} partitions (service × month)"
    if r.up_to_date:
        typer.echo(f"lake {r.lake}: up to date, {size} ({r.seconds:.1f} s)")
        return
    typer.echo(
        f"lake {r.lake}: batch {r.batch}{' (full rewrite)' if r.full else ''}: "
        f"+{r.new_rows:,} new events into {r.appended:,} partition(s), {r.rewritten} rewritten, "
        f"{r.dropped} dropped, {r.removed_files} stray file(s) removed; {size} ({r.seconds:.1f} s)"
    )


@lake_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A lake folder (or a folder of Parquet files).")],
) -> None:
    """Write a lake's events into the store (validated, de-duplicated, bad rows quarantined)."""
    from vsmml.cli.text import safe
    from vsmml.pipeline.lake import import_lake

    r = import_lake(path)
    typer.echo(
        f"lake {r.lake}: read {r.read:,} events from {r.files:,} file(s): {r.accepted:,} "
        f"accepted, {r.duplicates:,} duplicates, {r.quarantined:,} quarantined ({r.seconds:.1f} s)"
    )
    for message in r.messages:
        typer.echo(f"  quarantined: {safe(message)}")


@lake_app.command("status")
def status(
    path: Annotated[
        Path | None, typer.Option("--path", help="Lake folder (default: the home's lake).")
    ] = None,
) -> None:
    """What the lake holds per service, its last export, and whether it matches the store."""
    from vsmml.cli.output import heading, table
    from vsmml.pipeline.lake import lake_status

    st = lake_status(path=path)
    if not st.exists:
        typer.echo(f"lake {st.lake}: no lake yet (run `vsmml lake export`)")
        return
    typer.echo(
        f"lake {st.lake}: {st.rows:,} events in {st.files:,} files, {st.partitions:,} "
        f"partitions, {st.batches} export(s), last at {st.last_export}"
    )
    if st.in_sync is not None:
        state = "matches the store" if st.in_sync else "differs from the store"
        typer.echo(f"store: {st.store_rows:,} events; the lake {state}")
    if st.stray_files:
        typer.echo(
            f"{st.stray_files} stray file(s) from an interrupted export (next export removes them)"
        )
    heading("Events per service")
    table(st.services)
