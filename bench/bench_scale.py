"""Benchmark: how the cost of `vsmml metrics` grows with the events, local against Dask.

Usage: `.venv/bin/python bench/bench_scale.py [--sizes 1,10,50] [--work DIR]
[--in-memory-max 10] [--plot PATH] [--quick]`

For each size (millions of events) a store is built once under DIR/<size>M (setup, timed
apart, cached): the synthetic organisation (`year50` preset: one year, 7 services per million
events, one team per 5 services) is generated 10 services at a time by
`vsmml.synth.iter_generate` and each chunk written to a real DuckDB store
(`vsmml.pipeline.demo.ingest_synthetic`, what `vsmml demo` does at demo size), so no more than
10 services' events are ever in memory. Then the COMMANDS a user runs are timed, each in its own
process, output to a file:

- ``vsmml lake export`` (the first, full export of that store; `--engine dask` does it itself
  when the lake is behind, here it is measured apart so the other rows show steady state);
- ``vsmml metrics --engine local --format csv`` reading every event at once (the path of a store
  below ``VSMML_LOCAL_STREAM_EVENTS``), up to `--in-memory-max` million events;
- the same command streaming the lake partition by partition in one process
  (``VSMML_LOCAL_STREAM_EVENTS=0``; the default above 5 M stored events);
- ``vsmml metrics --engine dask --format csv`` on a LocalCluster of 2 single-threaded worker
  processes (``VSMML_DASK_WORKERS=2``; cluster start included).

Wall seconds and events/s are the command's, start to exit. Peak memory is the largest
resident set (``ru_maxrss`` of the command and its children); for the streamed and Dask runs the
command also prints the largest peak of a process that ran partitions (``VmHWM``: per worker)
and its phases (lake check, cluster start, plan, work), parsed from its standard-error line.
Every metrics run's csv is compared with the first: they must be identical bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVICES_PER_M = 7.0  # one year of one service is ≈ 143 k events (75 % SLO samples)
BIN = Path(sys.executable).parent
PATHS = {
    "memory": ("local, in memory", {"VSMML_LOCAL_STREAM_EVENTS": str(10**15)}, "local"),
    "stream": ("local, streamed", {"VSMML_LOCAL_STREAM_EVENTS": "0"}, "local"),
    "dask": ("dask, 2 workers", {"VSMML_DASK_WORKERS": "2"}, "dask"),
}


def config_for(millions: float) -> Any:
    from vsmml.synth import SynthConfig

    services = max(1, round(millions * SERVICES_PER_M))
    return SynthConfig.preset("year50", n_services=services, n_teams=max(1, services // 5))


def build(millions: float, work: Path) -> dict[str, Any]:
    """The store for `millions` events under work/<size>M (built once, then cached)."""
    from vsmml.config import Settings
    from vsmml.pipeline.demo import ingest_synthetic
    from vsmml.store import Store

    home = work / f"{millions:g}M"
    done = home / "built.json"
    if not done.exists():
        home.mkdir(parents=True, exist_ok=True)
        settings = Settings(home=home, duckdb_memory_limit="3GB")
        t0 = time.perf_counter()
        with Store.from_settings(settings) as store:
            report = ingest_synthetic(store, config_for(millions), services_per_chunk=10)
        seconds = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in home.glob("*.duckdb*"))
        built = {"events": report.accepted, "seconds": seconds, "store_bytes": size}
        built["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        done.write_text(json.dumps(built))
    return {"home": str(home), **json.loads(done.read_text())}


def measure(argv: list[str]) -> None:
    """Run `argv` (stdout to $BENCH_OUT), then print its wall time and peak memory as json."""
    out = Path(os.environ["BENCH_OUT"])
    t0 = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    stderr = proc.stderr.decode(errors="replace").strip()
    print(json.dumps({"seconds": seconds, "rc": proc.returncode, "peak": peak, "stderr": stderr}))


def command(home: str, args: list[str], env_extra: dict[str, str]) -> dict[str, Any]:
    """`vsmml <args>` on the store at `home`, measured in a fresh wrapper process."""
    out = Path(home) / "out.txt"
    env = {
        **os.environ,
        "VSMML_HOME": home,
        "VSMML_DUCKDB_MEMORY_LIMIT": "3GB",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "BENCH_OUT": str(out),
        **env_extra,
    }
    argv = [sys.executable, __file__, "--measure", str(BIN / "vsmml"), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        last = result["stderr"].splitlines() or ["?"]
        return {"error": f"exit {result['rc']}: {last[-1][:200]}", "peak": result["peak"]}
    result["sha"] = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    result["bytes"] = out.stat().st_size
    out.unlink()
    line = result["stderr"]
    if m := re.search(r"; [\d.]+ s \(([^)]*)\)", line):  # (lake 0.4 s, plan 2.6 s, ...)
        result["phases"] = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", m.group(1))}
    if m := re.search(r"peak ([\d,]+) MiB per worker", line):
        result["worker_peak"] = int(m.group(1).replace(",", "")) * 2**20
    if m := re.search(r"(\d+) partition\(s\)", line):
        result["partitions"] = int(m.group(1))
    return result


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def table(results: dict[float, dict[str, Any]]) -> str:
    """The markdown curve: every size and path."""
    lines = [
        "| events | command | seconds | events/s | peak MiB (command) | peak MiB per worker |"
        " vs local in memory |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for _size, r in sorted(results.items()):
        n = r["build"]["events"]
        base = r.get("memory", {}).get("seconds")
        lines.append(
            f"| {n:,} | build the store (setup) | {r['build']['seconds']:.1f} | "
            f"{n / r['build']['seconds']:,.0f} | {mib(r['build']['peak_rss'])} | | |"
        )
        rows = [("lake export", "export")] + [(PATHS[k][0], k) for k in PATHS]
        for label, key in rows:
            m = r.get(key)
            if m is None:
                lines.append(f"| {n:,} | {label} | not run | | | | |")
                continue
            if "error" in m:
                peak = mib(m["peak"]) if "peak" in m else ""
                lines.append(f"| {n:,} | {label} | failed: {m['error']} | | {peak} | | |")
                continue
            ratio = f"{m['seconds'] / base:.2f}×" if base and key in PATHS else ""
            worker = mib(m["worker_peak"]) if "worker_peak" in m else ""
            lines.append(
                f"| {n:,} | {label} | {m['seconds']:.1f} | {n / m['seconds']:,.0f} | "
                f"{mib(m['peak'])} | {worker} | {ratio} |"
            )
    return "\n".join(lines)


def phases(results: dict[float, dict[str, Any]]) -> str:
    """Where the time goes, from each run's phases (EngineRun.phases)."""
    lines = [
        "| events | command | partitions | lake s | cluster s | plan s | work s | start+exit s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _size, r in sorted(results.items()):
        n = r["build"]["events"]
        for key in ("stream", "dask"):
            m = r.get(key, {})
            ph = m.get("phases")
            if not ph:
                continue
            rest = m["seconds"] - sum(ph.values())
            lines.append(
                f"| {n:,} | {PATHS[key][0]} | {m.get('partitions', '')} | {ph.get('lake', 0):.1f}"
                f" | {ph.get('cluster', 0):.1f} | {ph.get('plan', 0):.1f} | "
                f"{ph.get('work', 0):.1f} | {rest:.1f} |"
            )
    return "\n".join(lines)


def plot(results: dict[float, dict[str, Any]], path: Path) -> None:
    """Events/s and peak memory per worker against events, one line per command."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in [("export", "vsmml lake export")] + [(k, PATHS[k][0]) for k in PATHS]:
        pts = [
            (r["build"]["events"], r[key])
            for _, r in sorted(results.items())
            if key in r and "error" not in r[key]
        ]
        if not pts:
            continue
        xs = [x for x, _ in pts]
        ax1.plot(xs, [x / m["seconds"] for x, m in pts], marker="o", label=label)
        ax2.plot(xs, [m.get("worker_peak", m["peak"]) / 2**30 for _, m in pts], marker="o")
    titles = ("events/s (whole command)", "peak GiB per worker (else of the command)")
    for ax, title in zip((ax1, ax2), titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("events in the store")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle("vsmml metrics --by service --freq W, 2-core machine", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        measure(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small size (0.3 M events)")
    parser.add_argument("--sizes", default="1,10", help="millions of events, comma-separated")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vsmml-bench-scale"))
    parser.add_argument("--in-memory-max", type=float, default=10.0)
    parser.add_argument("--plot", type=Path, default=HERE / "scale.svg")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw numbers")
    args = parser.parse_args()
    sizes = [0.3] if args.quick else [float(x) for x in args.sizes.split(",")]
    load = os.getloadavg()
    print(
        f"# bench_scale {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"
    )
    results: dict[float, dict[str, Any]] = {}
    if args.json and args.json.exists():
        results = {float(k): v for k, v in json.loads(args.json.read_text()).items()}
    for size in sizes:
        built = build(size, args.work)
        home = built["home"]
        print(f"## {size:g} M: {built['events']:,} events built in {built['seconds']:.0f} s")
        r: dict[str, Any] = {"build": built}
        r["export"] = command(home, ["lake", "export", "--full"], {})
        print(f"   export: {json.dumps(r['export'])}", flush=True)
        for key, (_label, env, engine) in PATHS.items():
            if key == "memory" and size > args.in_memory_max:
                continue
            r[key] = command(home, ["metrics", "--engine", engine, "--format", "csv"], env)
            print(f"   {key}: {json.dumps(r[key])}", flush=True)
        shas = {r[k]["sha"] for k in PATHS if k in r and "sha" in r[k]}
        r["csv_identical"] = len(shas) == 1
        print(f"   csv identical across commands: {r['csv_identical']} ({sorted(shas)})")
        results[size] = r
        if args.json:
            args.json.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print(table(results))
    print()
    print(phases(results))
    if not args.quick:
        plot(results, args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
