"""The operator's registry of MCP servers: the only commands and URLs the engine ever connects to.

Nothing a user sends (a team config, an upload, a REST body, a WebSocket frame) names a command or
a URL: a config names a server of this registry, and only staff can add or change one (the admin,
or `manage.py mcp_server`). Secrets stay in the worker's environment: a server names the variables
whose values it gets (`env_names`) or sends as headers (`header_env`).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from agents_app.config import NAME_PATTERN

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class Transport(models.TextChoices):
    STDIO = "stdio", "stdio (a command)"
    HTTP = "http", "streamable HTTP (a URL)"


class Approval(models.TextChoices):
    NEVER = "never", "never ask"
    ALWAYS = "always", "ask before every call"


class McpServer(models.Model):
    name = models.CharField(
        max_length=64, unique=True, validators=[RegexValidator(NAME_PATTERN)], help_text="How team configs name it."
    )
    description = models.TextField(blank=True, default="")
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.STDIO)
    command = models.CharField(max_length=1000, blank=True, default="", help_text="stdio: the executable.")
    args = models.JSONField(default=list, blank=True, help_text='stdio: its arguments, a JSON list ["-y", "pkg"].')
    env_names = models.JSONField(
        default=list,
        blank=True,
        help_text="stdio: names of environment variables the process gets from the worker's environment.",
    )
    url = models.URLField(max_length=2000, blank=True, default="", help_text="http: the endpoint, e.g. .../mcp.")
    header_env = models.JSONField(
        default=dict,
        blank=True,
        help_text='http: headers whose values come from the environment, {"Authorization": "GITHUB_AUTH"}.',
    )
    enabled = models.BooleanField(default=True)
    connect_timeout = models.FloatField(default=30.0, help_text="Seconds to start or reach the server.")
    call_timeout = models.FloatField(default=60.0, help_text="Seconds a tool call may take; then it is an error.")
    exposed_tools = models.JSONField(default=list, blank=True, help_text="Tool names offered to agents; empty: all.")
    approval = models.CharField(
        max_length=10,
        choices=Approval.choices,
        default=Approval.NEVER,
        help_text="Default approval policy for its tools (an agent's tool_approval overrides it).",
    )
    shared_with_all = models.BooleanField(default=False, help_text="Every user's teams may use it.")
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mcp_servers", help_text="Users whose teams may use it."
    )
    # Health, as of the last listing (the admin's "List tools" action, `mcp_server list`).
    last_tools = models.JSONField(default=list, blank=True, editable=False)
    last_listed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MCP server"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.transport == Transport.STDIO:
            if not self.command.strip():
                errors["command"] = "A stdio server needs a command."
            if not isinstance(self.args, list) or not all(isinstance(a, str) for a in self.args):
                errors["args"] = "Arguments are a JSON list of strings."
        elif not self.url:
            errors["url"] = "An HTTP server needs a URL."
        if not isinstance(self.env_names, list) or not all(
            isinstance(n, str) and ENV_NAME.match(n) for n in self.env_names
        ):
            errors["env_names"] = "A JSON list of environment variable names."
        if not isinstance(self.header_env, dict) or not all(
            isinstance(h, str) and HEADER_NAME.match(h) and isinstance(e, str) and ENV_NAME.match(e)
            for h, e in self.header_env.items()
        ):
            errors["header_env"] = 'A JSON object {"Header-Name": "ENV_VAR_NAME"}.'
        if not isinstance(self.exposed_tools, list) or not all(isinstance(t, str) for t in self.exposed_tools):
            errors["exposed_tools"] = "A JSON list of tool names."
        for field in ("connect_timeout", "call_timeout"):
            if not 0 < getattr(self, field) <= 3600:
                errors[field] = "Between 0 and 3600 seconds."
        if errors:
            raise ValidationError(errors)
