"""Typed settings read from `VSMML_*` environment variables, built once per process on demand.

A frozen dataclass rather than pydantic-settings: `vsmml score` must start within a few tenths
of a second, and importing pydantic costs about as much as importing numpy. Each field names its
environment variable, its type and its valid range; a bad value is a `ConfigError` naming the
variable and what it got.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from vsmml.errors import ConfigError

ENV_PREFIX: Final[str] = "VSMML_"
_UNIT_BYTES: Final[dict[str, int]] = {
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _optional_path(text: str) -> Path | None:
    return _path(text) if text.strip() else None


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise ValueError(f"must be at least {low}")
        return value

    return parse


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:  # NaN fails both comparisons
            raise ValueError(f"must be a number of seconds between {low:g} and {high:g}")
        return value

    return parse


def _optional_int_at_least(low: int) -> Callable[[str], int | None]:
    parse = _int_at_least(low)
    return lambda text: parse(text) if text.strip() else None


def _optional_secret(text: str) -> str | None:
    return text if text.strip() else None


def _origins(text: str) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in text.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(f"origins must be http(s)://host[:port] or *, got {origin!r}")
    return origins


def _memory(text: str) -> str:
    value = text.strip().upper().replace(" ", "")
    number = value.rstrip("KMGTIB")
    unit = value[len(number) :]
    if not number or unit not in _UNIT_BYTES:
        raise ValueError("must be a size such as 512MB or 2GB")
    float(number)
    return value


def memory_bytes(text: str) -> int:
    """A DuckDB size ("2GB", "512MiB") in bytes, with DuckDB's units (GB is 10^9, GiB 2^30)."""
    value = _memory(text)
    number = value.rstrip("KMGTIB")
    return int(float(number) * _UNIT_BYTES[value[len(number) :]])


def _meta(parse: Callable[[str], Any], text: str) -> dict[str, Any]:
    """A field's parser (text of its environment variable to value) and its help text."""
    return {"parse": parse, "help": text}


@dataclass(frozen=True)
class Settings:
    """Where vsmml keeps its state, how it talks to the store, and the limits it applies."""

    home: Path = field(
        default=Path(".vsmml"), metadata=_meta(_path, "Holds the store, MLflow and trained models.")
    )
    duckdb_memory_limit: str = field(
        default="2GB", metadata=_meta(_memory, "DuckDB memory_limit per process.")
    )
    duckdb_threads: int | None = field(
        default=None,
        metadata=_meta(_optional_int_at_least(1), "DuckDB threads (empty: all cores)."),
    )
    ingest_chunk_rows: int = field(
        default=500_000, metadata=_meta(_int_at_least(1), "Rows per store write chunk.")
    )
    seed: int = field(default=42, metadata=_meta(int, "Seed of the demo's synthetic organisation."))
    catalog: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "Service catalogue file `vsmml ingest` uses by default."),
    )
    max_payload_bytes: int = field(
        default=10 * 2**20,
        metadata=_meta(_int_at_least(1024), "Largest raw payload (a JSON document or one line)."),
    )
    store_lock_timeout: float = field(
        default=30.0,
        metadata=_meta(
            _float_between(0, 86_400),
            "Seconds to wait for another process to let go of the store before giving up.",
        ),
    )
    max_json_depth: int = field(
        default=64,
        metadata=_meta(
            _int_between(1, 500), "Deepest JSON nesting ingested (deeper: quarantined unparsed)."
        ),
    )
    ingest_batch_rows: int = field(
        default=250_000,
        metadata=_meta(
            _int_at_least(1),
            "Records per ingest batch (one transaction over raw payloads, events, quarantine).",
        ),
    )
    default_models: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "Folder of default models (default: the shipped ones)."),
    )
    # -- scale-out (#17): the Parquet event lake and the Dask engine ------------------------
    lake: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "Parquet event lake (default: $VSMML_HOME/lake)."),
    )
    dask_workers: int | None = field(
        default=None,
        metadata=_meta(
            _optional_int_at_least(1),
            "Workers of the LocalCluster `--engine dask` starts (empty: one per core).",
        ),
    )
    dask_partition_events: int = field(
        default=2_000_000,
        metadata=_meta(
            _int_at_least(1_000),
            "Most events one Dask partition holds, when the "
            "links between services allow (a linked group is never split).",
        ),
    )
    local_stream_events: int = field(
        default=5_000_000,
        metadata=_meta(
            _int_at_least(0),
            "Above this many stored events, `--engine local` streams the lake partition by "
            "partition in one process (bounded memory) instead of reading every event at once.",
        ),
    )

    # -- the HTTP service (`vsmml serve`); secrets are kept out of repr() and logs ------------
    max_body_bytes: int = field(
        default=5 * 2**20,
        metadata=_meta(_int_at_least(1024), "Largest HTTP request body the service reads (413)."),
    )
    max_batch_events: int = field(
        default=10_000,
        metadata=_meta(_int_at_least(1), "Most events (or changes) one HTTP request may carry."),
    )
    max_request_depth: int = field(
        default=64,
        metadata=_meta(_int_at_least(2), "Deepest JSON nesting of an HTTP request body (400)."),
    )
    cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=_meta(_origins, "Comma-separated origins allowed by CORS (empty: CORS off)."),
    )
    github_webhook_secret: str | None = field(
        default=None,
        repr=False,
        metadata=_meta(_optional_secret, "Secret of the GitHub webhook (X-Hub-Signature-256)."),
    )
    gitlab_webhook_token: str | None = field(
        default=None,
        repr=False,
        metadata=_meta(_optional_secret, "Secret token of the GitLab webhook (X-Gitlab-Token)."),
    )
    pagerduty_webhook_secret: str | None = field(
        default=None,
        repr=False,
        metadata=_meta(_optional_secret, "Signing secret of the PagerDuty v3 webhook."),
    )
    token: str | None = field(
        default=None,
        repr=False,
        metadata=_meta(_optional_secret, "Bearer token the CLI sends with --server URL."),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `VSMML_<FIELD>` variables (unset or empty: the default)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            text = env.get(name)
            if text is None or (not text.strip() and f.default is not None):
                continue
            try:
                values[f.name] = f.metadata["parse"](text)
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}, got {text!r}") from None
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, help) for every setting, for documentation."""
        return [
            (ENV_PREFIX + f.name.upper(), repr(f.default), str(f.metadata["help"]))
            for f in fields(cls)
        ]

    @property
    def store_path(self) -> Path:
        """The DuckDB file holding raw payloads, events and quarantine."""
        return self.home / "vsmml.duckdb"

    @property
    def mlflow_uri(self) -> str:
        """MLflow tracking and registry backend: a sqlite file under the home folder."""
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def lake_path(self) -> Path:
        """The Parquet event lake `vsmml lake export` writes and `--engine dask` reads."""
        return self.lake if self.lake is not None else self.home / "lake"

    @property
    def models_dir(self) -> Path:
        """Where trained models are exported (`<name>/<version>/`)."""
        return self.home / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; call `get_settings.cache_clear()` after changing the environment."""
    return Settings.from_env()
