"""The user's ingest command against DuckDB's own floor, on canonical JSON Lines, CSV and GitHub
webhook payloads.

For each input this runs `vsmml ingest SOURCE FILE` as a subprocess into an empty VSMML_HOME
(startup, reading, checks, raw payloads, events, quarantine and the final checkpoint all
included) and, in the same run, the floor: a bare `CREATE TABLE AS SELECT * FROM
read_json/read_csv(FILE)` in a fresh DuckDB file, also as a subprocess. It prints one table:
records, seconds, records/s, peak RSS of the process, the ratio to the floor, and the CPU
seconds of both (steadier than wall time when other jobs share the machine). It also runs
a reader (a process opening the store read-only over and over) during the largest JSON Lines
ingest and prints the longest time a reader waited for the store.

Run: `.venv/bin/python bench/bench_ingest.py [--sizes 250000 1000000 5000000] [--quick]`.
Data are generated once per size from the synthetic organisation into `--data` (default: a
folder under the system temp dir) and reused.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from github_payloads import payloads as github_payloads
from vsmml.events.schema import EVENT_COLUMNS
from vsmml.synth import SynthConfig, iter_generate

VSMML = str(Path(sys.executable).with_name("vsmml"))
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Subprocess environment: bytecode cached as on a user's install (with
PYTHONDONTWRITEBYTECODE every start recompiles pandas and vsmml, 2-3 s on a loaded machine;
the floor's `import duckdb` has little Python to compile, so that would skew the ratio)."""


def generate(n: int, folder: Path) -> tuple[Path, Path]:
    """`n` canonical events of the synthetic organisation as JSON Lines and as CSV."""
    jsonl, csv_path = folder / f"events-{n}.jsonl", folder / f"events-{n}.csv"
    if jsonl.exists() and csv_path.exists():
        return jsonl, csv_path
    produced = 0
    with jsonl.open("w") as jf, csv_path.open("w", newline="") as cf:
        writer = csv.writer(cf)
        writer.writerow(EVENT_COLUMNS)
        for org in iter_generate(SynthConfig.preset("year200"), services_per_chunk=4):
            frame = org.events.iloc[: n - produced]
            produced += len(frame)
            frame = frame.assign(ts=frame["ts"].map(lambda t: t.isoformat()), received_at=None)
            for rec in frame.to_dict(orient="records"):
                row = {k: v for k, v in rec.items() if v is not None and v == v}
                cells = [
                    "" if (v is None or v != v) else v for v in (rec[c] for c in EVENT_COLUMNS)
                ]
                writer.writerow(cells)
                if "attrs" in row:
                    row["attrs"] = json.loads(row["attrs"])
                jf.write(json.dumps(row) + "\n")
            if produced >= n:
                break
    return jsonl, csv_path


def generate_github(n: int, folder: Path) -> Path:
    """`n` GitHub webhook deliveries (10-25 KB each) as JSON Lines envelopes."""
    path = folder / f"github-{n}.jsonl"
    if not path.exists():
        with path.open("w") as out:
            for event, payload in github_payloads(n):
                out.write(json.dumps({"event": event, "payload": payload}) + "\n")
    return path


def run(argv: list[str], env: dict[str, str]) -> tuple[float, int, str, float]:
    """Wall seconds, peak RSS (bytes, with its child processes), stdout and CPU seconds (user +
    system, of every process it waited for) of a subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    watcher = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, _tree_rss(watcher))
        except psutil.Error:
            break
        time.sleep(0.02)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return seconds, peak, out, cpu


def _tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and its children (webhook ingest may use worker processes;
    pages they share after a fork count once per process, an over-estimate)."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


FLOOR = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
    "con.execute(f\"CREATE TABLE floor AS SELECT * FROM {sys.argv[2]}('{sys.argv[3]}')\"); "
    "print(con.execute('SELECT count(*) FROM floor').fetchall()[0][0]); con.close()"
)

READER = """
import sys, time
from vsmml.config import Settings
from vsmml.store import Store
settings = Settings.from_env()
print("ready", flush=True)
longest, reads = 0.0, 0
while not settings.store_path.exists():
    time.sleep(0.01)
while True:
    start = time.monotonic()
    try:
        with Store.from_settings(settings, read_only=True) as store:
            store.counts()
    except Exception as exc:
        print(f"error {exc}", flush=True)
        break
    longest = max(longest, time.monotonic() - start)
    reads += 1
    print(f"{longest:.3f} {reads}", flush=True)
    time.sleep(0.2)
