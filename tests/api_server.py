"""Real uvicorn servers for the API tests: in a thread of this process, or as `vsmml serve`.

Both listen on a free loopback port and are talked to over HTTP; the threaded one lets coverage
see the app, the subprocess one is what a user runs (signals, kill -9, start-up time, logs).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    """A TCP port nobody listens on at the moment (on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    url: str, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None
) -> float:
    """Poll ``/healthz`` until it answers 200; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become healthy in {timeout} s")


def wait_ready(url: str, timeout: float = 120.0) -> None:
    """Poll ``/readyz`` until the store is open and the model loaded."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if httpx.get(url + "/readyz", timeout=5.0).status_code == 200:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become ready in {timeout} s")


class ThreadServer:
    """uvicorn serving `app` in a background thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        try:
            wait_healthy(self.url)
            wait_ready(self.url)
        except BaseException:  # a server that never came up is not left running
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def vsmml_bin() -> str:
    """The `vsmml` script of the interpreter running the tests."""
    return str(Path(sys.executable).with_name("vsmml"))


class ProcessServer:
    """`vsmml serve` as a subprocess, its output in `log`."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home.parent / f"serve-{self.port}.log"
        self.env = {**os.environ, "VSMML_HOME": str(home), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0

    def start(self, *, ready: bool = False) -> ProcessServer:
        """Start and wait for ``/healthz`` (and ``/readyz`` when `ready`); a server that does
        not come up is stopped before the error goes on (no process left behind)."""
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [vsmml_bin(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            self.started_in = wait_healthy(self.url, proc=self.proc)
            if ready:
                wait_ready(self.url)
        except BaseException:
            self.stop()
            raise
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")
