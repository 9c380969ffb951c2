"""The Typer application every `vsmml` sub-command registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="vsmml",
    help="Value-stream management with ML: ingest delivery events, measure flow, score risk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """vsmml: delivery events in; flow metrics, risk scores and recommendations out."""
