"""The registry as the AutoGen import and export see it (agents_app.autogen's McpDirectory)."""

from __future__ import annotations

from agents_app.autogen import RegisteredServer
from mcp_servers.models import McpServer, Transport


class RegistryDirectory:
    def match(self, *, command: str | None, args: list[str] | None, url: str | None) -> str | None:
        servers = McpServer.objects.filter(enabled=True)
        if url is not None:
            return servers.filter(transport=Transport.HTTP, url=url).values_list("name", flat=True).first()
        # args is a JSON list: compared in Python, as the databases compare JSON differently.
        for name, registered_args in servers.filter(transport=Transport.STDIO, command=command).values_list(
            "name", "args"
        ):
            if registered_args == (args or []):
                return name
        return None

    def get(self, name: str) -> RegisteredServer | None:
        server = McpServer.objects.filter(name=name).first()
        if server is None:
            return None
        return RegisteredServer(
            name=server.name,
            transport=server.transport,
            command=server.command,
            args=tuple(server.args),
            url=server.url,
            call_timeout=server.call_timeout,
        )
