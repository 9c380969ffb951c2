"""The Typer application every `vsmml` sub-command registers on, and its one error boundary.

Every failure reaches the user as one line on standard error and exit code 2: a usage error
(unknown option, bad value), a `VsmmlError` raised by the pipeline (bad input, a locked or damaged
store, a missing model), or an unexpected exception (a bug: named as such). No traceback is
printed unless ``VSMML_DEBUG=1`` asks for it. Commands therefore raise instead of printing errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, Final

import typer
from typer.core import TyperGroup

from vsmml.cli.text import one_line
from vsmml.errors import VsmmlError

EXIT_ERROR: Final[int] = 2


def _fail(message: str) -> int:
    typer.echo(f"error: {one_line(message)}", err=True)
    return EXIT_ERROR


class VsmmlGroup(TyperGroup):
    """The top-level command group: runs a command and turns any failure into one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; exit 0, the command's own code, or 2 with a one-line error."""
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except typer.Abort:
            code = _fail("aborted")
        except VsmmlError as exc:
            code = _fail(str(exc))
        except Exception as exc:  # click's usage errors, and anything unexpected
            code = self._unexpected(exc)
        if standalone_mode:
            sys.exit(code)
        return code

    @staticmethod
    def _unexpected(exc: Exception) -> int:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

        if isinstance(exc, NoArgsIsHelpError):  # `vsmml` or `vsmml GROUP` alone: the help
            exc.show()
            return EXIT_ERROR
        if isinstance(exc, UsageError):
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            return _fail(exc.format_message() + where)
        if isinstance(exc, ClickException):
            return _fail(exc.format_message())
        if os.environ.get("VSMML_DEBUG") == "1":
            raise exc
        if isinstance(exc, OSError):
            return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return _fail(
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in vsmml, please "
            "report it with the command you ran (VSMML_DEBUG=1 shows the traceback)"
        )


app = typer.Typer(
    name="vsmml",
    cls=VsmmlGroup,
    help="Value-stream management with ML: ingest delivery events, measure flow, score risk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """vsmml: delivery events in; flow metrics, risk scores and recommendations out."""
