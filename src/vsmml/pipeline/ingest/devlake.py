"""Read DevLake CSV exports: domain-layer tables (a folder of CSVs) and `_raw_*` API tables."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vsmml.errors import DataError
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.devlake import DevLakeRules, to_events
from vsmml.pipeline.ingest.filewalk import expand_paths, read_json_records

SOURCE = "devlake"
DOMAIN_TABLES = (
    "cicd_pipelines",
    "cicd_tasks",
    "cicd_pipeline_commits",
    "cicd_deployment_commits",
    "commits_diffs",
    "pull_requests",
    "pull_request_commits",
    "pull_request_comments",
    "commits",
    "incidents",
    "issues",
    "board_issues",
    "project_mapping",
    "repos",
)
"""Tables the DevLake connector reads; other CSVs in the folder are ignored."""


def load_tables(paths: Sequence[str | Path]) -> tuple[dict[str, pd.DataFrame], Conversion]:
    """Domain tables by name (all columns text), plus file rejects.

    A table's rows are named `<table>.csv:<line>` by the connector; two files of one table (in
    different folders) are concatenated in path order.
    """
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Reject] = []
    for path in expand_paths(paths, suffixes=(".csv",)):
        name = path.stem
        if name not in DOMAIN_TABLES:
            continue
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            problems.append(Reject(SOURCE, str(path), "file", f"cannot be read as CSV ({exc})", ""))
            continue
        if name in tables:
            frame = pd.concat([tables[name], frame], ignore_index=True)
        tables[name] = frame
    return tables, Conversion(rejects=problems)


def read(paths: Sequence[str | Path], rules: DevLakeRules | None = None) -> Conversion:
    """Load a folder (or files) of DevLake domain CSVs and convert them to events."""
    tables, problems = load_tables(paths)
    if not tables and not problems.rejects:
        raise DataError(f"no DevLake domain tables ({', '.join(DOMAIN_TABLES)}) found in {paths}")
    return problems.extend(to_events(tables, rules))


def raw_table_rows(path: Path, source: str) -> tuple[list[tuple[str, dict[str, str]]], Conversion]:
    """Rows of a DevLake `_raw_<plugin>_api_*` CSV (JSON payload in `data`) with `file:line`."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    rows: list[tuple[str, dict[str, str]]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if "data" not in (reader.fieldnames or []):
                reason = "is not a DevLake raw table (it has no `data` column)"
                return [], Conversion(rejects=[Reject(source, str(path), "file", reason, "")])
            start = 2
            for row in reader:
                rows.append((f"{path.name}:{start}", {str(k): v for k, v in row.items()}))
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reject = Reject(source, str(path), "file", f"cannot be read as CSV ({exc})", "")
        return rows, Conversion(rejects=[reject])
    return rows, Conversion()


RAW_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson")


def json_or_raw_table_records(
    paths: Sequence[str | Path],
    source: str,
    table_record: Callable[[Path, dict[str, str]], Any],
) -> tuple[list[tuple[str, Any]], Conversion]:
    """Located payloads from JSON / JSON Lines files and DevLake raw-table CSVs, plus rejects.

    A JSON file gives its records as they are; each raw-table row becomes
    ``table_record(path, row)`` (the connector decides how a table's `data` is wrapped).
    """
    records: list[tuple[str, Any]] = []
    problems = Conversion()
    for path in expand_paths(paths, suffixes=RAW_FILE_SUFFIXES):
        if path.suffix == ".csv":
            rows, bad = raw_table_rows(path, source)
            records.extend((location, table_record(path, row)) for location, row in rows)
        else:
            found, bad = read_json_records(path, source)
            records.extend(found)
        problems = problems.extend(bad)
    return records, problems
