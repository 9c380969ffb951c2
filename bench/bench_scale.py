"""Benchmark: how cost grows with the work, single machine against a 2-worker Dask LocalCluster.

Usage: `.venv/bin/python bench/bench_scale.py [--quick] [--sizes 1,10,50] [--work DIR]
[--in-memory-max 10] [--plot PATH]`

For each size (millions of events) the synthetic organisation (one year, more services for more
events; `vsmml.synth.iter_generate` streams it, 10 services at a time) is ingested once into a
real store under DIR/<size>M (setup, not timed), then each step runs in a fresh subprocess:

- ``lake export``: `export_lake` from the store (the first, full export; what `vsmml lake
  export` and the first `--engine dask` run do), then the no-op check of a second export;
- ``local (stream)``: `vsmml metrics` per service and week over the lake partition by
  partition in one process (`partitioned_metrics` with `SerialExecutor`): the same functions and
  the same bounded memory as Dask, without Dask;
- ``dask 2 workers``: the same partitions on a LocalCluster of 2 single-threaded worker
  processes (cluster start included), i.e. `metrics_report_dask`;
- ``local (in memory)``: today's `vsmml metrics` path (`metrics_report`: every event in one
  frame), up to `--in-memory-max` million events (it does not fit beyond);
- ``vsmml metrics --engine dask``: the command a user runs, end to end (interpreter start, lake
  check, cluster start, csv to /dev/null), for the smallest size.

Events/s is events over wall seconds of the step; peak memory is the maximum resident set of
the process (local) or of each worker (Dask: the largest worker; the client's beside it). Where
time goes comes from the partitions' own timers (read, correlate, metrics), summed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVICES_PER_M = 7.0  # one year of one service is ≈ 143 k events (75 % SLO samples)


def config_for(millions: float) -> Any:
    from vsmml.synth import SynthConfig

    services = max(1, round(millions * SERVICES_PER_M))
    return SynthConfig.preset(
        "year50", n_services=services, n_teams=max(1, min(services, services // 5 or 1))
    )


def settings_for(home: Path) -> Any:
    from vsmml.config import Settings

    return Settings(home=home, duckdb_memory_limit="3GB", dask_workers=2)


def build(millions: float, work: Path) -> Path:
    """Ingest the organisation for `millions` events into work/<size>M (once, cached)."""
    from vsmml.pipeline.demo import ingest_synthetic
    from vsmml.store import Store

    home = work / f"{millions:g}M"
    done = home / "built.json"
    if done.exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Store.from_settings(settings_for(home)) as store:
        report = ingest_synthetic(store, config_for(millions), services_per_chunk=10)
    done.write_text(json.dumps({"events": report.accepted, "seconds": time.perf_counter() - t0}))
    return home


def _rss() -> int:
    from vsmml.pipeline.distributed.engine import peak_rss

    return peak_rss()


def step(name: str, home: Path) -> dict[str, Any]:
    """Run one measured step in this (fresh) process; returns its numbers."""
    from vsmml.pipeline.distributed.cluster import SerialExecutor
    from vsmml.pipeline.distributed.metrics import metrics_report_dask, partitioned_metrics
    from vsmml.pipeline.distributed.plan import plan_partitions
    from vsmml.pipeline.lake import export_lake, load_manifest
    from vsmml.pipeline.queries.metrics import MetricsQuery, metrics_report

    s = settings_for(home)
    query = MetricsQuery(by="service", freq="W")
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    if name == "export":
        report = export_lake(s, full=True)
        out["seconds"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        again = export_lake(s)
        out.update(events=report.rows, files=report.files, check_seconds=time.perf_counter() - t1)
        assert again.up_to_date
    elif name == "local":
        manifest = load_manifest(s.lake_path)
        t1 = time.perf_counter()
        plan = plan_partitions(manifest, by="service", target_rows=s.dask_partition_events)
        out["plan_seconds"] = time.perf_counter() - t1
        rep, parts = partitioned_metrics(query, plan, SerialExecutor(), s.duckdb_memory_limit)
        out.update(_parts(parts), events=manifest.rows, partitions=len(plan.partitions))
        out["rows"] = len(rep.tidy)
    elif name == "dask":
        parts_seen: list[Any] = []
        import vsmml.pipeline.distributed.metrics as dm

        inner = dm.partitioned_metrics

        def spy(*args: Any, **kwargs: Any) -> Any:
            rep, parts = inner(*args, **kwargs)
            parts_seen.extend(parts)
            return rep, parts

        dm.partitioned_metrics = spy  # records the partitions' own timers; computes as is
        done = metrics_report_dask(query, s)
        out.update(_parts(parts_seen), events=done.run.events, partitions=done.run.partitions)
        out["phases"] = done.run.phases
        out["rows"] = len(done.report.tidy)
    elif name == "memory":
        rep = metrics_report(query, s)
        out["rows"] = len(rep.tidy)
    out["seconds"] = out.get("seconds", time.perf_counter() - t0)
    out["peak_rss"] = _rss()
    return out


def _parts(parts: list[Any]) -> dict[str, Any]:
    total = {k: sum(p.seconds[k] for p in parts) for k in ("read", "correlate", "metrics")}
    return {"steps": total, "worker_peak_rss": max(p.peak_rss for p in parts)}


def run_step(name: str, home: Path) -> dict[str, Any]:
    """`step` in a fresh interpreter (so peak memory is this step's alone)."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    proc = subprocess.run(
        [sys.executable, __file__, "--step", name, "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def user_command(home: Path) -> dict[str, Any]:
    """`vsmml metrics --engine dask --format csv` as a user runs it (lake already exported)."""
    env = {
        **os.environ,
        "VSMML_HOME": str(home),
        "VSMML_DASK_WORKERS": "2",
        "VSMML_DUCKDB_MEMORY_LIMIT": "3GB",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    vsmml = Path(sys.executable).with_name("vsmml")
    t0 = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.run(
            [str(vsmml), "metrics", "--engine", "dask", "--format", "csv"],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
    return {
        "seconds": time.perf_counter() - t0,
        "ok": proc.returncode == 0,
        "stderr": proc.stderr.strip()[-300:],
    }


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def report(results: dict[float, dict[str, Any]]) -> str:
    """The markdown table of every size and path."""
    lines = [
        "| events | path | seconds | events/s | peak MiB (per worker) | vs local stream |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for _size, r in sorted(results.items()):
        n = r["export"].get("events", 0)
        base = r["local"].get("seconds")
        rows = [
            ("lake export (first)", r["export"], "peak_rss"),
            ("local (stream)", r["local"], "peak_rss"),
            ("dask 2 workers", r["dask"], "worker_peak_rss"),
        ]
        if "memory" in r:
            rows.append(("local (in memory)", r["memory"], "peak_rss"))
        for label, m, peak in rows:
            if "error" in m:
                lines.append(f"| {n:,} | {label} | failed: {m['error']} | | | |")
                continue
            ratio = f"{m['seconds'] / base:.2f}×" if base and label != "lake export (first)" else ""
            extra = f" (client {mib(m['peak_rss'])})" if label.startswith("dask") else ""
            lines.append(
                f"| {n:,} | {label} | {m['seconds']:.1f} | {n / m['seconds']:,.0f} | "
                f"{mib(m[peak])}{extra} | {ratio} |"
            )
    return "\n".join(lines)


def where(results: dict[float, dict[str, Any]]) -> str:
    """Where the time goes: the partitions' timers and the fixed costs, per size."""
    lines = [
        "| events | path | read % | correlate % | metrics % | plan s | other s | partitions |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _size, r in sorted(results.items()):
        n = r["export"].get("events", 0)
        for label, m in (("local (stream)", r["local"]), ("dask 2 workers", r["dask"])):
            if "steps" not in m:
                continue
            st = m["steps"]
            busy = sum(st.values())
            wall_work = busy / (1 if label.startswith("local") else 2)
            other = m["seconds"] - wall_work - m.get("plan_seconds", 0.0)
            lines.append(
                f"| {n:,} | {label} | {100 * st['read'] / busy:.0f} | "
                f"{100 * st['correlate'] / busy:.0f} | {100 * st['metrics'] / busy:.0f} | "
                f"{m.get('plan_seconds', float('nan')):.1f} | {other:.1f} | {m['partitions']} |"
            )
    return "\n".join(lines)


def plot(results: dict[float, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label, peak in (
        ("local", "local (stream)", "peak_rss"),
        ("dask", "dask, 2 workers", "worker_peak_rss"),
        ("memory", "local (in memory)", "peak_rss"),
        ("export", "lake export", "peak_rss"),
    ):
        pts = [
            (results[s]["export"]["events"], results[s][key])
            for s in sizes
            if key in results[s] and "error" not in results[s][key]
        ]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        ax1.plot(xs, [x / m["seconds"] for x, m in pts], marker="o", label=label)
        ax2.plot(xs, [m[peak] / 2**30 for _, m in pts], marker="o", label=label)
    for ax, title in ((ax1, "events/s"), (ax2, "peak GiB (per worker)")):
        ax.set_xscale("log")
        ax.set_xlabel("events")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one small size (≈ 0.3 M events, 2 services)"
    )
    parser.add_argument("--sizes", default="1,10,50", help="millions of events, comma-separated")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vsmml-bench-scale"))
    parser.add_argument("--in-memory-max", type=float, default=10.0)
    parser.add_argument("--plot", type=Path, default=HERE / "scale.png")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.home)))
        return
    sizes = [0.3] if args.quick else [float(x) for x in args.sizes.split(",")]
    load = os.getloadavg()
    print(
        f"# bench_scale {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"
    )
    results: dict[float, dict[str, Any]] = {}
    for size in sizes:
        home = build(size, args.work)
        built = json.loads((home / "built.json").read_text())
        print(
            f"## {size:g} M: {built['events']:,} events ingested ({built['seconds']:.0f} s, setup)",
            flush=True,
        )
        r: dict[str, Any] = {"export": run_step("export", home)}
        r["local"] = run_step("local", home)
        r["dask"] = run_step("dask", home)
        if size <= args.in_memory_max:
            r["memory"] = run_step("memory", home)
        for key, value in r.items():
            print(f"   {key}: {json.dumps(value)}", flush=True)
        results[size] = r
    first = args.work / f"{sizes[0]:g}M"
    cmd = user_command(first)
    load = os.getloadavg()
    print(
        f"\n`vsmml metrics --engine dask --format csv` on {sizes[0]:g} M events: "
        f"{cmd['seconds']:.1f} s (ok={cmd['ok']}); {cmd['stderr']}"
    )
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print(report(results))
    print()
    print(where(results))
    if not args.quick:
        plot(results, args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
