"""Connector throughput: CDEvents JSON Lines ingest end to end, and GitHub payload conversion.

Run `.venv/bin/python bench/bench_connectors.py [--quick]`. CDEvents: a JSON Lines file of
events cycling through the 45 conformance types (each with its own id and time) is ingested
with `vsmml.pipeline.ingest.ingest_paths` into a fresh DuckDB store in a temporary folder: raw
payloads kept, schema validation, conversion, canonical validation, de-duplicated write. GitHub:
the webhook fixtures plus DevLake's real workflow runs and jobs, repeated, converted with
`github.to_events`.
Reference: 10,000 events/s, our own target (a day of a 1,000-engineer organisation's delivery
events, ~1 M, ingested in under two minutes).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vsmml.events.connectors import cdevents, github
from vsmml.events.connectors.base import Conversion
from vsmml.events.schema import validate_events
from vsmml.pipeline.ingest import ingest_paths
from vsmml.store import Store

REFERENCE_EPS = 10_000.0
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"


def peak_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cdevents_lines(n: int) -> list[str]:
    """`n` CDEvents JSON lines cycling through the conformance examples, ids and times unique."""
    docs = [
        json.loads(p.read_text())
        for p in sorted((FIXTURES / "cdevents/conformance").glob("*.json"))
    ]
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(docs[i % len(docs)]))
        doc["context"]["id"] = f"evt-{i}"
        doc["context"]["timestamp"] = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
        doc["subject"]["id"] = f"subject-{i % 5000}"
        out.append(json.dumps(doc))
    return out


def github_units(n: int) -> list[tuple[str, str]]:
    """`n` GitHub payloads: webhook fixtures and DevLake's raw runs and jobs, repeated."""
    base: list[str] = []
    for path in sorted((FIXTURES / "github").glob("*.json")):
        doc = json.loads(path.read_text())
        base.append(json.dumps({"event": doc["event"], "payload": doc["payload"]}))
    for name in ("_raw_github_api_runs.csv", "_raw_github_api_jobs.csv"):
        with (FIXTURES / "devlake_github" / name).open(newline="", encoding="utf-8") as fh:
            base.extend(json.dumps(row) for row in csv.DictReader(fh))
    return [(f"payload {i}", base[i % len(base)]) for i in range(n)]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Result and wall seconds of one call."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def row(name: str, rows: int, secs: float) -> dict[str, Any]:
    """One table row."""
    eps = rows / secs if secs else float("inf")
    return {
        "case": name,
        "rows": rows,
        "seconds": secs,
        "per_s": eps,
        "peak_mib": peak_mib(),
        "ratio": eps / REFERENCE_EPS,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events instead of 100,000")
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    results = []
    lines = cdevents_lines(n)
    units = [(f"b.jsonl:{i + 1}", line) for i, line in enumerate(lines)]

    conv, secs = timed(lambda: cdevents.to_events(units))
    assert isinstance(conv, Conversion) and not conv.rejects
    results.append(row("CDEvents convert (schema-validated)", len(conv.events), secs))
    fast = cdevents.CDEventsRules(validate_schema=False)
    conv, secs = timed(lambda: cdevents.to_events(units, fast))
    results.append(row("CDEvents convert (no schema validation)", len(conv.events), secs))
    checked, secs = timed(lambda: validate_events(conv.events))
    results.append(row("canonical validation of those events", len(checked.events), secs))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        path.write_text("\n".join(lines) + "\n")
        with Store(Path(tmp) / "bench.duckdb") as store:
            report, secs = timed(lambda: ingest_paths(store, "cdevents", [path]))
            assert report.accepted == n, report.summary()
            results.append(
                row("**CDEvents JSONL ingest end to end (DuckDB)**", report.accepted, secs)
            )
            again, secs = timed(lambda: ingest_paths(store, "cdevents", [path]))
            assert again.duplicates == n
            results.append(row("re-ingest of the same file (all duplicates)", n, secs))

    gh = github_units(n // 2)
    conv, secs = timed(lambda: github.to_events(gh))
    assert not conv.rejects
    results.append(row(f"GitHub convert ({len(gh):,} payloads → events)", len(conv.events), secs))
    results.append(row("GitHub convert, payloads/s", len(gh), secs))

    print(f"| case | rows | seconds | rows/s | peak MiB | vs {REFERENCE_EPS:,.0f}/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['rows']:,} | {r['seconds']:.2f} | {r['per_s']:,.0f} | "
            f"{r['peak_mib']:,.0f} | {r['ratio']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
