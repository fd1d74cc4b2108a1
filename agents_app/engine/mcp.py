"""MCP tool servers, on the official `mcp` SDK: one client session per server and event loop.

The Django side hands the engine plain `McpServerSpec`s (an operator registered the server; a team
config only names it). Runs on one event loop share each server's session, so a stdio server is
spawned once per worker loop, not per call or per run. A session whose server died (its stream
ended, or a call found the connection closed) is replaced at the next use. A call that hangs past
the server's timeout, fails, or loses its server becomes an error result for the model; the run
goes on. `aclose_mcp_sessions()` closes the running loop's sessions and their child processes.

A server whose tools change tells its clients so: a `notifications/tools/list_changed` on a
handshake-era connection, an event of a `subscriptions/listen` stream on a 2026-07-28 one. Either
way the session lists its tools again, and the runs' next model call offers the new list.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx2
from anyio.abc import ObjectReceiveStream, TaskStatus
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp_types import (
    CONNECTION_CLOSED,
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolListChangedNotification,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from agents_app.engine.errors import EngineError

logger = logging.getLogger(__name__)

Transport = Literal["stdio", "http"]
Approval = Literal["never", "always"]
# Images a tool returns are kept for the UI (stored as attachments by runs); past this they are only named.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
# How the client negotiates the protocol version ("auto": the newest both sides speak); the tests pin
# "legacy" to check what a handshake-era server does.
CLIENT_MODE: Literal["auto", "legacy"] = "auto"


@dataclass(frozen=True, slots=True)
class McpServerSpec:
    """How to reach one registered server. `env` and `headers` hold resolved secret values: kept
    out of the repr, never logged. `tools` = the exposed tool names (None: every tool it lists)."""

    name: str
    transport: Transport
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    url: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    connect_timeout: float = 30.0
    call_timeout: float = 60.0
    tools: tuple[str, ...] | None = None
    approval: Approval = "never"


@dataclass(frozen=True, slots=True)
class McpTool:
    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(slots=True)
class McpOutcome:
    """A call's result as the engine stores it: text for the model, image parts for the UI."""

    content: str
    is_error: bool = False
    parts: list[dict[str, str]] = field(default_factory=list)


class McpServerError(EngineError):
    """A server could not be reached or listed: the run cannot offer its tools."""

    def __init__(self, server: str, message: str) -> None:
        super().__init__(f"MCP server {server!r}: {message}")
        self.server = server


