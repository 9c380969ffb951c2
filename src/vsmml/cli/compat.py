"""`vsmml compat devlake TASK`: read DevLake domain tables as CSV, write the table DevLake makes.

Thin: `vsmml.pipeline.compat.devlake_table` reads and computes; this module writes the CSV.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.pipeline.compat import DevLakeTask

compat_app = typer.Typer(
    help="Reproduce other delivery-metrics tools' tables exactly (for switching without a debate).",
    no_args_is_help=True,
)
app.add_typer(compat_app, name="compat")


@compat_app.command("devlake")
def devlake(
    task: Annotated[DevLakeTask, typer.Argument(help="Which DevLake table to produce.")],
    tables: Annotated[
        Path, typer.Option("--tables", help="Directory holding one TABLE.csv per DevLake table.")
    ],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write ('-': standard output).")],
    project: Annotated[
        str | None,
        typer.Option("--project", help="DevLake project name (default: every mapped project)."),
    ] = None,
) -> None:
    """Compute the table DevLake's DORA task TASK would produce, with DevLake's columns."""
    from vsmml.pipeline.compat import devlake_table

    rendered = devlake_table(task, tables, project)
    if str(out) == "-":
        rendered.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    rendered.to_csv(out, index=False, lineterminator="\n")
    typer.echo(f"wrote {len(rendered)} rows to {out}", err=True)
