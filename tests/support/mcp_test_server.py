"""An MCP server written with the SDK for the tests: `python -m tests.support.mcp_test_server [stdio|http PORT]`.

Its tools cover what a real server does to a client: text, structured JSON, an image, an
error result, a call that never answers, a process that dies mid-call. `echo` answers at once
(the benchmark's tool). Each process writes its pid to $MCP_TEST_PIDFILE (when set) so tests
can check that it was spawned, and by whom. `stdio --timings FILE` appends one line per `tools/call`
(`<microseconds from request received to response sent> <the call's "text" argument>`): the
server's own time, which bench/tools.py subtracts from what a call costs a run.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from typing import Any

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import JSONRPCError, JSONRPCRequest, JSONRPCResponse
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


async def _stdio_with_timings(path: str) -> None:
    """The stdio server, timing each tools/call between its streams (JSON decoding and encoding aside)."""
    from mcp.server.stdio import stdio_server

    received: dict[Any, tuple[int, str]] = {}
    with open(path, "a", encoding="utf-8", buffering=1) as log:

        class Read:
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

            async def __aenter__(self) -> Read:
                await self._inner.__aenter__()
                return self

            async def __aexit__(self, *exc: Any) -> Any:
                return await self._inner.__aexit__(*exc)

            def __aiter__(self) -> Read:
                return self

            async def __anext__(self) -> Any:
                try:
                    return self._seen(await self._inner.receive())
                except anyio.EndOfStream:
                    raise StopAsyncIteration from None

            async def receive(self) -> Any:
                return self._seen(await self._inner.receive())

            def _seen(self, item: Any) -> Any:
                message = getattr(item, "message", None)
                if isinstance(message, JSONRPCRequest) and message.method == "tools/call":
                    text = str(((message.params or {}).get("arguments") or {}).get("text", ""))
                    received[message.id] = (time.perf_counter_ns(), text)
                return item

        class Write:
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

            async def __aenter__(self) -> Write:
                await self._inner.__aenter__()
                return self

            async def __aexit__(self, *exc: Any) -> Any:
                return await self._inner.__aexit__(*exc)

            async def send(self, item: Any) -> None:
                await self._inner.send(item)
                message = getattr(item, "message", None)
                if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id in received:
                    started, text = received.pop(message.id)
                    log.write(f"{(time.perf_counter_ns() - started) // 1000} {text}\n")

        async with stdio_server() as (read, write):
            lowlevel = server._lowlevel_server
            await lowlevel.run(Read(read), Write(write), lowlevel.create_initialization_options())


if __name__ == "__main__":
    main()
