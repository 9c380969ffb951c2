"""Benchmark of synthetic generation: events/s and peak memory (RSS) per preset.

Run: .venv/bin/python bench/bench_synth.py            (demo whole + year50 streamed in chunks)
     .venv/bin/python bench/bench_synth.py --quick    (tiny + demo)
     .venv/bin/python bench/bench_synth.py --preset year200 --max-chunks 3
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from peak_rss import PeakRss
from vsmml.synth import SynthConfig, generate, iter_generate

DEMO_BUDGET_S = 10.0  # the brief: the default demo generates in under ~10 s


@dataclass
class Row:
    case: str
    services: int
    days: int
    events: int
    seconds: float
    peak_rss_mb: float
    ratio: str


def run_whole(name: str) -> Row:
    cfg = SynthConfig.preset(name)
    with PeakRss() as mem:
        t0 = time.perf_counter()
        org = generate(cfg)
        secs = time.perf_counter() - t0
    ratio = f"{secs / DEMO_BUDGET_S:.2f}x of 10 s budget" if name == "demo" else "-"
    return Row(
        f"{name} (whole)", cfg.n_services, cfg.days, len(org.events), secs, mem.peak / 2**20, ratio
    )


def run_streamed(name: str, chunk: int, max_chunks: int | None) -> Row:
    cfg = SynthConfig.preset(name)
    n_events = 0
    n_services = 0
    with PeakRss() as mem:
        t0 = time.perf_counter()
        for i, org in enumerate(iter_generate(cfg, services_per_chunk=chunk)):
            n_events += len(org.events)
            n_services += len(org.truth.services)
            del org
            if max_chunks is not None and i + 1 >= max_chunks:
                break
        secs = time.perf_counter() - t0
    return Row(
        f"{name} (chunks of {chunk})", n_services, cfg.days, n_events, secs, mem.peak / 2**20, "-"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny and demo only")
    parser.add_argument("--preset", default="year50", help="preset to stream (default year50)")
    parser.add_argument("--chunk", type=int, default=10, help="services per chunk")
    parser.add_argument("--max-chunks", type=int, default=None, help="stop after N chunks")
    args = parser.parse_args()
    rows = []
    if not args.quick:  # first, so its peak RSS is not inflated by the demo frame
        rows.append(run_streamed(args.preset, args.chunk, args.max_chunks))
    rows += [run_whole("tiny"), run_whole("demo")]
    head = (
        f"{'case':<26}{'services':>9}{'days':>6}{'events':>12}{'seconds':>9}"
        f"{'events/s':>11}{'peak RSS MB':>13}  ratio"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.case:<26}{r.services:>9}{r.days:>6}{r.events:>12,}{r.seconds:>9.2f}"
            f"{r.events / r.seconds:>11,.0f}{r.peak_rss_mb:>13,.0f}  {r.ratio}"
        )


if __name__ == "__main__":
    main()