def openai_tool_name(name: str) -> str:
    """OpenAI accepts [A-Za-z0-9_-]{1,64} as a function name; MCP allows more."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "tool"


# ------------------------------------------------------------------ one server's session


class _EofWatch(ObjectReceiveStream[Any]):
    """The transport's read stream, telling its connection when the server's side has ended."""

    def __init__(self, inner: Any, gone: Callable[[], None]) -> None:
        self._inner = inner
        self._gone = gone

    @property
    def last_context(self) -> Any:  # the SDK reads the sender's context from HTTP streams
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._gone()
            raise

    async def aclose(self) -> None:
        self._gone()
        await self._inner.aclose()


class _Connection:
    """One live client session, entered and exited by its own task (anyio scopes must be)."""

    def __init__(self, spec: McpServerSpec, changed: Callable[[], None] = lambda: None) -> None:
        self.spec = spec
        self.alive = False
        self.tools: list[McpTool] = []
        self.client: Client | None = None
        self._changed = changed  # told when `tools` is replaced by a new listing
        self._stale = asyncio.Event()  # the server said its tools changed
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._hold(ready), name=f"mcp:{self.spec.name}")
        try:
            async with asyncio.timeout(self.spec.connect_timeout):
                await asyncio.shield(ready)
        except TimeoutError:
            await self.close()
            raise McpServerError(self.spec.name, f"no answer within {self.spec.connect_timeout:g} s") from None
        except McpServerError:
            await self.close()
            raise

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        try:
            client = Client(_transport(self.spec, self._gone), mode=CLIENT_MODE, message_handler=self._on_message)
            async with client, anyio.create_task_group() as group:
                await group.start(self._listen, client)  # before listing: a change in between is not missed
                self.tools = await _list_tools(client, self.spec)
                self.client, self.alive = client, True
                ready.set_result(None)
                group.start_soon(self._relist_when_stale, client)
                await self._stop.wait()
                group.cancel_scope.cancel()
        except Exception as exc:  # noqa: BLE001 - the caller of open() gets it as McpServerError
            if not ready.done():
                ready.set_exception(McpServerError(self.spec.name, _describe(exc)))
            else:
                logger.warning("MCP server %r: session ended: %s", self.spec.name, _describe(exc))
        finally:
            self.alive, self.client = False, None
            if not ready.done():
                ready.set_exception(McpServerError(self.spec.name, "the session closed while connecting"))

    async def _on_message(self, message: Any) -> None:
        """The session's notifications: a handshake-era server's tools/list_changed marks the list stale
        (listed again by `_relist_when_stale`: a request sent from here would wait on this very reader)."""
        if isinstance(message, ToolListChangedNotification):
            self._stale.set()

    async def _listen(self, client: Client, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """On a 2026-07-28 connection, the server's tool changes come on a subscriptions/listen stream
        (started once the server acknowledged it; a handshake-era server notifies `_on_message`)."""
        capability = client.server_capabilities.tools
        if client.protocol_version not in MODERN_PROTOCOL_VERSIONS or capability is None or not capability.list_changed:
            task_status.started()
            return
        started = False
        try:
            async with client.listen(tools_list_changed=True) as events:
                task_status.started()
                started = True
                async for _ in events:
                    self._stale.set()
        except (ListenNotSupportedError, MCPError, RuntimeError, TimeoutError) as exc:
            # Without the stream the tools stay as listed: the session itself is still good.
            logger.warning("MCP server %r: not following tool changes: %s", self.spec.name, _describe(exc))
        if not started:
            task_status.started()

    async def _relist_when_stale(self, client: Client) -> None:
        while True:
            await self._stale.wait()
            self._stale.clear()
            try:
                self.tools = await _list_tools(client, self.spec, refresh=True)
            except Exception as exc:  # noqa: BLE001 - the previous list stays; a dead server is replaced anyway
                logger.warning("MCP server %r: could not list its changed tools: %s", self.spec.name, _describe(exc))
                continue
            logger.info("MCP server %r: tools changed, now %d", self.spec.name, len(self.tools))
            self._changed()

    def _gone(self) -> None:
        self.alive = False

    async def close(self) -> None:
        """End the session; a stdio server's process is stopped (stdin closed, then killed)."""
        self.alive = False
        self._stop.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.shield(task)
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing must not raise
                pass


def _transport(spec: McpServerSpec, gone: Callable[[], None]) -> AbstractAsyncContextManager[Any]:
    @asynccontextmanager
    async def watched() -> AsyncIterator[Any]:
        if spec.transport == "stdio":
            params = StdioServerParameters(command=spec.command, args=list(spec.args), env=dict(spec.env))
            async with stdio_client(params) as (read, write):
                yield _EofWatch(read, gone), write
            return
        timeout = httpx2.Timeout(spec.connect_timeout, read=max(spec.call_timeout, 300.0))
        async with httpx2.AsyncClient(headers=dict(spec.headers), timeout=timeout) as http:
            async with streamable_http_client(spec.url, http_client=http) as (read, write):
                yield _EofWatch(read, gone), write

    return watched()


async def _list_tools(client: Client, spec: McpServerSpec, refresh: bool = False) -> list[McpTool]:
    """`refresh`: past the SDK's response cache (the server said the list changed)."""
    tools: list[McpTool] = []
    cursor: str | None = None
    for _ in range(100):  # a paginator that never ends cannot hang the run
        page = await client.list_tools(cursor=cursor, cache_mode="refresh" if refresh else "use")
        for tool in page.tools:
            if spec.tools is None or tool.name in spec.tools:
                schema = dict(tool.input_schema or {"type": "object", "properties": {}})
                tools.append(McpTool(spec.name, tool.name, tool.description or tool.title or tool.name, schema))
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# ------------------------------------------------------------------ the loop's sessions


