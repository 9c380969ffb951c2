"""`vsmml token create|list|revoke`: the bearer tokens of the HTTP service (`vsmml serve`).

Thin: `vsmml.pipeline.tokens` does the work, on the store under ``VSMML_HOME`` or, with
``--server URL`` (and an ``admin`` token in ``VSMML_TOKEN``), through a running server, which
owns the store while it runs. The secret is printed once, by `create`, as the last word of the
last line; `list` never shows it.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any

import typer

from vsmml.cli.app import app
from vsmml.cli.text import safe

token_app = typer.Typer(
    help="Bearer tokens of the HTTP service: create, list, revoke.", no_args_is_help=True
)
app.add_typer(token_app, name="token")

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Go through the server at this URL (it owns the store while it runs); "
        "the admin token comes from VSMML_TOKEN.",
    ),
]


class Format(enum.StrEnum):
    """Output formats: text for people, json for scripts."""

    text = "text"
    json = "json"


def _when(value: Any) -> str:
    return "-" if value is None else safe(str(value))


@token_app.command("create")
def create(
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes: ingest, read, admin (e.g. ingest,read).")
    ],
    name: Annotated[
        str | None, typer.Option(help="A name to recognise the token by (default: token-<id>).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Lifetime such as 90d, 12h, 30m or 2w (default: never).")
    ] = None,
    server: ServerOpt = None,
) -> None:
    """Create a token; it is printed once, as the last word of the last line."""
    from vsmml.pipeline.tokens import TokenRequest
    from vsmml.pipeline.tokens import create as make

    info, secret = make(TokenRequest(scopes, name, expires), server=server)
    typer.echo(
        f"created token {info['token_id']} (name {safe(str(info['name']))}, scopes "
        f"{','.join(info['scopes'])}, expires {_when(info['expires_at'])})"  # type: ignore[arg-type]
    )
    typer.echo("it is shown only this once; store it in a secret manager:")
    typer.echo(secret)


@token_app.command("list")
def list_(
    server: ServerOpt = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """List tokens: id, name, scopes, state, creation, expiry and last use (never the secret)."""
    from vsmml.pipeline.tokens import listing

    tokens = listing(server=server)
    if fmt is Format.json:
        typer.echo(json.dumps(tokens, indent=2))
        return
    if not tokens:
        typer.echo("no tokens (create one with `vsmml token create --scopes ...`)")
        return
    header = ("id", "name", "scopes", "state", "created", "expires", "last used")
    rows = [
        (
            str(t["token_id"]),
            safe(str(t["name"])),
            ",".join(t["scopes"]),  # type: ignore[arg-type]
            str(t["state"]),
            _when(t["created_at"]),
            _when(t["expires_at"]),
            _when(t["last_used_at"]),
        )
        for t in tokens
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@token_app.command("revoke")
def revoke(
    token: Annotated[str, typer.Argument(help="The token's id or name (see `vsmml token list`).")],
    server: ServerOpt = None,
) -> None:
    """Revoke a token: requests carrying it are refused (401) from now on."""
    from vsmml.pipeline.tokens import revoke as withdraw

    info = withdraw(token, server=server)
    typer.echo(f"revoked token {info['token_id']} (name {safe(str(info['name']))})")
