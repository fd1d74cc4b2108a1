"""Which registered servers a user's teams may use, and the plain specs the engine gets for a run."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import Q, QuerySet

from agents_app.config import ConfigErrorItem, TeamConfigError
from agents_app.engine.mcp import McpServerSpec
from mcp_servers.models import McpServer, Transport


def usable_servers(owner: Any) -> QuerySet[McpServer]:
    """Enabled servers shared with every user or with `owner` (a user or a user's id)."""
    owner_id = owner if isinstance(owner, int) else getattr(owner, "pk", None)
    if owner_id is None:
        return McpServer.objects.none()
    return McpServer.objects.filter(Q(shared_with_all=True) | Q(users__id=owner_id), enabled=True).distinct()


def named_servers(config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON path, server name) of every `mcp_servers` entry of a config (our format, as a dict)."""
    participants = config.get("participants")
    for i, agent in enumerate(participants if isinstance(participants, list) else []):
        names = agent.get("mcp_servers") if isinstance(agent, dict) else None
        for j, name in enumerate(names if isinstance(names, list) else []):
            yield f"participants[{i}].mcp_servers[{j}]", str(name)


def check_team_servers(config: Mapping[str, Any], owner: Any) -> None:
    """TeamConfigError naming the path of each server that is not registered, disabled, or not shared
    with `owner`; all three read the same, so a user learns nothing of servers that are not theirs."""
    named = list(named_servers(config))
    if not named:
        return
    usable = set(usable_servers(owner).values_list("name", flat=True))
    errors = [
        ConfigErrorItem(
            path=path,
            message=f"unknown MCP server {name!r}: an operator must register it and share it with you"
            f" (available to you: {', '.join(sorted(usable)) or 'none'})",
        )
        for path, name in named
        if name not in usable
    ]
    if errors:
        raise TeamConfigError(errors)


def run_specs(config: Mapping[str, Any], owner: Any) -> dict[str, McpServerSpec]:
    """The specs of the servers a run's config names, for its owner (TeamConfigError as above)."""
    check_team_servers(config, owner)
    names = {name for _, name in named_servers(config)}
    if not names:
        return {}
    return {s.name: spec_of(s) for s in usable_servers(owner).filter(name__in=names)}


def spec_of(server: McpServer, environ: Mapping[str, str] | None = None) -> McpServerSpec:
    """The engine's view of a server; secret values are read from the environment now, never stored."""
    env = os.environ if environ is None else environ
    stdio = server.transport == Transport.STDIO
    return McpServerSpec(
        name=server.name,
        transport="stdio" if stdio else "http",
        command=server.command if stdio else "",
        args=tuple(server.args) if stdio else (),
        env=tuple((n, env[n]) for n in server.env_names if n in env) if stdio else (),
        url="" if stdio else server.url,
        headers=() if stdio else tuple((h, env[e]) for h, e in server.header_env.items() if e in env),
        connect_timeout=server.connect_timeout,
        call_timeout=server.call_timeout,
        tools=tuple(server.exposed_tools) or None,
        approval="always" if server.approval == "always" else "never",
    )
