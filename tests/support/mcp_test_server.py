"""An MCP server written with the SDK for the tests: `python -m tests.support.mcp_test_server [stdio|http PORT]`.

Its tools cover what a real server does to a client: text, structured JSON, an image, an
error result, a call that never answers, a process that dies mid-call. `echo` answers at once
(the benchmark's tool). Each process writes its pid to $MCP_TEST_PIDFILE (when set) so tests
can check that it was spawned, and by whom.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys

from mcp.server.mcpserver import Image, MCPServer
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
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
