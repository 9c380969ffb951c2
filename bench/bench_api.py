"""The HTTP service under load, only ever against 127.0.0.1: scoring, sustained ingest, start-up.

Runs `vsmml serve` (one uvicorn worker) as a user would, on a fresh ``VSMML_HOME``, and beside it,
in the same run, the reference: a bare FastAPI endpoint predicting one row on the LightGBM
booster (`bench/api_reference.py`). Load comes from `wrk` (Debian's package, installed here
with ``apt-get install -y wrk`` when missing), pinned to the other core when `taskset` exists.

Rows: the reference; ``POST /v1/risk/score`` with one change, auth and reasons (the same change
again and again: answers are remembered per model and input; and a new change every request:
a fresh TreeSHAP explanation each time); ``GET /healthz`` (the middleware's floor); then
``POST /v1/events`` in batches of 1,000 for 60 s (``--quick``: 15 s) with the server's memory
sampled every second and reads (a score, a quarantine page) timed meanwhile; and the time from
starting `vsmml serve` to ``/healthz`` and ``/readyz``. Without ``--quick`` it also runs the
schemathesis suite with its coverage phase and more examples.

Run: ``.venv/bin/python bench/bench_api.py [--quick] [--seconds N] [--no-fuzz] [--score-only]``;
``--app-only N`` instead times the ASGI app in-process (no network, no wrk): our code's share.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
HOST = "127.0.0.1"  # never anything else


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    """The `wrk` binary, installed from Debian's package when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    for step in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"]):
        subprocess.run(step, check=False, capture_output=True)
        if step[1] == "update":
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        if shutil.which("wrk"):
            return str(shutil.which("wrk"))
    raise SystemExit("wrk is not installed and `apt-get install -y wrk` failed")


