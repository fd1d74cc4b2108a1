"""AutoGen's McpWorkbench, in and out: a workbench maps to a server of the operator's registry.

An uploaded document names a command or a URL; nothing here ever runs or connects to it. It is
only compared, as strings, with the registered servers (command + args, or URL): a match becomes
that server's name in `mcp_servers`, anything else is refused naming the JSON path. The registry
is Django's (mcp_servers); it is handed to this Django-free package as a `McpDirectory`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Protocol

from agents_app.autogen._context import Component, Ctx, is_secret, join


@dataclass(frozen=True)
class RegisteredServer:
    name: str
    transport: str  # "stdio" or "http"
    command: str = ""
    args: tuple[str, ...] = ()
    url: str = ""
    call_timeout: float = 60.0


class McpDirectory(Protocol):
    def match(self, *, command: str | None, args: list[str] | None, url: str | None) -> str | None:
        """The name of the enabled server with this command + args, or this URL; None if there is none."""
        ...

    def get(self, name: str) -> RegisteredServer | None: ...


_directory: McpDirectory | None = None


def use_mcp_directory(directory: McpDirectory | None) -> None:
    """The registry import and export consult (installed by the mcp_servers app when Django starts)."""
    global _directory
    _directory = directory


def import_mcp_workbench(ctx: Ctx, comp: Component) -> str | None:
    """The registered server an McpWorkbench names, or None (an error at its path is reported)."""
    params = comp.config.get("server_params")
    path = join(comp.config_path, "server_params")
    if not isinstance(params, dict):
        ctx.error(path, "an McpWorkbench needs 'server_params' (StdioServerParams or StreamableHttpServerParams)")
        return None
    kind = params.get("type")
    if kind == "StdioServerParams":
        command, args = params.get("command"), params.get("args") or []
        if not isinstance(command, str) or not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            ctx.error(path, "StdioServerParams needs 'command' (a string) and 'args' (a list of strings)")
            return None
        name = _directory.match(command=command, args=args, url=None) if _directory else None
        what = f"the command `{shlex.join([command, *args])}`"
        if params.get("env"):
            ctx.warn(join(path, "env"), "environment values from an upload are never used; the server's own are")
    elif kind in ("StreamableHttpServerParams", "SseServerParams"):
        url = params.get("url")
        if not isinstance(url, str) or not url:
            ctx.error(join(path, "url"), f"{kind} needs a 'url'")
            return None
        name = _directory.match(command=None, args=None, url=url) if _directory else None
        what = f"the URL {url!r}"
        headers = params.get("headers")
        if isinstance(headers, dict) and any(is_secret(v) for v in headers.values()):
            ctx.warn(join(path, "headers"), "header values from an upload were dropped; the server sends its own")
    else:
        ctx.error(join(path, "type"), f"unsupported server_params type {kind!r}")
        return None
    if name is None:
        ctx.error(
            path,
            f"no registered MCP server runs {what}; an operator must register that server "
            "(manage.py mcp_server add) before a team can use it",
        )
        return None
    if comp.config.get("tool_overrides"):
        ctx.warn(join(comp.config_path, "tool_overrides"), "tool renames are not supported; tools keep their names")
    return name


def mcp_workbench_config(name: str) -> dict[str, Any]:
    """AutoGen's McpWorkbench config for a registered server, as its own dump_component() writes it.
    Header values (secrets) are never exported: the server's operator holds them."""
    server = _directory.get(name) if _directory else None
    if server is None:
        raise KeyError(name)
    if server.transport == "stdio":
        params: dict[str, Any] = {
            "command": server.command,
            "args": list(server.args),
            "encoding": "utf-8",
            "encoding_error_handler": "strict",
            "type": "StdioServerParams",
            "read_timeout_seconds": server.call_timeout,
        }
    else:
        params = {
            "type": "StreamableHttpServerParams",
            "url": server.url,
            "headers": {},
            "timeout": 30.0,
            "sse_read_timeout": max(300.0, server.call_timeout),
            "terminate_on_close": True,
        }
    return {"server_params": params, "tool_overrides": {}}
