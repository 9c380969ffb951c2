"""The Parquet event lake: the store's events partitioned by service and month, for DuckDB and Dask.

Layout: ``<lake>/events/service=<name>/month=<YYYY-MM>/part-<batch>-<uuid>.parquet`` (Hive-style
folders, percent-encoded names, ``__HIVE_DEFAULT_PARTITION__`` for events without a service),
every file also holding the ``service`` and ``month`` columns, so DuckDB
(``read_parquet('<lake>/events/**/*.parquet')``), Dask (``dd.read_parquet('<lake>/events')``) and
pyarrow read the same rows whatever a service is called; ``<lake>/_vsmml_lake.json`` is the
manifest (files, rows, fingerprints, export history). `export_lake` adds what is new,
`import_lake` loads a lake into a store, `lake_status` says what a lake holds.
"""

from vsmml.pipeline.lake.export import ExportReport, export_lake
from vsmml.pipeline.lake.manifest import LAKE_FORMAT, LakeFile, Manifest, load_manifest
from vsmml.pipeline.lake.read import ScopeFilter, read_files
from vsmml.pipeline.lake.transfer import ImportReport, LakeStatus, import_lake, lake_status

__all__ = [
    "LAKE_FORMAT",
    "ExportReport",
    "ImportReport",
    "LakeFile",
    "LakeStatus",
    "Manifest",
    "ScopeFilter",
    "export_lake",
    "import_lake",
    "lake_status",
    "load_manifest",
    "read_files",
]
