"""Bulk ingest into the DuckDB store vs the floor (a bare DuckDB CTAS/INSERT of the same frames).

Prints one table: rows, seconds, events/s, peak RSS, ratio to the floor, for
(1) ingest of N synthetic events (validation and de-duplication included),
(2) re-ingest of the same N events (all duplicates),
(3) the floor: the same frames copied into a bare table with no checks at all.
Run: `.venv/bin/python bench/bench_ingest.py [--events 5000000] [--quick]`.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import psutil

from peak_rss import PeakRss
from vsmml.store import Store
from vsmml.store.sql import to_arrow
from vsmml.synth import SynthConfig, iter_generate


def synthetic_chunks(n_events: int, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Canonical synthetic events in chunks of about `chunk_rows` until `n_events` are produced."""
    config = SynthConfig.preset("year200")
    produced = 0
    for org in iter_generate(config, services_per_chunk=4):
        frame = org.events
        for start in range(0, len(frame), chunk_rows):
            part = frame.iloc[start : start + chunk_rows]
            part = part.iloc[: n_events - produced]
            produced += len(part)
            yield part.reset_index(drop=True)
            if produced >= n_events:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--quick", action="store_true", help="500k events instead of 5M")
    args = parser.parse_args()
    n = 500_000 if args.quick else args.events
    folder = Path(tempfile.mkdtemp(prefix="vsmml-bench-"))
    t0 = time.perf_counter()
    chunk_files = []
    for i, chunk in enumerate(synthetic_chunks(n, args.chunk)):
        path = folder / f"chunk{i:04d}.parquet"
        chunk.to_parquet(path)
        chunk_files.append(path)
    gen_s = time.perf_counter() - t0
    print(f"generated {n:,} synthetic events in {gen_s:.1f} s ({n / gen_s:,.0f}/s), parquet chunks")

    rows = []
    with PeakRss() as mem, Store(folder / "vsmml.duckdb", memory_limit="1GB") as store:
        for label in ("ingest", "re-ingest (all duplicates)"):
            seconds, accepted, dups = 0.0, 0, 0
            for path in chunk_files:
                frame = pd.read_parquet(path)
                t = time.perf_counter()
                report = store.write_events(frame)
                seconds += time.perf_counter() - t
                accepted += report.accepted
                dups += report.duplicates
            rows.append((label, n, seconds, mem.peak, accepted, dups))
    with PeakRss() as mem:
        con = duckdb.connect(str(folder / "floor.duckdb"), config={"memory_limit": "1GB"})
        seconds = 0.0
        for i, path in enumerate(chunk_files):
            frame = pd.read_parquet(path)
            t = time.perf_counter()
            arrow = to_arrow(frame)
            con.register("_f", arrow)
            if i == 0:
                con.execute("CREATE TABLE floor AS SELECT * FROM _f")
            else:
                con.execute("INSERT INTO floor SELECT * FROM _f")
            con.unregister("_f")
            seconds += time.perf_counter() - t
        con.close()
        rows.append(("floor: bare CTAS/INSERT", n, seconds, mem.peak, n, 0))
    floor = rows[-1][2]
    print(
        f"\nmachine: {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; chunk {args.chunk:,} rows"
    )
    print(
        f"{'case':<28} {'rows':>11} {'seconds':>8} {'events/s':>11} {'peak RSS':>9} "
        f"{'vs floor':>8} {'accepted':>10} {'dupes':>10}"
    )
    for label, count, secs, peak, acc, dup in rows:
        print(
            f"{label:<28} {count:>11,} {secs:>8.2f} {count / secs:>11,.0f} "
            f"{peak / 2**30:>7.2f}GB {secs / floor:>7.2f}× {acc:>10,} {dup:>10,}"
        )


if __name__ == "__main__":
    main()
