"""Benchmark: correlation plus all DORA and per-stage metrics over synthetic events (1 M → 10 M).

Usage: `.venv/bin/python bench/bench_metrics.py [--quick] [--cache DIR]`

For each size the synthetic organisation (one year; more services for more events; SLO samples
every 16 minutes so that about half of the events are delivery events) is generated once into a
Parquet cache. Each measurement runs in a fresh subprocess that loads the events (not timed),
then times:

- ours: `correlate` + `dora` (every key, per service and week) + `stage_times` (per service and
  week), pure pandas/numpy;
- floor: one hand-written DuckDB query computing only the median lead time per service and week
  (first commit → first production deployment at or after the merge, ASOF JOIN), over the same
  events as a DuckDB table (DuckDB is allowed here in bench/, never in the core).

Peak memory is the subprocess's maximum resident set size (loading included).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

SIZES = (15, 45, 150)  # services → ≈ 1 M, 3 M, 10 M events
QUICK_SIZES = (2,)
SLO_MINUTES = 16

FLOOR_SQL = """
WITH fc AS (
  SELECT change_id, min(ts) AS first_ts FROM ev WHERE kind = 'commit' GROUP BY change_id
), m AS (
  SELECT change_id, service, sha, ts AS merged FROM ev WHERE kind = 'change.merged'
), heads AS (
  SELECT d.service, d.deploy_id, d.ts AS fin, m.merged AS pos
  FROM ev d JOIN m ON d.sha = m.sha AND d.service = m.service
  WHERE d.kind = 'deploy.finished' AND d.env = 'production' AND d.status = 'success'
), adv AS (
  SELECT service, deploy_id, fin, pos FROM (
    SELECT *, max(pos) OVER (PARTITION BY service ORDER BY fin
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev
    FROM heads) WHERE prev IS NULL OR pos > prev
), shipped AS (
  SELECT m.service, m.change_id, a.fin
  FROM m ASOF JOIN adv a ON m.service = a.service AND m.merged <= a.pos
)
SELECT s.service, date_trunc('week', s.fin) AS week,
       median(epoch(s.fin - fc.first_ts) / 3600.0) AS lead_time_median
FROM shipped s JOIN fc USING (change_id)
GROUP BY ALL ORDER BY ALL
"""


def build(n_services: int, cache: Path) -> Path:
    """Generate the organisation for `n_services` into cache/<n>/ as Parquet (once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vsmml.synth import SynthConfig, iter_generate

    out = cache / f"s{n_services}"
    if (out / "done").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    config = SynthConfig.preset(
        "year50",
        n_services=n_services,
        n_teams=max(1, n_services // 5),
        slo_interval_minutes=SLO_MINUTES,
    )
    for i, part in enumerate(iter_generate(config, services_per_chunk=10)):
        pq.write_table(
            pa.Table.from_pandas(part.events, preserve_index=False), out / f"{i:04d}.parquet"
        )
    (out / "done").write_text("ok")
    return out


def _load(path: Path):  # type: ignore[no-untyped-def]
    """What correlation reads: delivery rows only (no ``slo.sample``) and only its columns.

    Returns (events, total rows in the files). The filter runs inside the Parquet reader, so
    the SLO samples (half the rows) are never materialised as pandas columns.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from vsmml.correlate.extract import CORRELATION_COLUMNS

    files = sorted(path.glob("*.parquet"))
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    dataset = ds.dataset(files, format="parquet")
    cols = [c for c in CORRELATION_COLUMNS if c in dataset.schema.names]
    table = dataset.to_table(columns=cols, filter=ds.field("kind") != "slo.sample")
    table = table.combine_chunks()
    events = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    for col in ("kind", "service", "team", "repo", "env", "status"):
        events[col] = events[col].astype("category")
    return events, total


def worker_ours(path: Path) -> dict[str, float]:
    """Load (untimed), then time correlation + DORA + stage metrics."""
    from vsmml.correlate import correlate
    from vsmml.metrics.dora import dora
    from vsmml.metrics.stages import stage_times

    t0 = time.perf_counter()
    events, n = _load(path)
    load_s = time.perf_counter() - t0
    delivery = len(events)
    t1 = time.perf_counter()
    corr = correlate(events)
    t2 = time.perf_counter()
    d = dora(corr, "service", "W")
    s = stage_times(corr, "service", "W")
    t3 = time.perf_counter()
    return {
        "events": n,
        "delivery": delivery,
        "changes": len(corr.changes),
        "load_s": load_s,
        "correlate_s": t2 - t1,
        "metrics_s": t3 - t2,
        "total_s": t3 - t1,
        "rows_out": len(d) + len(s),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker_duckdb(path: Path) -> dict[str, float]:
    """Load the Parquet files into a DuckDB table (untimed), then time the floor query."""
    import duckdb

    con = duckdb.connect(config={"threads": 2})
    con.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{path}/*.parquet')")
    t0 = time.perf_counter()
    rows = con.execute(FLOOR_SQL).fetchall()
    secs = time.perf_counter() - t0
    return {
        "query_s": secs,
        "rows_out": len(rows),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small size only")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/vsmml-bench-metrics"))
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, path = args.worker
        fn = worker_ours if mode == "ours" else worker_duckdb
        print(json.dumps(fn(Path(path))))
        return
    sizes = QUICK_SIZES if args.quick else SIZES
    header = (
        "| services | events | delivery | changes | correlate s | metrics s | total s | "
        "Mevents/s | peak MiB | DuckDB floor s | ratio | DuckDB MiB |"
    )
    print(header)
    print("|" + "---:|" * 12)
    results = []
    for n in sizes:
        path = build(n, args.cache)
        ours = _run("ours", path)
        floor = _run("duckdb", path)
        ratio = ours["total_s"] / floor["query_s"]
        results.append((ours["events"], ours["total_s"]))
        print(
            f"| {n} | {ours['events']:,.0f} | {ours['delivery']:,.0f} | {ours['changes']:,.0f} | "
            f"{ours['correlate_s']:.2f} | {ours['metrics_s']:.2f} | {ours['total_s']:.2f} | "
            f"{ours['events'] / ours['total_s'] / 1e6:.2f} | {ours['peak_mib']:,.0f} | "
            f"{floor['query_s']:.2f} | {ratio:.1f}× | {floor['peak_mib']:,.0f} |",
            flush=True,
        )
    if len(results) > 1:
        (n0, t0), (n1, t1) = results[0], results[-1]
        print(f"\ngrowth {n0:,} → {n1:,} events: time × {t1 / t0:.1f} for events × {n1 / n0:.1f}")


if __name__ == "__main__":
    main()
