"""Writes to the registry: add, remove, and the health a live listing records."""

from __future__ import annotations

import asyncio
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents_app.engine.mcp import McpServerError, McpSessions, McpTool
from mcp_servers.models import McpServer
from mcp_servers.selectors import spec_of


def server_add(*, name: str, users: list[Any] | None = None, **fields: Any) -> McpServer:
    """A validated new server (ValidationError naming the field otherwise)."""
    server = McpServer(name=name, **fields)
    server.full_clean()
    with transaction.atomic():
        server.save()
        if users:
            server.users.set(users)
    return server


def server_remove(*, name: str) -> bool:
    deleted, _ = McpServer.objects.filter(name=name).delete()
    return bool(deleted)


def server_list_tools(server: McpServer) -> list[McpTool]:
    """Connect, list the tools it exposes, and record them (or the error) as the server's health.

    Raises McpServerError. Sync, for the admin and the command: a session of its own, closed after.
    """
    try:
        tools = asyncio.run(_list(server))
    except McpServerError as exc:
        McpServer.objects.filter(pk=server.pk).update(last_error=str(exc), last_listed_at=timezone.now())
        raise
    listed = [{"name": t.name, "description": t.description} for t in tools]
    McpServer.objects.filter(pk=server.pk).update(last_tools=listed, last_error="", last_listed_at=timezone.now())
    return tools


async def _list(server: McpServer) -> list[McpTool]:
    sessions = McpSessions()
    try:
        return await sessions.tools(spec_of(server))
    finally:
        await sessions.aclose()
