"""`vsmml store check|backup|restore`: verify the store, copy it consistently, put a copy back.

Thin: `vsmml.pipeline.store_admin` does the work; this module parses and formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.text import safe

store_app = typer.Typer(
    help="Check the store is whole, back it up, restore a backup.", no_args_is_help=True
)
app.add_typer(store_app, name="store")


@store_app.command("check")
def store_check() -> None:
    """Read every block of every table (DuckDB verifies each checksum); exit 2 when damaged."""
    from vsmml.config import get_settings
    from vsmml.pipeline.store_admin import check_store

    typer.echo(safe(check_store(get_settings()).summary()))


@store_app.command("backup")
def store_backup(
    dest: Annotated[
        Path | None,
        typer.Argument(help="Backup file to write (default: $VSMML_HOME/backups/<time>.duckdb)."),
    ] = None,
) -> None:
    """Copy the store while no writer runs, verify the copy, then give it its name."""
    from vsmml.config import get_settings
    from vsmml.pipeline.store_admin import backup_store

    done = backup_store(get_settings(), dest)
    rows = ", ".join(f"{t} {n:,}" for t, n in done.counts.items())
    typer.echo(safe(f"backup {done.path}: verified; {rows}"))


@store_app.command("restore")
def store_restore(
    backup: Annotated[Path, typer.Argument(help="A backup made by `vsmml store backup`.")],
) -> None:
    """Verify a backup, then put it in place of the store (the old one is kept beside it)."""
    from vsmml.config import get_settings
    from vsmml.pipeline.store_admin import restore_store

    done = restore_store(get_settings(), backup)
    rows = ", ".join(f"{t} {n:,}" for t, n in done.restored.counts.items())
    typer.echo(safe(f"restored {done.restored.path} from {backup}; {rows}"))
    if done.replaced is not None:
        typer.echo(safe(f"the store it replaced is kept as {done.replaced}"))
