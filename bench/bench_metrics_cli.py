"""Benchmark the command a user runs: `vsmml metrics --format csv` on 1 M, 5 M, 10 M events.

Usage: `.venv/bin/python bench/bench_metrics_cli.py [--quick] [--cache DIR] [--limit 2GB]`

Each store is the synthetic organisation (one year; more services for more events; SLI samples
every 5 minutes, so most rows are `slo.sample`, as in a real store) written once into
`DIR/<services>/vsmml.duckdb`. Each measurement runs the real command in a subprocess with
`VSMML_HOME` pointing at that store and `VSMML_DUCKDB_MEMORY_LIMIT` set, and samples the child's
resident memory every 10 ms. The reference in the same run is one DuckDB query over the same
file (median lead time per service and week, `bench_metrics.FLOOR_SQL`), in its own subprocess
with the same memory limit.

Columns: events stored, wall seconds, events/s, peak RSS of the command, the configured DuckDB
limit, peak ÷ limit, the DuckDB floor's seconds and peak, and time ÷ floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from child_run import run_child

SIZES = (7, 36, 71)  # services → ≈ 1 M, 5 M, 10 M events (a year, 5-minute SLI samples)
QUICK_SIZES = (2,)
VSMML = str(Path(sys.executable).parent / "vsmml")


def build(n_services: int, cache: Path) -> Path:
    """The store for `n_services` (generated and ingested once, chunk by chunk)."""
    home = cache / str(n_services)
    if (home / "vsmml.duckdb").is_file() and (home / "done").is_file():
        return home
    from vsmml.pipeline.demo import ingest_synthetic
    from vsmml.store import Store
    from vsmml.synth import SynthConfig

    home.mkdir(parents=True, exist_ok=True)
    config = SynthConfig.preset(
        "year50", n_services=n_services, n_teams=max(1, min(8, n_services // 3))
    )
    with Store(home / "vsmml.duckdb") as store:
        ingest_synthetic(store, config, services_per_chunk=2)
    (home / "done").write_text("ok")
    return home


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak child RSS MiB) of `cmd`, its output discarded."""
    run = run_child(cmd, env)
    if run.returncode != 0:
        raise SystemExit(f"{cmd} failed: {run.stderr}")
    return run.seconds, run.peak_mib


def floor_cmd(store: Path, limit: str) -> list[str]:
    """The reference: one DuckDB query over the same file, read-only, same memory limit."""
    here = Path(__file__).resolve().parent
    code = (
        "import sys, duckdb\n"
        f"sys.path.insert(0, {str(here)!r})\n"
        "from bench_metrics import FLOOR_SQL\n"
        f"cfg = {{'memory_limit': {limit!r}}}\n"
        f"con = duckdb.connect({str(store)!r}, read_only=True, config=cfg)\n"
        "con.execute('SET enable_progress_bar=false')\n"
        "con.execute('CREATE TEMP VIEW ev AS SELECT * FROM events')\n"
        "con.execute(FLOOR_SQL).fetchall()\n"
    )
    return [sys.executable, "-c", code]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small store only")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/vsmml-bench-metrics-cli"))
    parser.add_argument("--limit", default="2GB", help="VSMML_DUCKDB_MEMORY_LIMIT")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else SIZES
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f} at start")
    print(
        "| services | events | `vsmml metrics` s | events/s | peak MiB | DuckDB limit | "
        "peak ÷ limit | floor s | floor MiB | time ÷ floor |"
    )
    print("|" + "---:|" * 10)
    # DuckDB's KB/MB/GB/TB are powers of 1000 ('2GB' is 1.86 GiB); the ratio is against MiB
    unit = {"KB": 1e3 / 2**20, "MB": 1e6 / 2**20, "GB": 1e9 / 2**20, "TB": 1e12 / 2**20}
    limit = float(args.limit[:-2]) * unit[args.limit[-2:].upper()]
    for n in sizes:
        home = build(n, args.cache)
        store = home / "vsmml.duckdb"
        import duckdb

        with duckdb.connect(str(store), read_only=True) as con:
            events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        env = {
            **os.environ,
            "VSMML_HOME": str(home),
            "VSMML_DUCKDB_MEMORY_LIMIT": args.limit,
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        # the first run on a store: above VSMML_LOCAL_STREAM_EVENTS it exports the lake too
        shutil.rmtree(home / "lake", ignore_errors=True)
        ours_s, ours_mib = measure([VSMML, "metrics", "--format", "csv"], env)
        floor_s, floor_mib = measure(floor_cmd(store, args.limit), env)
        print(
            f"| {n} | {events:,} | {ours_s:.1f} | {events / ours_s:,.0f} | {ours_mib:,.0f} | "
            f"{args.limit} | {ours_mib / limit:.2f} | {floor_s:.1f} | {floor_mib:,.0f} | "
            f"{ours_s / floor_s:.1f}× |",
            flush=True,
        )
        if (home / "lake").exists():
            again_s, again_mib = measure([VSMML, "metrics", "--format", "csv"], env)
            print(
                f"| {n}, second run (lake up to date) | {events:,} | {again_s:.1f} | "
                f"{events / again_s:,.0f} | {again_mib:,.0f} | {args.limit} | "
                f"{again_mib / limit:.2f} | | | |",
                flush=True,
            )


if __name__ == "__main__":
    main()
