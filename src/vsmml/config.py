"""Typed settings read from `VSMML_*` environment variables, built once per process on demand."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where vsmml keeps its state and how it talks to the store."""

    model_config = SettingsConfigDict(env_prefix="VSMML_", extra="ignore")

    home: Path = Field(default=Path(".vsmml"), description="Holds the store, MLflow and models.")
    duckdb_memory_limit: str = Field(default="2GB", description="DuckDB memory_limit per process.")
    duckdb_threads: int | None = Field(default=None, description="DuckDB threads; None: all cores.")
    ingest_chunk_rows: int = Field(default=500_000, ge=1, description="Rows per write chunk.")
    seed: int = Field(default=42, description="Seed of the demo's synthetic organisation.")
    catalog: Path | None = Field(
        default=None, description="Service catalogue file used by `vsmml ingest` by default."
    )

    @property
    def store_path(self) -> Path:
        """The DuckDB file holding raw payloads, events and quarantine."""
        return self.home / "vsmml.duckdb"

    @property
    def mlflow_uri(self) -> str:
        """MLflow tracking and registry backend: a sqlite file under the home folder."""
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        """Where trained models are exported (`<name>/<version>/`)."""
        return self.home / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
