"""The registry in the admin: staff with the model's permissions add and change servers; the list
shows each server's last listed tools and health, and an action lists them live."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from agents_app.engine.mcp import McpServerError
from mcp_servers.models import McpServer
from mcp_servers.services import server_list_tools


@admin.register(McpServer)
class McpServerAdmin(admin.ModelAdmin):
    list_display = ("name", "transport", "target", "enabled", "approval", "shared_with_all", "tools", "health")
    list_filter = ("transport", "enabled", "shared_with_all", "approval")
    search_fields = ("name", "description", "command", "url")
    filter_horizontal = ("users",)
    readonly_fields = ("last_tools", "last_listed_at", "last_error", "created_at", "updated_at")
    actions = ["list_tools"]
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled", "transport")}),
        ("stdio", {"fields": ("command", "args", "env_names")}),
        ("HTTP", {"fields": ("url", "header_env")}),
        ("Use", {"fields": ("exposed_tools", "approval", "connect_timeout", "call_timeout")}),
        ("Who may use it", {"fields": ("shared_with_all", "users")}),
        ("Health", {"fields": ("last_tools", "last_listed_at", "last_error", "created_at", "updated_at")}),
    )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_staff) and super().has_module_permission(request)

    @admin.display(description="command or URL")
    def target(self, server: McpServer) -> str:
        return " ".join([server.command, *server.args]) if server.transport == "stdio" else server.url

    @admin.display(description="last listed tools")
    def tools(self, server: McpServer) -> str:
        names = [str(t.get("name", "")) for t in server.last_tools if isinstance(t, dict)]
        return ", ".join(names) or "-"

    @admin.display(description="health")
    def health(self, server: McpServer) -> str:
        if server.last_listed_at is None:
            return "never listed"
        when = server.last_listed_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"error: {server.last_error} ({when})" if server.last_error else f"ok ({when})"

    @admin.action(description="List tools now (connects to the server)")
    def list_tools(self, request: HttpRequest, queryset: QuerySet[McpServer]) -> None:
        for server in queryset:
            try:
                tools = server_list_tools(server)
            except McpServerError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{server.name}: {len(tools)} tools: {', '.join(t.name for t in tools)}")
