"""Import and export of AutoGen Studio team component JSON (agentchat 0.5.x and >= 0.6 shapes).

Import accepts the team component itself (as AutoGen Studio stores it and sends it in a
WebSocket ``start`` frame) or a record wrapping it under ``component``. Supported:

- teams: RoundRobinGroupChat, SelectorGroupChat, Swarm
- agents: AssistantAgent (component_version 1 with one ``workbench`` object, 2 with a
  ``workbench`` list, and the older top-level ``tools`` list), UserProxyAgent
- models: OpenAIChatCompletionClient, AzureOpenAIChatCompletionClient (full, internal and
  short provider names, including AutoGen's own aliases)
- every termination condition AutoGen ships, And/Or included
- StaticWorkbench, StaticStreamWorkbench; FunctionTool mapped by name to a registered tool
- McpWorkbench (stdio and streamable-HTTP ``server_params``) mapped to the registered MCP server
  with the same command + args or URL; nothing in the document is ever run or connected to
- UnboundedChatCompletionContext

Refused with a `TeamConfigError` naming the JSON path: any other team, agent, model client,
termination, workbench or tool provider (their behaviour cannot be reproduced, and a silent
substitute would change how a run ends or what it can do), and a FunctionTool whose name is
not a registered tool. Uploaded ``source_code`` is never executed, compiled, parsed or imported.

Accepted with a warning (the run still behaves as the author meant in all that matters):
other model contexts (the agent sees the whole conversation), memory, tool overrides, model
parameters we do not pass (seed, top_p, ...), and any credential in the upload, which is
dropped: keys come from the server's environment (``api_key_env``), never from a config.
Warnings go to the caller's ``warnings`` list when given, else to the log.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from agents_app.autogen._context import Ctx
from agents_app.autogen._export import Flavor, export_team
from agents_app.autogen._import_team import import_team_component
from agents_app.autogen._mcp import McpDirectory, RegisteredServer, use_mcp_directory
from agents_app.config import (
    ConfigErrorItem,
    TeamConfig,
    TeamConfigError,
    refuse_nul_in_document,
    validate_team_config,
)

__all__ = [
    "Flavor",
    "McpDirectory",
    "RegisteredServer",
    "export_team",
    "import_team",
    "is_autogen_component",
    "parse_team_config",
    "use_mcp_directory",
]

logger = logging.getLogger(__name__)


def is_autogen_component(data: Any) -> bool:
    """True for an AutoGen component (or a record wrapping one under ``component``)."""
    return _locate(data) is not None


def import_team(data: Any, *, warnings: list[ConfigErrorItem] | None = None) -> TeamConfig:
    located = _locate(data)
    if located is None:
        raise TeamConfigError([{"path": "", "message": "not an AutoGen component (needs 'provider' and 'config')"}])
    component, path = located
    ctx = Ctx()
    config = import_team_component(ctx, component, path)
    if ctx.errors or config is None:
        raise TeamConfigError(ctx.errors or [{"path": path, "message": "could not import the team"}])
    _deliver(ctx.warnings, warnings)
    return config


def parse_team_config(
    data: Any, *, warnings: list[ConfigErrorItem] | None = None
) -> tuple[TeamConfig, Literal["native", "autogen"]]:
    """Our format or AutoGen's, detected by shape; errors carry paths into the document as sent."""
    if is_autogen_component(data):
        refuse_nul_in_document(data)  # here, so the error's path is into the document as sent
        return import_team(data, warnings=warnings), "autogen"
    return validate_team_config(data), "native"


def _locate(data: Any) -> tuple[dict[str, Any], str] | None:
    if _looks_like_component(data):
        return data, ""
    if isinstance(data, dict) and _looks_like_component(data.get("component")):
        return data["component"], "component"
    return None


def _looks_like_component(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("provider"), str) and isinstance(data.get("config"), dict)


def _deliver(found: list[ConfigErrorItem], sink: list[ConfigErrorItem] | None) -> None:
    if sink is not None:
        sink.extend(found)
        return
    for item in found:
        logger.warning("AutoGen import: %s: %s", item.path or "$", item.message)
