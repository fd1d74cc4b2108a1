"""/api/health on a production-mode Daphne whose Redis goes away and comes back.

A second redis-server on a free port (never the machine's main Redis) is started, killed and
restarted by the test; the Daphne subprocess uses it as channel layer and Celery broker.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from tests.integration.stack import Stack, free_port

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]


class Redis:
    def __init__(self, port: int, logdir: Path) -> None:
        self.port, self.logdir = port, logdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.logdir / f"redis-{time.monotonic_ns()}.log", "wb")
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        import redis

        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the test's redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = Redis(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.kill()


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("this test needs PostgreSQL: run it in the services pass")
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def health(port: int) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30)
    return response.status_code, response.json()


def wait_for_status(port: int, status: int) -> dict[str, Any]:
    """Poll until the expected answer (the layer reconnects in the background); the last body on failure."""
    body: dict[str, Any] = {}
    for _ in range(100):
        code, body = health(port)
        if code == status:
            return body
        time.sleep(0.2)
    raise AssertionError(f"health never answered {status}: {body}")


def test_health_follows_redis_down_and_back(transactional_db: Any, redis_server: Redis, tmp_path: Path) -> None:
    stack = Stack(database_url(), f"redis://127.0.0.1:{redis_server.port}/0", tmp_path)
    stack.env["HEALTH_CHECK_TIMEOUT_SECONDS"] = "2"
    try:
        port = stack.start_daphne()
        code, body = health(port)
        assert code == 200, (body, stack.logs())
        assert {k: v["status"] for k, v in body["checks"].items() if v["required"]} == {
            "database": "ok",
            "channel_layer": "ok",
            "broker": "ok",
        }
        assert body["checks"]["worker"]["required"] is False  # no worker here: reported, not fatal

        redis_server.kill()
        down = wait_for_status(port, 503)
        assert down["status"] == "down"
        assert down["checks"]["broker"]["status"] == "down" and down["checks"]["channel_layer"]["status"] == "down"
        assert down["checks"]["database"]["status"] == "ok"

        redis_server.start()
        back = wait_for_status(port, 200)
        assert back["checks"]["channel_layer"]["status"] == "ok" and back["checks"]["broker"]["status"] == "ok"
    finally:
        stack.stop()