"""


def measure(
    source: str, path: Path, records: int, work: Path, *, reader: bool = False
) -> dict[str, object]:
    """The user's command and the floor on one file."""
    home = work / f"home-{source}-{path.stem}"
    shutil.rmtree(home, ignore_errors=True)
    env = {**ENV, "VSMML_HOME": str(home)}
    waits: list[str] = []
    reader_proc = None
    if reader:
        reader_proc = subprocess.Popen(
            [sys.executable, "-c", READER],
            env={**env, "VSMML_STORE_LOCK_TIMEOUT": "600"},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reader_proc.stdout is not None
        reader_proc.stdout.readline()
        threading.Thread(target=lambda: waits.extend(reader_proc.stdout), daemon=True).start()  # type: ignore[union-attr]
    seconds, peak, out, cpu = run([VSMML, "ingest", source, str(path)], env)
    if reader_proc is not None:
        time.sleep(0.5)
        reader_proc.kill()
    floor_db = work / "floor.duckdb"
    floor_db.unlink(missing_ok=True)
    reader_fn = "read_csv" if path.suffix == ".csv" else "read_json"
    floor_s, floor_peak, _floor_out, floor_cpu = run(
        [sys.executable, "-c", FLOOR, str(floor_db), reader_fn, str(path)], dict(ENV)
    )
    shutil.rmtree(home, ignore_errors=True)
    longest = float(waits[-1].split()[0]) if waits and not waits[-1].startswith("error") else None
    return {
        "case": f"{source} {path.name}",
        "records": records,
        "seconds": seconds,
        "peak": peak,
        "floor_s": floor_s,
        "floor_peak": floor_peak,
        "cpu": cpu,
        "floor_cpu": floor_cpu,
        "summary": out.strip().splitlines()[0] if out.strip() else "",
        "reader_wait": longest,
        "reads": int(waits[-1].split()[1]) if longest is not None else 0,
    }


def warm_up(data: Path, work: Path) -> None:
    """One tiny run of each command and of the floor, untimed, so bytecode is cached."""
    tiny = data / "warm-up.jsonl"
    tiny.write_text('{"kind": "commit", "ts": "2026-01-01T00:00:00Z", "repo": "r", "sha": "a"}\n')
    home = work / "home-warm-up"
    for source in ("jsonl", "github"):
        run([VSMML, "ingest", source, str(tiny)], {**ENV, "VSMML_HOME": str(home)})
    run([sys.executable, "-c", FLOOR, str(work / "warm.duckdb"), "read_json", str(tiny)], ENV)
    shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000, 5_000_000])
    parser.add_argument(
        "--github",
        type=int,
        nargs="+",
        default=[20_000, 50_000],
        help="GitHub deliveries per case (10-25 KB each)",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=("jsonl", "csv", "github"),
        default=["jsonl", "csv", "github"],
        help="which inputs to measure",
    )
    parser.add_argument("--quick", action="store_true", help="50k events, 2,000 GitHub payloads")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "vsmml-bench-ingest"
    )
    args = parser.parse_args()
    sizes, gh_sizes = ([50_000], [2_000]) if args.quick else (args.sizes, args.github)
    args.data.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vsmml-bench-"))
    warm_up(args.data, work)
    rows = []
    for n in sizes:
        jsonl, csv_path = generate(n, args.data)
        if "jsonl" in args.cases:
            rows.append(measure("jsonl", jsonl, n, work, reader=n == max(sizes)))
        if "csv" in args.cases:
            rows.append(measure("csv", csv_path, n, work))
    for n in gh_sizes if "github" in args.cases else []:
        rows.append(measure("github", generate_github(n, args.data), n, work))
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nmachine: {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'case':<34} {'records':>10} {'seconds':>8} {'records/s':>10} {'peak RSS':>9} "
        f"{'floor s':>8} {'vs floor':>8} {'cpu s':>6} {'floor cpu':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<34} {r['records']:>10,} {r['seconds']:>8.2f} "
            f"{r['records'] / r['seconds']:>10,.0f} {r['peak'] / 2**20:>7,.0f}MB "
            f"{r['floor_s']:>8.2f} {r['seconds'] / r['floor_s']:>7.2f}x "
            f"{r['cpu']:>6.2f} {r['floor_cpu']:>9.2f}"
        )
    for r in rows:
        print(f"  {r['case']}: {r['summary']}")
        if r["reader_wait"] is not None:
            wait = f"{r['reader_wait']:.2f} s over {r['reads']} reads"
            print(f"  longest reader wait during {r['case']}: {wait}")
    jsonl_peaks = {r["records"]: r["peak"] for r in rows if str(r["case"]).startswith("jsonl")}
    if len(jsonl_peaks) > 1:
        small, big = min(jsonl_peaks), max(jsonl_peaks)
        ratio = jsonl_peaks[big] / jsonl_peaks[small]
        print(f"peak RSS {big:,} vs {small:,} JSON Lines events: {ratio:.2f}x")


if __name__ == "__main__":
    main()
