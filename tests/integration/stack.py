"""The production stack for integration tests: real Daphne processes, a real Celery worker
(`--pool threads`) and beat, Redis and PostgreSQL, all started as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "integration-metrics-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, database_url: str, redis_url: str, logdir: Path) -> None:
        self.logdir = logdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
        self.env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            RUN_EXECUTOR="celery",
            DEBUG="false",
            # The test model server listens on loopback (tests/runs/test_model_endpoints.py turns this off).
            MODEL_ALLOW_PRIVATE_ADDRESSES="true",
            SECRET_KEY="integration-test-secret-key-0123456789abcdef",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            RUN_LEASE_SECONDS="2",
            RUN_SWEEP_INTERVAL_SECONDS="1",
            # The session's stack outlives its tests and shares their database: a beat heartbeat landing
            # while tests/ops/test_health.py expects none made it flaky. A test that needs them sets its own.
            WORKER_HEARTBEAT_INTERVAL_SECONDS="3600",
            PYTHONUNBUFFERED="1",
            # Our own channel names and queue: other test runs or benchmarks may share this Redis.
            CHANNEL_LAYER_PREFIX=f"test{os.getpid()}",
            CELERY_QUEUE=f"test{os.getpid()}",
            # Observed as production is: /metrics behind a token, a worker's own endpoint, spans exported
            # promptly once a test sets OTEL_EXPORTER_OTLP_ENDPOINT (the session stack does).
            METRICS_TOKEN=METRICS_TOKEN,
            METRICS_WORKER_PORT=str(free_port()),
            OTEL_BSP_SCHEDULE_DELAY="100",
            OTEL_SERVICE_NAME="playground-integration",
        )
        self.daphnes: list[tuple[subprocess.Popen[bytes], int]] = []
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None
        self._count = 0

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self._count += 1
        log = open(self.logdir / f"{self._count:02d}-{name}.log", "wb")
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_daphne(self) -> int:
        port = free_port()
        # Daphne as production runs it (the Procfile's web process: ops.serve).
        serve = [sys.executable, "-m", "ops.serve", "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"]
        proc = self._spawn("daphne", serve)
        self.daphnes.append((proc, port))
        wait_http(f"http://127.0.0.1:{port}/api/version", proc)
        return port

    def start_worker(self, name: str = "w1") -> None:
        bin_dir = Path(sys.executable).parent
        self.worker = self._spawn(
            f"worker-{name}",
            [
                str(bin_dir / "celery"),
                "-A",
                "playground",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "20",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
        )
        self.wait_for_log(f"worker-{name}", "ready", self.worker)

    def start_beat(self) -> None:
        bin_dir = Path(sys.executable).parent
        self.beat = self._spawn(
            "beat",
            [
                str(bin_dir / "celery"),
                "-A",
                "playground",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.logdir / "beat-schedule"),
            ],
        )

    def stop_beat(self) -> bool:
        """Stop this stack's beat (its sweep); whether it was running, to start it again afterwards."""
        if self.beat is None or self.beat.poll() is not None:
            return False
        self.beat.terminate()
        self.beat.wait(timeout=15)
        self.beat = None
        return True

    @property
    def worker_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.env['METRICS_WORKER_PORT']}/metrics"

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=10)
        self.worker = None

    def wait_for_log(self, name: str, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in self.logdir.glob(f"*-{name}.log"):
                if text in path.read_text(errors="replace"):
                    return
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{name} did not log {text!r}:\n{self.logs()}")

    def logs(self) -> str:
        paths = sorted(self.logdir.glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in paths)

    def stop(self) -> None:
        procs = [p for p, _ in self.daphnes] + [p for p in (self.worker, self.beat) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until(predicate: Callable[[], bool], what: str, logs: Callable[[], str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:g} s:\n{logs()}")


class OwnRedis:
    """A redis-server of the test's own on a free port, which the test may stop and start again.

    The machine's shared Redis (6379) serves other test runs: an outage is only ever staged here.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.workdir / f"redis-{self.port}.log", "ab")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(["redis-server", *args], cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server on {self.port} exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise AssertionError(f"redis-server on {self.port} did not come up")

    def stop(self) -> None:
        """Kill it outright: every client sees its connections drop, as in a crash or a restart."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process for {url} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@asynccontextmanager
async def ws(port: int, run_id: int, token: str, after_seq: int = 0) -> AsyncIterator[ClientConnection]:
    url = f"ws://127.0.0.1:{port}/runs/{run_id}?token={token}&after_seq={after_seq}"
    async with connect(url, additional_headers={"Origin": f"http://127.0.0.1:{port}"}, max_size=2**24) as conn:
        yield conn


async def recv(conn: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    import asyncio

    return json.loads(await asyncio.wait_for(conn.recv(), timeout))


async def recv_until(
    conn: ClientConnection, types: set[str], keep: list[dict[str, Any]] | None = None, timeout: float = 60
) -> dict[str, Any]:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await recv(conn, timeout=max(0.1, deadline - loop.time()))
        if keep is not None:
            keep.append(frame)
        if frame["type"] in types:
            return frame
