"""`vsmml git-metrics PATH`: mine a local repository's JIT change metrics (and SZZ labels).

Thin: `vsmml.pipeline.gitmetrics.git_metrics` mines; this module prints the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.text import safe


@app.command("git-metrics")
def git_metrics(
    path: Annotated[Path, typer.Argument(help="A local git repository.")],
    szz: Annotated[bool, typer.Option(help="Label bug-inducing commits with SZZ.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write one row per commit (sha, date, bug, 14 metrics).")
    ] = None,
    all_refs: Annotated[bool, typer.Option(help="Mine every branch, not only HEAD.")] = False,
    fix_pattern: Annotated[
        str | None, typer.Option(help="Regex marking fix commits (Kamei's FIX, SZZ).")
    ] = None,
) -> None:
    """Compute the 14 Kamei just-in-time metrics for every commit; optionally SZZ bug labels.

    Use `vsmml ingest git PATH` to store the commits, merges, releases and reverts as events.
    """
    from vsmml.pipeline.gitmetrics import GitMetricsRequest
    from vsmml.pipeline.gitmetrics import git_metrics as mine

    found = mine(GitMetricsRequest(path, szz, out, all_refs, fix_pattern))
    typer.echo(f"repository      {safe(found.repo)} ({path})")
    typer.echo(f"commits         {found.commits:,} ({found.non_merge:,} non-merge)")
    typer.echo(f"fix commits     {found.fix_commits:,}")
    for line in found.releases:
        typer.echo(f"releases        {safe(line)}")
    if found.szz_fixes_examined is not None and found.szz_labels is not None:
        typer.echo(f"SZZ             {found.szz_fixes_examined:,} fix commits blamed, "
                   f"{found.szz_labels:,} bug-inducing commits labelled")  # fmt: skip
    if out is not None:
        typer.echo(f"wrote           {out} ({len(found.rows):,} rows)")