def pinned(cmd: list[str], cpu: int) -> list[str]:
    """`cmd` pinned to one CPU when taskset is there (server on one core, load on the other)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def wait(url: str, path: str, timeout: float = 120.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"{url}{path} did not answer 200 within {timeout} s")


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([0-9.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def run_wrk(wrk: str, url: str, lua: str, seconds: int, connections: int) -> dict[str, float]:
    """Requests/s, p50/p99 ms, requests and non-2xx answers of one wrk run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url]
    out = subprocess.run(pinned(cmd, 1), capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {
        "rps": rps,
        "requests": total,
        "p50": _ms(lat.get("50", "nan")),
        "p99": _ms(lat.get("99", "nan")),
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": 1 if errors else 0,
    }


def lua_post(body: str, token: str | None) -> str:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = [[{body}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n' + auth
    )


def lua_distinct(token: str) -> str:
    """A new change every request (la counts up): no remembered answer can be reused."""
    return (
        lua_post("{}", token)
        + "counter = 0\n"
        + "request = function()\n"
        + "  counter = counter + 1\n"
        + '  local body = string.format(\'{"la":%d,"ld":%d,"nf":%d}\', counter, counter % 97,'
        + " 1 + counter % 13)\n"
        + "  return wrk.format(nil, nil, nil, body)\n"
        + "end\n"
    )


class Server:
    """A server subprocess pinned to CPU 0, and its resident memory."""

    def __init__(self, cmd: list[str], env: dict[str, str], port: int) -> None:
        self.url = f"http://{HOST}:{port}"
        self.t0 = time.monotonic()
        self.proc = psutil.Popen(
            pinned(cmd, 0), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def rss_mib(self) -> float:
        procs = [self.proc, *self.proc.children(recursive=True)]
        return max(p.memory_info().rss for p in procs) / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except psutil.TimeoutExpired:
            self.proc.kill()


def make_home() -> tuple[Path, str, str]:
    """A fresh VSMML_HOME with a read token and an ingest token."""
    from vsmml.config import Settings
    from vsmml.pipeline.tokens import TokenRequest, create_token
    from vsmml.store import Store

    home = Path(tempfile.mkdtemp(prefix="vsmml-bench-api-")) / "home"
    with Store.from_settings(Settings(home=home)) as store:
        read = create_token(store, TokenRequest("read", "bench-read")).token
        ingest = create_token(store, TokenRequest("ingest", "bench-ingest")).token
    return home, read, ingest


def batch_body(b: int, n: int = 1000) -> bytes:
    events = [
        {
            "event_id": f"b{b}-{i}",
            "kind": "commit",
            "ts": f"2025-{1 + b % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{b % 60:02d}:00Z",
            "repo": f"acme/repo{b % 17}",
            "service": f"svc{b % 9}",
            "sha": f"{b:08x}{i:08x}" + "0" * 24,
            "attrs": {"author": f"dev{i % 31}", "la": i % 400, "nf": 1 + i % 9},
        }
        for i in range(n)
    ]
    return json.dumps(events).encode()


def sustained_ingest(server: Server, read: str, ingest: str, seconds: float) -> dict[str, Any]:
    """Batches of 1,000 for `seconds`; memory each second; read latencies meanwhile."""
    auth_in = {"Authorization": f"Bearer {ingest}", "Content-Type": "application/json"}
    auth_rd = {"Authorization": f"Bearer {read}"}
    done = threading.Event()
    reads: dict[str, list[float]] = {"score": [], "quarantine": []}
    rss: list[tuple[float, float]] = []

    def reader() -> None:
        with httpx.Client(timeout=60) as c:
            while not done.is_set():
                for name, call in (
                    (
                        "score",
                        lambda: c.post(
                            server.url + "/v1/risk/score",
                            headers=auth_rd,
                            json={"la": 400, "ld": 20, "nf": 6},
                        ),
                    ),
                    (
                        "quarantine",
                        lambda: c.get(server.url + "/v1/quarantine?limit=10", headers=auth_rd),
                    ),
                ):
                    t = time.perf_counter()
                    r = call()
                    reads[name].append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
                time.sleep(0.1)

    def sampler() -> None:
        start = time.monotonic()
        while not done.is_set():
            rss.append((time.monotonic() - start, server.rss_mib()))
            time.sleep(1.0)

    threads = [threading.Thread(target=reader), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    sent = accepted = errors = 0
    latencies: list[float] = []
    start = time.monotonic()
    with httpx.Client(timeout=120) as c:
        b = 0
        while time.monotonic() - start < seconds:
            body = batch_body(b)
            t = time.perf_counter()
            r = c.post(server.url + "/v1/events", content=body, headers=auth_in)
            latencies.append(time.perf_counter() - t)
            if r.status_code == 200:
                accepted += r.json()["accepted"]
            else:
                errors += 1
            sent += 1000
            b += 1
    elapsed = time.monotonic() - start
    done.set()
    for t in threads:
        t.join()
    half = [m for s, m in rss if s >= elapsed / 2]
    first = [m for s, m in rss if 5 <= s < elapsed / 2] or [rss[0][1]]
    return {
        "seconds": elapsed,
        "sent": sent,
        "accepted": accepted,
        "errors": errors,
        "eps": accepted / elapsed,
        "batch_p50_ms": statistics.median(latencies) * 1000,
        "batch_p99_ms": sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000,
        "rss_first_half": statistics.mean(first),
        "rss_second_half": statistics.mean(half) if half else float("nan"),
        "rss_peak": max(m for _, m in rss),
        "reads": {
            k: (max(v), sorted(v)[int(0.99 * (len(v) - 1))], len(v)) for k, v in reads.items()
        },
    }


def fuzz(long: bool) -> str:
    env = {**os.environ, "VSMML_FUZZ_EXAMPLES": "50" if long else "12"}
    if long:
        env["VSMML_FUZZ_COVERAGE"] = "1"
    t = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "tests/test_api_fuzz.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.strip().splitlines()
    tail = lines[-1] if lines else proc.stderr[-200:]
    failed = [ln.split(" - ")[0] for ln in lines if ln.startswith("FAILED")]
    named = f"; failed: {', '.join(failed)}" if failed else ""
    return f"{tail} ({time.monotonic() - t:.0f} s; exit {proc.returncode}){named}"


def app_only(n: int) -> None:
    """Our code's share without the network: the ASGI app called in-process `n` times per
    request (the remembered one-change score with auth, and /healthz), microseconds each."""
    import asyncio

    from vsmml.api.app import create_app
    from vsmml.config import Settings

    home, read, _ = make_home()
    app = create_app(Settings(home=home))
    body = b'{"la":400,"ld":20,"nf":6}'

    def scope(method: str, path: str, token: str | None) -> dict[str, Any]:
        headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                "query_string": b"", "root_path": "", "headers": headers,
                "client": (HOST, 1), "server": (HOST, 80)}  # fmt: skip

    async def call(sc: dict[str, Any]) -> int:
        status = [0]

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(m: dict[str, Any]) -> None:
            status[0] = m.get("status", status[0])

        await app(dict(sc), receive, send)
        return status[0]

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        life = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        task = asyncio.create_task(app(life, inbox.get, outbox.put))
        await outbox.get()
        while app.state.service is None:
            await asyncio.sleep(0.05)
        for name, sc in (("POST /v1/risk/score, auth, remembered",
                          scope("POST", "/v1/risk/score", read)),
                         ("GET /healthz", scope("GET", "/healthz", None))):  # fmt: skip
            for _ in range(200):
                assert await call(sc) == 200
            t = time.perf_counter()
            for _ in range(n):
                await call(sc)
            print(f"in-process {name}: {(time.perf_counter() - t) / n * 1e6:.0f} us a request")
        await inbox.put({"type": "lifespan.shutdown"})
        await task

    asyncio.run(run())
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    shutil.rmtree(home.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, no long fuzz")
    parser.add_argument("--seconds", type=int, default=None, help="seconds per wrk run")
    parser.add_argument("--no-fuzz", action="store_true", help="skip the long schemathesis run")
    parser.add_argument(
        "--score-only", action="store_true", help="only the wrk rows (no ingest, no fuzz)"
    )
    parser.add_argument(
        "--app-only", type=int, default=0, metavar="N", help="only time the app in-process"
    )
    args = parser.parse_args()
    if args.app_only:
        app_only(args.app_only)
        return
    wrk_s = args.seconds or (5 if args.quick else 20)
    ingest_s = 15.0 if args.quick else 60.0
    wrk = ensure_wrk()
    home, read, ingest = make_home()
    env = {**os.environ, "VSMML_HOME": str(home)}
    rows: list[tuple[str, dict[str, Any]]] = []

    port = free_port()
    ref = Server([sys.executable, str(REPO / "bench" / "api_reference.py"), str(port)], env, port)
    wait(ref.url, "/docs")
    body = '{"la":400,"ld":20,"nf":6}'
    run_wrk(wrk, ref.url + "/predict", lua_post(body, None), 2, 8)  # warm-up
    rows.append(
        (
            "bare FastAPI + booster predict (reference)",
            run_wrk(wrk, ref.url + "/predict", lua_post(body, None), wrk_s, 8),
        )
    )
    rows[-1][1]["rss"] = ref.rss_mib()
    ref.stop()

    port = free_port()
    cmd = [str(BIN / "vsmml"), "serve", "--host", HOST, "--port", str(port), "--no-access-log"]
    srv = Server(cmd, env, port)
    wait(srv.url, "/healthz")
    healthy = time.monotonic() - srv.t0
    wait(srv.url, "/readyz")
    ready = time.monotonic() - srv.t0
    score = srv.url + "/v1/risk/score"
    first = httpx.post(score, content=body, headers={"Authorization": f"Bearer {read}"}, timeout=60)
    assert first.status_code == 200, first.text
    run_wrk(wrk, score, lua_post(body, read), 2, 8)  # warm-up
    for name, lua, conns in (
        ("POST /v1/risk/score, auth + reasons, same change", lua_post(body, read), 8),
        ("POST /v1/risk/score, auth + reasons, new change each", lua_distinct(read), 2),
        # the same with 8 connections, as the rows above: the server's capacity (with 1 or 2
        # it also sits idle between a response and the next request)
        (
            "POST /v1/risk/score, auth + reasons, new change each, 8 connections",
            lua_distinct(read),
            8,
        ),
        ("GET /healthz (middleware floor)", "", 8),
    ):
        url = srv.url + "/healthz" if "healthz" in name else score
        rows.append((name, run_wrk(wrk, url, lua, wrk_s, conns)))
        rows[-1][1]["rss"] = srv.rss_mib()
    sustained = None if args.score_only else sustained_ingest(srv, read, ingest, ingest_s)
    srv.stop()

    ref_rps = rows[0][1]["rps"]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nbench_api: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} "
        f"cores, load average {load} (1/5/15 min, at the end), wrk -t1, {wrk_s} s per run, "
        "server pinned to CPU 0 and wrk to CPU 1 when taskset exists"
    )
    print("| case | requests | req/s | p50 ms | p99 ms | non-2xx | server RSS MiB | vs bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {r['non2xx']} | {r['rss']:.0f} | {r['rps'] / ref_rps:.2f}x |"
        )
    s = sustained
    if s is None:
        print(f"start-up: /healthz after {healthy:.2f} s, /readyz after {ready:.2f} s")
        shutil.rmtree(home.parent, ignore_errors=True)
        return
    print(
        f"\nPOST /v1/events, batches of 1,000 for {s['seconds']:.0f} s: {s['accepted']:,} "
        f"accepted of {s['sent']:,} sent, {s['errors']} errors, {s['eps']:,.0f} events/s; "
        f"batch p50 {s['batch_p50_ms']:.0f} ms, p99 {s['batch_p99_ms']:.0f} ms"
    )
    print(
        f"server RSS: mean {s['rss_first_half']:.0f} MiB (5 s..half), "
        f"{s['rss_second_half']:.0f} MiB (second half), peak {s['rss_peak']:.0f} MiB"
    )
    for name, (worst, p99, n) in s["reads"].items():
        print(
            f"reads during the ingest, {name}: {n} requests, worst {worst:.0f} ms, p99 {p99:.0f} ms"
        )
    print(f"start-up: /healthz after {healthy:.2f} s, /readyz after {ready:.2f} s")
    if not args.quick and not args.no_fuzz:
        print(f"schemathesis, coverage phase + 50 examples per operation: {fuzz(True)}")
    shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
