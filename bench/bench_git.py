"""Benchmark git mining: generate a 50,000-commit repository with `git fast-import`, then mine it.

Reference: the issue's budget, 50,000 commits mined (history, 14 Kamei metrics, events) in under
120 s on 2 cores. SZZ is timed separately on a smaller repository (it blames every fix commit).

    .venv/bin/python bench/bench_git.py            # 50,000 commits (+ SZZ on 5,000)
    .venv/bin/python bench/bench_git.py --quick    # 5,000 commits (+ SZZ on 1,000)
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from vsmml.events.connectors.git import GitRules, to_events
from vsmml.events.connectors.git_kamei import kamei_metrics
from vsmml.events.schema import validate_events
from vsmml.pipeline.ingest import git_repo

BUDGET_S = 120.0
WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]


def generate(path: Path, commits: int, *, seed: int = 7) -> float:
    """Write a repository of `commits` commits with realistic small diffs; return seconds taken."""
    rng = random.Random(seed)
    start = time.perf_counter()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    files = [f"mod{d % 8}/pkg{d}/file{f}.py" for d in range(60) for f in range(25)]
    content: dict[str, list[str]] = {}
    authors = [(f"dev{i}", f"dev{i}@example.com") for i in range(25)]
    t0 = 1_600_000_000
    proc = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    out = proc.stdin
    for n in range(1, commits + 1):
        name, email = rng.choice(authors)
        when = t0 + n * 600 + rng.randint(0, 300)
        fix = rng.random() < 0.2
        msg = f"{'Fix' if fix else 'Change'} {rng.choice(WORDS)} {n}\n".encode()
        touched = rng.sample(files, rng.choice((1, 1, 2, 2, 3, 4)))
        ops = []
        for f in touched:
            lines = content.setdefault(f, [])
            for _ in range(rng.randint(1, 6)):
                pos = rng.randint(0, len(lines))
                roll = rng.random()
                word = f"{rng.choice(WORDS)}_{n} = {rng.randint(0, 999)}"
                if roll < 0.5 or len(lines) < 5:
                    lines.insert(pos, word)
                elif roll < 0.8 and pos < len(lines):
                    lines[pos] = word
                elif pos < len(lines):
                    del lines[pos]
            data = ("\n".join(lines) + "\n").encode()
            ops.append(b"M 100644 inline %s\ndata %d\n%s\n" % (f.encode(), len(data), data))
        out.write(b"commit refs/heads/main\nmark :%d\n" % n)
        out.write(b"author %s <%s> %d +0000\n" % (name.encode(), email.encode(), when))
        out.write(b"committer %s <%s> %d +0000\n" % (name.encode(), email.encode(), when))
        out.write(b"data %d\n%s" % (len(msg), msg))
        if n > 1:
            out.write(b"from :%d\n" % (n - 1))
        out.write(b"".join(ops) + b"\n")
        if n % 1000 == 0:
            out.write(b"reset refs/tags/v1.%d.0\nfrom :%d\n\n" % (n // 1000, n))
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "main"], check=True)
    return time.perf_counter() - start


def peak_mb() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mine_timed(path: Path, rules: GitRules) -> list[tuple[str, int, float]]:
    """Time each phase of mining; rows of (phase, rows, seconds)."""
    t = time.perf_counter()
    stream = git_repo.run_git(path, "log", "--reverse", "--topo-order", "-z", "--numstat", "-M",
                              f"--format={git_repo.LOG_FORMAT}")  # fmt: skip
    t_log = time.perf_counter() - t
    t = time.perf_counter()
    commits = git_repo.parse_log(stream)
    t_parse = time.perf_counter() - t
    t = time.perf_counter()
    metrics = kamei_metrics(commits)
    t_kamei = time.perf_counter() - t
    t = time.perf_counter()
    history = {"repo": "bench", "commits": commits, "tags": git_repo.read_tags(path),
               "metrics": metrics}  # fmt: skip
    conv = to_events(history, rules)
    t_events = time.perf_counter() - t
    t = time.perf_counter()
    valid = validate_events(conv.events)
    t_valid = time.perf_counter() - t
    n = len(commits)
    return [
        ("git log --numstat", n, t_log),
        ("parse stream", n, t_parse),
        ("Kamei metrics", n, t_kamei),
        ("to events", len(conv.events), t_events),
        ("validate events", len(valid.events), t_valid),
    ]


def main() -> None:
    """Generate, mine and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 commits instead of 50,000")
    args = parser.parse_args()
    n = 5_000 if args.quick else 50_000
    n_szz = 1_000 if args.quick else 5_000
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "big"
        gen_s = generate(repo, n)
        print(f"generated {n:,} commits with git fast-import in {gen_s:.1f} s")
        rows = mine_timed(repo, GitRules(repo="bench"))
        t = time.perf_counter()
        mining = git_repo.mine(repo, GitRules(repo="bench"))
        end_to_end = time.perf_counter() - t
        assert len(mining.history["commits"]) == n
        small = Path(tmp) / "small"
        generate(small, n_szz, seed=11)
        t = time.perf_counter()
        szz = git_repo.mine(small, GitRules(repo="small", szz=True))
        szz_s = time.perf_counter() - t
    print(
        f"\n{'phase':<28}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'peak MiB':>10}{'vs 120 s':>10}"
    )
    for phase, count, secs in [*rows, ("mine() end to end", n, end_to_end)]:
        ratio = f"{secs / BUDGET_S:.3f}" if phase.startswith("mine") else ""
        print(f"{phase:<28}{count:>10,}{secs:>10.2f}{count / max(secs, 1e-9):>12,.0f}"
              f"{peak_mb():>10.0f}{ratio:>10}")  # fmt: skip
    print(
        f"{'mine(szz=True)':<28}{n_szz:>10,}{szz_s:>10.2f}{n_szz / szz_s:>12,.0f}{peak_mb():>10.0f}"
    )
    print(f"\nSZZ on {n_szz:,} commits: {szz.szz_fixes_examined:,} fix commits blamed, "
          f"{szz.szz_labels:,} bug-inducing commits labelled")  # fmt: skip


if __name__ == "__main__":
    main()
