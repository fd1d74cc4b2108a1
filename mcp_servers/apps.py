from django.apps import AppConfig


class McpServersConfig(AppConfig):
    name = "mcp_servers"
    verbose_name = "MCP tool servers"

    def ready(self) -> None:
        from agents_app.autogen import use_mcp_directory
        from mcp_servers.directory import RegistryDirectory

        # AutoGen's McpWorkbench maps to a registered server by command + args or URL (agents_app.autogen._mcp).
        use_mcp_directory(RegistryDirectory())
