"""The dashboards as a user opens them: `vsmml serve` answering `/ui/*` over HTTP, against
`GET /v1/metrics/dora` of the same server (a cached JSON read) as the reference.

Prints one table: case, events in the store, the first answer's seconds (the page is built),
mean ± sd milliseconds of the next answers (cached until the next write, rendered afresh with a
new nonce), answers per second, the server's peak RSS, ratio of the cached mean to the
reference's. Run: `.venv/bin/python bench/bench_ui.py [--quick]` (full: the demo organisation,
12 services, 180 days; quick: 4 services, 42 days).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from bench_report import build

VSMML = str(Path(sys.executable).with_name("vsmml"))
REPEAT = 20


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(home: Path) -> str:
    from vsmml.config import Settings
    from vsmml.pipeline.tokens import TokenRequest, create_token
    from vsmml.store import Store

    with Store.from_settings(Settings(home=home)) as store:
        return create_token(store, TokenRequest("read", "bench")).token


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"vsmml serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("vsmml serve did not become ready")


def _time(client: httpx.Client, path: str, rss: list[float], pid: int) -> tuple[float, list[float]]:
    def once() -> float:
        t = time.perf_counter()
        r = client.get(path)
        took = time.perf_counter() - t
        if r.status_code != 200:
            raise SystemExit(f"GET {path}: {r.status_code} {r.text[:200]}")
        rss[0] = max(rss[0], psutil.Process(pid).memory_info().rss / 2**20)
        return took

    first = once()
    return first, [once() for _ in range(REPEAT)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        home = Path(tmp) / "home"
        events = build(home, args.quick)
        token = _token(home)
        port = _port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "VSMML_HOME": str(home)}
        cmd = [VSMML, "serve", "--port", str(port), "--no-access-log", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(url, proc)
            bearer = {"Authorization": f"Bearer {token}"}
            client = httpx.Client(base_url=url, timeout=600, headers=bearer)
            rss = [0.0]
            rows = []
            for name, path in (
                ("GET /v1/metrics/dora (reference)", "/v1/metrics/dora"),
                ("GET /ui/executive", "/ui/executive"),
                ("GET /ui/oncall", "/ui/oncall"),
                ("GET /ui/debug", "/ui/debug"),
                ("GET /ui/debug?deploy= (other)", None),
            ):
                if path is None:  # a deployment the executive page links to: a new build
                    import re

                    page = client.get("/ui/executive").text
                    path = re.findall(r'href="(/ui/debug\?deploy=[^"]+)"', page)[0]
                first, rest = _time(client, path, rss, proc.pid)
                rows.append((name, first, statistics.mean(rest), statistics.stdev(rest)))
            t = time.perf_counter()
            signin = httpx.get(
                url + f"/ui/executive?token={token}", headers={"Accept": "text/html"}
            )
            assert signin.status_code == 303
            exchange = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    ref = rows[0][2]
    print(
        f"{'case':<34} {'events':>9} {'first s':>8} {'cached ms':>16} {'answers/s':>10} "
        f"{'peak MiB':>9} {'ratio':>6}"
    )
    for name, first, mean, sd in rows:
        print(
            f"{name:<34} {events:>9,} {first:>8.2f} {mean * 1000:>9.1f} ± {sd * 1000:<4.1f} "
            f"{1 / mean:>10,.0f} {rss[0]:>9.0f} {mean / ref:>6.2f}"
        )
    print(f"\nsign-in link (token -> session cookie, 303): {exchange * 1000:.1f} ms")


if __name__ == "__main__":
    main()
