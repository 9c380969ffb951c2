"""Benchmark the release gate on a real commit: `vsmml score --repo PATH`, cold and cached.

A 50,000-commit repository is generated with `bench_git.generate` (git fast-import). Timed, each
as the subprocess a CI job runs (empty `VSMML_HOME` first, then the cache it leaves):

- cold: the first call mines the whole history into the cache;
- cached: the same commit again;
- incremental: one new commit on top (the CI case), and five new commits;
- references in the same run: `python -c "import numpy"` (the start-up budget of `vsmml score` is
  3x that), `vsmml score --la 120 --ld 30 --nf 4` (scoring given metrics), and
  `vsmml git-metrics PATH` (the miner alone, no cache).

    .venv/bin/python bench/bench_gate.py            # 50,000 commits
    .venv/bin/python bench/bench_gate.py --quick    # 5,000 commits
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_git import generate

VSMML = str(Path(sys.executable).parent / "vsmml")
FLOOR = (
    "import sys; from pathlib import Path\n"
    "from vsmml.config import get_settings\n"
    "from vsmml.pipeline.gate import GateRequest, gate\n"
    "r = gate(GateRequest(repo=Path(sys.argv[1])), get_settings())\n"
    "print(r.decision, r.mining.how)\n"
)
"""The gate's own path in a fresh interpreter: what `vsmml score --repo` costs without the
modules of other commands that `vsmml.cli` imports at start-up."""


def timed(cmd: list[str], env: dict[str, str], runs: int = 1) -> tuple[float, float, int, str]:
    """(median s, fastest s, peak RSS MiB of the child, last stdout line) over `runs` runs."""
    walls, peak, last = [], 0, ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - t0)
        out = proc.stdout.read().decode() if proc.stdout else ""
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{cmd} exited {code}: {err}")
        peak = max(peak, usage.ru_maxrss // 1024)
        last = (out.strip().splitlines() or [""])[-2 if "model:" in out else -1]
    return statistics.median(walls), min(walls), peak, last


def _commit(repo: Path, n: int, start: int) -> None:
    who = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}  # fmt: skip
    env = {**os.environ, **who}
    for i in range(start, start + n):
        (repo / "mod0").mkdir(parents=True, exist_ok=True)
        (repo / "mod0" / f"new{i}.py").write_text(f"x = {i}\n" * (i + 3))
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(repo), "commit", "-qm", f"bench {i}"], check=True, env=env)


def main() -> None:
    """Generate, then time every case; print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--commits", type=int, default=None)
    ap.add_argument("--runs", type=int, default=5, help="runs of each fast case")
    args = ap.parse_args()
    commits = args.commits or (5_000 if args.quick else 50_000)
    with tempfile.TemporaryDirectory() as tmp:
        repo, home = Path(tmp) / "repo", Path(tmp) / "home"
        gen_s = generate(repo, commits)
        env = {**os.environ, "VSMML_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
        rows = []
        ref = timed([sys.executable, "-c", "import numpy"], env, args.runs)
        rows.append(('`python -c "import numpy"` (reference)', ref))
        rows.append(
            (
                "`vsmml score --la 120 --ld 30 --nf 4`",
                timed([VSMML, "score", "--la", "120", "--ld", "30", "--nf", "4"], env, args.runs),
            )
        )
        rows.append(
            (
                "`vsmml git-metrics PATH` (miner, no cache)",
                timed([VSMML, "git-metrics", str(repo)], env),
            )
        )
        gate = [VSMML, "score", "--repo", str(repo)]
        rows.append(("gate, cold: mines the history into the cache", timed(gate, env)))
        rows.append(("gate, cached: the same commit again", timed(gate, env, args.runs)))
        _commit(repo, 1, 0)
        rows.append(("gate, incremental: 1 new commit", timed(gate, env)))
        _commit(repo, 5, 1)
        rows.append(("gate, incremental: 5 new commits", timed(gate, env)))
        rows.append(("gate, cached after the increments", timed(gate, env, args.runs)))
        floor = [sys.executable, "-c", FLOOR, str(repo)]
        rows.append(
            ("same, `pipeline.gate` without the CLI's other modules", timed(floor, env, args.runs))
        )
        size = sum(f.stat().st_size for f in (home / "cache").rglob("*") if f.is_file())
    base = ref[0]
    print(f"repository: {commits:,} commits (generated in {gen_s:.1f} s)")
    print(f"cache under VSMML_HOME: {size / 2**20:.1f} MiB")
    print("| case | median s | fastest s | peak RSS MiB | x import numpy |")
    print("|---|---:|---:|---:|---:|")
    for name, (med, fast, peak, _) in rows:
        print(f"| {name} | {med:.3f} | {fast:.3f} | {peak} | {med / base:.1f} |")
    print(f"\nbudget: 3 x import numpy = {3 * base:.3f} s")


if __name__ == "__main__":
    main()
