"""An MCP server written with the SDK for the tests: `python -m tests.support.mcp_test_server [stdio|http PORT]`.

Its tools cover what a real server does to a client: text, structured JSON, an image, an
error result, a call that never answers, a process that dies mid-call. `echo` answers at once
(the benchmark's tool). Each process writes its pid to $MCP_TEST_PIDFILE (when set) so tests
can check that it was spawned, and by whom. `stdio --timings FILE` appends one line per `tools/call`
(`<microseconds from its request read off stdin to its response flushed> <the call's "text" argument>`): the
server's own time, which bench/tools.py subtracts from what a call costs a run.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import sys
import time
from typing import Any

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

# A 1x1 red PNG: the smallest real image a client must carry to the UI.
RED_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)

server = MCPServer("playground-test", log_level="WARNING")


class Weather(BaseModel):
    city: str
    celsius: float


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def weather(city: str) -> Weather:
    """Structured result: the weather in a city."""
    return Weather(city=city, celsius=21.5)


@server.tool()
def red_pixel() -> Image:
    """An image result: a 1x1 red PNG."""
    return Image(data=RED_PIXEL, format="png")


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason (an isError result)."""
    raise ToolError(reason)


@server.tool()
async def hang() -> str:
    """Never answers."""
    await asyncio.Event().wait()
    return "unreachable"


@server.tool()
def crash() -> str:
    """The server process dies mid-call."""
    os._exit(3)


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Add a tool called `name` (it echoes its text) and tell the clients the tools changed."""

    def added(text: str) -> str:
        return f"{name}: {text}"

    server.add_tool(added, name=name, description=f"Added at runtime as {name}.")
    await ctx.notify_tools_changed()  # 2026-07-28 clients: their subscriptions/listen stream
    await ctx.session.send_tool_list_changed()  # handshake-era clients: a notification
    return f"added {name}"


@server.tool()
def whoami() -> str:
    """The server's process id (a restarted server answers with another)."""
    return str(os.getpid())


def main() -> None:
    pidfile = os.environ.get("MCP_TEST_PIDFILE")
    if pidfile:
        with open(pidfile, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif sys.argv[2:3] == ["--timings"]:
        anyio.run(_stdio_with_timings, sys.argv[3])
    else:
        server.run("stdio")


class _TimedPipes:
    """The server's stdin and stdout as `stdio_server` reads and writes them, noting (in the thread that
    does the reading and writing) when each tools/call request's line left the pipe and its response's
    line was flushed into it: the server's whole time for the call, JSON decoding and encoding included."""

    def __init__(self, log: Any) -> None:
        self._stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        self._stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
        self._log = log
        self._received: dict[Any, tuple[int, str]] = {}
        self._written: list[str] = []

    def readline(self) -> str:
        line = self._stdin.readline()
        if '"tools/call"' in line:
            request = json.loads(line)
            text = str((request.get("params", {}).get("arguments") or {}).get("text", ""))
            self._received[request.get("id")] = (time.perf_counter_ns(), text)
        return line

    def __iter__(self) -> Any:
        return iter(self.readline, "")

    def write(self, text: str) -> int:
        self._written.append(text)
        return self._stdout.write(text)

    def flush(self) -> None:
        self._stdout.flush()
        flushed = time.perf_counter_ns()
        written, self._written = "".join(self._written), []
        for line in written.splitlines():
            if self._received and '"id"' in line:
                started, text = self._received.pop(json.loads(line).get("id"), (0, ""))
                if started:
                    self._log.write(f"{(flushed - started) // 1000} {text}\n")


async def _stdio_with_timings(path: str) -> None:
    """The stdio server, timing each tools/call from its request read off stdin to its response flushed."""
    from mcp.server.stdio import stdio_server

    with open(path, "a", encoding="utf-8", buffering=1) as log:
        pipes = _TimedPipes(log)
        async with stdio_server(anyio.wrap_file(pipes), anyio.wrap_file(pipes)) as (read, write):  # type: ignore[arg-type]
            lowlevel = server._lowlevel_server
            await lowlevel.run(read, write, lowlevel.create_initialization_options())


if __name__ == "__main__":
    main()
