"""`vsmml` command line: one module per command group; heavy imports stay inside commands."""

from __future__ import annotations

from vsmml.cli import demo as _demo  # noqa: F401  (registers commands)
from vsmml.cli.app import app

__all__ = ["app"]
