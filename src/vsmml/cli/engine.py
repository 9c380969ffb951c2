"""The `--engine` and `--scheduler` options shared by the commands that can run on Dask."""

from __future__ import annotations

import enum
from typing import Final

import typer

from vsmml.errors import ConfigError

ENGINE_HELP: Final[str] = (
    "local: this process reads the store; dask: partitions of the Parquet lake (refreshed "
    "from the store first) on a Dask cluster."
)
SCHEDULER_HELP: Final[str] = (
    "Dask scheduler address (e.g. tcp://host:8786); without it --engine dask starts a "
    "LocalCluster (VSMML_DASK_WORKERS workers) for the run."
)


class Engine(enum.StrEnum):
    """Where a command computes: in this process, or on a Dask cluster."""

    local = "local"
    dask = "dask"


def check_engine(engine: Engine, scheduler: str | None) -> None:
    """Refuse ``--scheduler`` without ``--engine dask`` (it would silently do nothing)."""
    if scheduler is not None and engine is not Engine.dask:
        raise ConfigError("--scheduler: only with --engine dask")


def say_run(line: str) -> None:
    """Where a Dask run happened, on standard error (standard output stays the data)."""
    typer.echo(line, err=True)
