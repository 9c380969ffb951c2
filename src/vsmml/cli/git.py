"""`vsmml git-metrics PATH`: mine a local repository's JIT change metrics (and SZZ labels)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app


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
    import pandas as pd

    from vsmml.events.connectors.git import GitRules
    from vsmml.events.connectors.git_kamei import KAMEI_COLUMNS
    from vsmml.pipeline.ingest.git_repo import mine

    rules = GitRules(szz=szz, all_refs=all_refs)
    if fix_pattern:
        rules = dataclasses.replace(rules, fix_pattern=fix_pattern)
    mining = mine(path, rules)
    history = mining.history
    typer.echo(f"repository      {history['repo']} ({path})")
    typer.echo(
        f"commits         {len(history['commits']):,} ({len(history['metrics']):,} non-merge)"
    )
    typer.echo(f"fix commits     {mining.fix_commits:,}")
    if szz:
        typer.echo(f"SZZ             {mining.szz_fixes_examined:,} fix commits blamed, "
                   f"{mining.szz_labels:,} bug-inducing commits labelled")  # fmt: skip
    if out is not None:
        labels = history.get("bug_inducing") or {}
        times = {c["sha"]: c.get("author_time") for c in history["commits"]}
        rows = [
            {"sha": sha, "date": times.get(sha), "bug": int(sha in labels) if szz else None, **m}
            for sha, m in history["metrics"].items()
        ]
        frame = pd.DataFrame(rows, columns=["sha", "date", "bug", *KAMEI_COLUMNS])
        frame.to_csv(out, index=False)
        typer.echo(f"wrote           {out} ({len(frame):,} rows)")
