"""One error hierarchy: every vsmml error is a `VsmmlError` and also the builtin it refines."""

from __future__ import annotations


class VsmmlError(Exception):
    """Root of every error vsmml raises on purpose."""


class ConfigError(VsmmlError, ValueError):
    """A setting is missing or has a value vsmml cannot use."""


class SchemaError(VsmmlError, ValueError):
    """Input does not fit the canonical event contract (or a source's documented shape)."""


class ConversionError(SchemaError):
    """A connector could not convert a raw payload into canonical events."""


class StoreError(VsmmlError, RuntimeError):
    """The event store could not be opened, migrated, read or written."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file (DuckDB allows one writing process per file)."""


class NotFittedError(VsmmlError, ValueError):
    """An estimator was used before `fit`."""


class DataError(VsmmlError, ValueError):
    """A frame handed to the core lacks a column or holds values it cannot use."""


class StoreCorruptError(StoreError):
    """The store file (or its write-ahead log) is damaged: a block, a table or its rows are gone."""


class StoreLocationError(StoreError):
    """The store's folder cannot hold it: `VSMML_HOME` is not a directory, or cannot be written."""


class LakeError(VsmmlError, RuntimeError):
    """The Parquet event lake is missing, damaged, of another format, or being written."""


class ClusterError(VsmmlError, RuntimeError):
    """The Dask scheduler cannot be reached, or a task on the cluster failed."""
