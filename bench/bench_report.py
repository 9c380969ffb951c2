"""The weekly report and the dashboards: `vsmml report weekly` as a user runs it, against
`vsmml bottlenecks` (one read and correlation of the same store) as the reference.

Prints one table: case, events in the store, mean ± sd seconds, events per second, peak RSS,
ratio to the reference; then the report's parts (read, correlate, sections, render) and the
three pages' build + render times, measured in this process.
Run: `.venv/bin/python bench/bench_report.py [--quick]` (full: the demo organisation, 12
services, 180 days; quick: 4 services, 42 days).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from child_run import repeat_child

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

VSMML = [str(Path(sys.executable).with_name("vsmml"))]


def run_cmd(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """(mean, sd, peak RSS MiB) wall seconds of `cmd` over `runs` runs (after one warm-up)."""
    times, peak = repeat_child(cmd, runs, env)
    return statistics.mean(times), statistics.stdev(times) if runs > 1 else 0.0, peak


def build(home: Path, quick: bool) -> int:
    """The demo organisation (no training: the shipped default risk model scores) in `home`."""
    from vsmml.config import Settings
    from vsmml.pipeline.demo import ingest_synthetic, misconfigured_webhook_events
    from vsmml.store import Store
    from vsmml.synth import SynthConfig

    overrides = {"n_services": 4, "n_teams": 2, "days": 42} if quick else {}
    config = SynthConfig.preset("demo", seed=42, **overrides)
    with Store.from_settings(Settings(home=home)) as store:
        report = ingest_synthetic(store, config)
        store.write_events(misconfigured_webhook_events(config))
    return report.accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small store, one run each")
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        home = Path(tmp) / "home"
        events = build(home, args.quick)
        env = {**os.environ, "VSMML_HOME": str(home)}
        out = Path(tmp) / "out"
        cases = [
            ("vsmml bottlenecks (reference)", [*VSMML, "bottlenecks"]),
            ("vsmml report weekly", [*VSMML, "report", "weekly", "--out", str(out)]),
        ]
        rows = []
        for name, cmd in cases:
            mean, sd, peak = run_cmd(cmd, env, runs)
            rows.append((name, mean, sd, peak))
        ref = rows[0][1]
        print(
            f"{'case':<32} {'events':>9} {'seconds':>14} {'events/s':>10} {'peak MiB':>9} "
            f"{'ratio':>6}"
        )
        for name, mean, sd, peak in rows:
            print(
                f"{name:<32} {events:>9,} {mean:>8.2f} ± {sd:<4.2f} {events / mean:>10,.0f} "
                f"{peak:>9.0f} {mean / ref:>6.2f}"
            )
        html = next(out.glob("*.html"))
        plots = html.read_text(encoding="utf-8").count("<svg")
        print(f"\nreport file: {html.stat().st_size / 1024:.0f} KiB, {plots} plots")
        parts(home)


def parts(home: Path) -> None:
    """The report's parts and the pages, in this process (warm: imports already paid)."""
    from vsmml.config import Settings
    from vsmml.pipeline import dashboards
    from vsmml.pipeline.report import ReportRequest, weekly_from_store
    from vsmml.report.pages import render_page
    from vsmml.store import Store

    settings = Settings(home=home)
    with Store.from_settings(settings, read_only=True) as store:
        weekly_from_store(store, ReportRequest(), settings=settings)  # warm-up
        result = weekly_from_store(store, ReportRequest(out=home / "r"), settings=settings)
        print(
            "\nreport parts, seconds: "
            + ", ".join(f"{k} {v:.2f}" for k, v in result.seconds.items())
        )
        for name, fn in (
            ("executive", lambda: dashboards.executive(store, settings=settings)),
            ("oncall", lambda: dashboards.oncall(store)),
            ("debug", lambda: dashboards.debug(store, settings=settings)),
        ):
            t = time.perf_counter()
            page = fn()
            html = render_page(page)
            print(f"page {name:<10} {time.perf_counter() - t:6.2f} s  {len(html) / 1024:5.0f} KiB")


if __name__ == "__main__":
    main()
