"""Starting the test suite's MCP servers (tests/support/mcp_test_server.py) and counting processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agents_app.engine.mcp import McpServerSpec

ROOT = Path(__file__).resolve().parents[2]
SERVER_ARGS = ("-m", "tests.support.mcp_test_server")


def stdio_spec(name: str = "testsrv", **extra: object) -> McpServerSpec:
    env = (("PYTHONPATH", str(ROOT)),)
    pidfile = os.environ.get("MCP_TEST_PIDFILE")
    if pidfile:
        env += (("MCP_TEST_PIDFILE", pidfile),)
    fields: dict[str, object] = {"command": sys.executable, "args": SERVER_ARGS, "env": env, "call_timeout": 5.0}
    fields.update(extra)
    return McpServerSpec(name=name, transport="stdio", **fields)  # type: ignore[arg-type]


def time_server_spec(name: str = "time") -> McpServerSpec:
    """The reference server from PyPI (`mcp-server-time`, pinned in requirements-dev.txt)."""
    return McpServerSpec(name=name, transport="stdio", command=sys.executable, args=("-m", "mcp_server_time"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    """The test server on streamable HTTP, as a child process of the test run."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, *SERVER_ARGS, "http", str(self.port)], env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the MCP test server exited at start") from None
                time.sleep(0.05)
        raise RuntimeError("the MCP test server did not listen within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@contextmanager
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def children(pid: int | None = None) -> set[int]:
    """Direct child processes of `pid` (default: this process) that are still alive (not zombies)."""
    pid = pid or os.getpid()
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return {c for c in found if _alive(c)}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