class McpSessions:
    """The sessions of one event loop, by server name."""

    def __init__(self) -> None:
        self._connections: dict[str, _Connection] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Counts new sessions and changed tool lists: an agent lists its tools again when it moved.
        self.generation = 0

    async def connection(self, spec: McpServerSpec) -> _Connection:
        async with self._locks.setdefault(spec.name, asyncio.Lock()):
            current = self._connections.get(spec.name)
            if current is not None and current.alive and current.spec == spec:
                return current
            if current is not None:  # died, or the operator changed the server
                self._connections.pop(spec.name, None)
                await current.close()
            connection = _Connection(spec, self._tools_changed)
            await connection.open()
            self._connections[spec.name] = connection
            self.generation += 1
            return connection

    def _tools_changed(self) -> None:
        self.generation += 1

    async def tools(self, spec: McpServerSpec) -> list[McpTool]:
        return list((await self.connection(spec)).tools)

    async def call(self, spec: McpServerSpec, tool: str, arguments: dict[str, Any]) -> McpOutcome:
        """Call a tool; every failure is an error outcome for the model, never an exception
        (cancellation of the run excepted)."""
        try:
            connection = await self.connection(spec)
        except McpServerError as exc:
            return McpOutcome(f"Error: {exc}", is_error=True)
        client = connection.client
        if client is None:
            return McpOutcome(f"Error: MCP server {spec.name!r} is not connected", is_error=True)
        try:
            async with asyncio.timeout(spec.call_timeout):
                result = await client.call_tool(tool, arguments)
        except TimeoutError:
            return McpOutcome(f"Error: {tool!r} on MCP server {spec.name!r} gave no result within "
                              f"{spec.call_timeout:g} s", is_error=True)  # fmt: skip
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                connection.alive = False  # replaced at the next use
                return McpOutcome(f"Error: MCP server {spec.name!r} closed the connection during the call "
                                  "(it may have crashed)", is_error=True)  # fmt: skip
            return McpOutcome(f"Error: MCP server {spec.name!r}: {exc}", is_error=True)
        except Exception as exc:  # noqa: BLE001 - a bad answer from the server is the model's to see
            connection.alive = not _is_transport_failure(exc)
            return McpOutcome(f"Error: MCP server {spec.name!r}: {_describe(exc)}", is_error=True)
        return outcome_of(result)

    def live(self) -> list[str]:
        return sorted(name for name, c in self._connections.items() if c.alive)

    async def aclose(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)


def _is_transport_failure(exc: Exception) -> bool:
    return isinstance(exc, httpx2.TransportError | anyio.BrokenResourceError | anyio.ClosedResourceError | OSError)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, McpSessions] = weakref.WeakKeyDictionary()


def mcp_sessions() -> McpSessions:
    """The running loop's sessions."""
    loop = asyncio.get_running_loop()
    sessions = _by_loop.get(loop)
    if sessions is None:
        sessions = _by_loop[loop] = McpSessions()
    return sessions


async def aclose_mcp_sessions() -> None:
    """Close the running loop's sessions (their stdio servers exit); call when that loop's work ends."""
    sessions = _by_loop.pop(asyncio.get_running_loop(), None)
    if sessions is not None:
        await sessions.aclose()


# ------------------------------------------------------------------ results


def outcome_of(result: CallToolResult) -> McpOutcome:
    """Text for the model (images and binary resources named, not inlined), images kept for the UI."""
    lines: list[str] = []
    parts: list[dict[str, str]] = []
    budget = MAX_IMAGE_BYTES
    for block in result.content:
        if isinstance(block, TextContent):
            lines.append(block.text)
        elif isinstance(block, ImageContent):
            size = len(block.data) * 3 // 4
            lines.append(f"[image: {block.mime_type}, {size} bytes]")
            if size <= budget:
                parts.append({"type": "image", "mime_type": block.mime_type, "data": block.data})
                budget -= size
        elif isinstance(block, AudioContent):
            lines.append(f"[audio: {block.mime_type}]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                lines.append(resource.text)
            else:
                lines.append(f"[resource {resource.uri} ({resource.mime_type or 'binary'})]")
        elif isinstance(block, ResourceLink):
            lines.append(f"[resource link: {block.name} <{block.uri}>]")
    if not lines and result.structured_content is not None:
        lines.append(json.dumps(result.structured_content, ensure_ascii=False))
    return McpOutcome("\n".join(lines), is_error=bool(result.is_error), parts=parts)
