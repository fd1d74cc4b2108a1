"""GET /api/mcp-servers: the MCP servers the caller's teams may name, with the tools each listed last
(the team editor offers them). Commands, URLs and environment names stay with the operator."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from mcp_servers.models import McpServer
from mcp_servers.selectors import usable_servers

router = Router(tags=["mcp servers"])


class McpToolOut(Schema):
    name: str
    description: str = ""


class McpServerOut(Schema):
    name: str
    description: str
    transport: str
    approval: str = Field(description="the default approval policy for its tools: never or always")
    tools: list[McpToolOut] = Field(description="the tools it listed last (an operator lists them live)")


@router.get("", response=list[McpServerOut])
def mcp_server_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(s) for s in usable_servers(request.user).order_by("name")]


def _out(server: McpServer) -> dict[str, Any]:
    tools = [t for t in server.last_tools if isinstance(t, dict) and t.get("name")]
    if server.exposed_tools:
        tools = [t for t in tools if t["name"] in server.exposed_tools]
    return {
        "name": server.name,
        "description": server.description,
        "transport": server.transport,
        "approval": server.approval,
        "tools": [{"name": str(t["name"]), "description": str(t.get("description") or "")} for t in tools],
    }
