"""`manage.py mcp_server add|list|remove`: the registry of MCP servers, for scripts and operators.

python manage.py mcp_server add time --command "uvx mcp-server-time" --share-all
python manage.py mcp_server add github --url https://example.com/mcp --header Authorization=GITHUB_AUTH
python manage.py mcp_server list            # each server and the tools it lists now (live)
python manage.py mcp_server remove time
"""

from __future__ import annotations

import shlex
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents_app.engine.mcp import McpServerError
from mcp_servers.models import McpServer, Transport
from mcp_servers.services import server_add, server_list_tools, server_remove


class Command(BaseCommand):
    help = "Register, list (live) or remove MCP tool servers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a server")
        add.add_argument("name")
        target = add.add_mutually_exclusive_group(required=True)
        target.add_argument("--command", help='the command line of a stdio server, e.g. "uvx mcp-server-time"')
        target.add_argument("--url", help="the endpoint of a streamable-HTTP server")
        add.add_argument("--env", action="append", default=[], metavar="NAME", help="pass this variable (stdio)")
        add.add_argument("--header", action="append", default=[], metavar="HEADER=ENV", help="header from env (http)")
        add.add_argument("--tools", default="", help="comma-separated tools to expose (default: all)")
        add.add_argument("--approval", choices=["never", "always"], default="never")
        add.add_argument("--share-all", action="store_true", help="every user's teams may use it")
        add.add_argument("--user", action="append", default=[], metavar="USERNAME", help="a user who may use it")
        add.add_argument("--description", default="")
        add.add_argument("--connect-timeout", type=float, default=30.0)
        add.add_argument("--call-timeout", type=float, default=60.0)
        add.add_argument("--disabled", action="store_true")
        listing = sub.add_parser("list", help="print each server and the tools it lists now")
        listing.add_argument("names", nargs="*")
        remove = sub.add_parser("remove", help="remove a server")
        remove.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _add(self, options: dict[str, Any]) -> None:
        fields: dict[str, Any] = {
            "description": options["description"],
            "exposed_tools": [t.strip() for t in options["tools"].split(",") if t.strip()],
            "approval": options["approval"],
            "shared_with_all": options["share_all"],
            "connect_timeout": options["connect_timeout"],
            "call_timeout": options["call_timeout"],
            "enabled": not options["disabled"],
        }
        if options["command"] is not None:
            words = shlex.split(options["command"])
            if not words:
                raise CommandError("--command is empty")
            fields.update(transport=Transport.STDIO, command=words[0], args=words[1:], env_names=options["env"])
        else:
            fields.update(transport=Transport.HTTP, url=options["url"], header_env=_headers(options["header"]))
        users = []
        for username in options["user"]:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"--user {username}: no such user")
            users.append(user)
        try:
            server = server_add(name=options["name"], users=users, **fields)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"added {server.name} ({server.transport})")

    def _list(self, options: dict[str, Any]) -> None:
        servers = McpServer.objects.all()
        if options["names"]:
            servers = servers.filter(name__in=options["names"])
        failed = False
        for server in servers:
            target = " ".join([server.command, *server.args]) if server.transport == "stdio" else server.url
            state = "" if server.enabled else " [disabled]"
            self.stdout.write(f"{server.name} ({server.transport}: {target}){state}")
            try:
                tools = server_list_tools(server)
            except McpServerError as exc:
                failed = True
                self.stdout.write(f"  error: {exc}")
                continue
            for tool in tools:
                self.stdout.write(f"  {tool.name}: {tool.description.splitlines()[0] if tool.description else ''}")
        if failed:
            raise CommandError("some servers could not be listed")

    def _remove(self, options: dict[str, Any]) -> None:
        if not server_remove(name=options["name"]):
            raise CommandError(f"no MCP server named {options['name']!r}")
        self.stdout.write(f"removed {options['name']}")


def _headers(pairs: list[str]) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        header, sep, env = pair.partition("=")
        if not sep:
            raise CommandError(f"--header {pair}: write HEADER=ENV_VAR_NAME")
        headers[header.strip()] = env.strip()
    return headers
