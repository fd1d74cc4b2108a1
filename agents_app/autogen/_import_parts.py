"""Import the parts of a team: model clients, tools, terminations.

Each function reads one AutoGen component at a JSON path, reports problems on the
`Ctx` under that path, and returns our config as a plain dict (or None if unusable).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agents_app.autogen._context import NAMESPACE, Component, Ctx, is_secret, join, read_component
from agents_app.autogen._mcp import import_mcp_workbench
from agents_app.autogen._providers import MODEL_PROVIDERS, TERMINATION_TYPES
from agents_app.config import (
    AndTermination,
    AzureOpenAIModel,
    CostTermination,
    ExternalTermination,
    FunctionCallTermination,
    HandoffTermination,
    MaxMessageTermination,
    ModelInfo,
    OpenAIModel,
    OrTermination,
    ScriptedModel,
    SourceMatchTermination,
    StopMessageTermination,
    TextMentionTermination,
    TextMessageTermination,
    TimeoutTermination,
    TokenUsageTermination,
)

_MODEL_CLASSES: dict[str, type[BaseModel]] = {"openai": OpenAIModel, "azure_openai": AzureOpenAIModel}
# Credentials AutoGen may carry in a model config; none of them is ever stored by us.
_SECRET_FIELDS = ("api_key", "azure_ad_token")
_MODEL_INFO_KEYS = tuple(ModelInfo.model_fields)

TERMINATION_MODELS: dict[str, type[BaseModel]] = {
    "max_message": MaxMessageTermination,
    "text_mention": TextMentionTermination,
    "stop_message": StopMessageTermination,
    "token_usage": TokenUsageTermination,
    "timeout": TimeoutTermination,
    "handoff": HandoffTermination,
    "source_match": SourceMatchTermination,
    "text_message": TextMessageTermination,
    "function_call": FunctionCallTermination,
    "external": ExternalTermination,
    "and": AndTermination,
    "or": OrTermination,
}


def warn_ignored(ctx: Ctx, comp: Component, handled: set[str], reason: str = "not supported here") -> None:
    """Warn about every set field we do not map: silently dropping behaviour would surprise the user."""
    for key, value in comp.config.items():
        if key not in handled and value not in (None, [], {}, ""):
            ctx.warn(join(comp.config_path, key), f"{key!r} is {reason} and was ignored")


# ---------------------------------------------------------------- models


def import_model(ctx: Ctx, value: Any, path: str) -> dict[str, Any] | None:
    comp = read_component(ctx, value, path, "model")
    if comp is None:
        return None
    native = comp.extras.get("model")
    if isinstance(native, dict) and native.get("provider") == "scripted":
        # Our own export of the offline scripted model, which AutoGen has no equivalent for. Only
        # that: a namespaced openai model could smuggle in an arbitrary api_key_env.
        model = ctx.validate(ScriptedModel, native, join(join(path, NAMESPACE), "model"))
        return model.model_dump() if model is not None else None
    if native is not None:
        ctx.warn(join(join(path, NAMESPACE), "model"), "only a scripted model is restored from here; ignored")
    provider = MODEL_PROVIDERS[comp.name]
    cls = _MODEL_CLASSES[provider]
    data: dict[str, Any] = {"provider": provider}
    handled = set(cls.model_fields) | set(_SECRET_FIELDS) | {"model_capabilities"}
    for key, val in comp.config.items():
        if key in cls.model_fields and val is not None and key not in ("provider", "api_key_env"):
            data[key] = val
    _drop_secrets(ctx, comp, provider)
    _model_info(comp.config, data)
    env = comp.extras.get("api_key_env")
    if isinstance(env, str) and env:
        if env.endswith("_API_KEY"):
            data["api_key_env"] = env
        else:
            # A config may point base_url anywhere; naming an arbitrary variable would send it there.
            ctx.warn(join(join(comp.path, NAMESPACE), "api_key_env"), f"{env!r} is not an *_API_KEY variable; ignored")
    warn_ignored(ctx, comp, handled)
    model = ctx.validate(cls, data, comp.config_path)
    return model.model_dump() if model is not None else None


def _drop_secrets(ctx: Ctx, comp: Component, provider: str) -> None:
    env = comp.extras.get("api_key_env") or _MODEL_CLASSES[provider].model_fields["api_key_env"].default
    for key in _SECRET_FIELDS:
        if is_secret(comp.config.get(key)):
            ctx.warn(
                join(comp.config_path, key),
                f"a credential was included in the upload; team configs never store keys, so it was dropped. "
                f"The server uses its own key from {env}.",
            )


def _model_info(config: dict[str, Any], data: dict[str, Any]) -> None:
    info = config.get("model_info")
    if not isinstance(info, dict):
        # `model_capabilities` is the pre-0.4.7 spelling of the same idea.
        info = config.get("model_capabilities")
    if isinstance(info, dict):
        data["model_info"] = {k: v for k, v in info.items() if k in _MODEL_INFO_KEYS and v is not None}


# ---------------------------------------------------------------- tools


def import_tools(ctx: Ctx, agent: Component) -> tuple[list[str], list[str]]:
    """(registered tool names, registered MCP server names) for every tool and workbench of an
    AssistantAgent, from any of AutoGen's three shapes."""
    names: list[str] = []
    servers: list[str] = []
    path = agent.config_path
    tools = agent.config.get("tools")  # the pre-workbench shape
    if tools is not None:
        names += _tool_list(ctx, tools, join(path, "tools"))
    workbench = agent.config.get("workbench")
    if isinstance(workbench, list):  # component_version 2
        for i, item in enumerate(workbench):
            _workbench(ctx, item, join(join(path, "workbench"), i), names, servers)
    elif workbench is not None:  # component_version 1: a single object
        _workbench(ctx, workbench, join(path, "workbench"), names, servers)
    return list(dict.fromkeys(names)), list(dict.fromkeys(servers))


def _workbench(ctx: Ctx, value: Any, path: str, names: list[str], servers: list[str]) -> None:
    comp = read_component(ctx, value, path, "workbench")
    if comp is None:
        return
    if comp.name == "McpWorkbench":
        server = import_mcp_workbench(ctx, comp)
        if server is not None:
            servers.append(server)
        return
    if comp.config.get("tool_overrides"):
        ctx.warn(join(comp.config_path, "tool_overrides"), "tool renames are not supported; tools keep their names")
    names += _tool_list(ctx, comp.config.get("tools", []), join(comp.config_path, "tools"))


def _tool_list(ctx: Ctx, value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        ctx.error(path, "expected a list of tool components")
        return []
    names = [_tool(ctx, item, join(path, i)) for i, item in enumerate(value)]
    return [n for n in names if n is not None]


def _tool(ctx: Ctx, value: Any, path: str) -> str | None:
    """Map a FunctionTool to the registered tool of the same name.

    The uploaded `source_code` is only ever compared as a string: running, compiling or
    even parsing code from a config would let anyone who can upload a team run code here.
    """
    from agents_app.engine.tools import registry

    comp = read_component(ctx, value, path, "tool")
    if comp is None:
        return None
    name = comp.config.get("name")
    if not isinstance(name, str) or not name:
        ctx.error(join(comp.config_path, "name"), "a FunctionTool needs a 'name'")
        return None
    if registry.get(name) is None:
        registered = ", ".join(registry.names()) or "none"
        ctx.error(
            path,
            f"FunctionTool {name!r} carries Python source code, which this server never runs; no tool named "
            f"{name!r} is registered here (registered tools: {registered})",
        )
        return None
    source = comp.config.get("source_code")
    if isinstance(source, str) and source.strip() != (registry.source_code(name) or "").strip():
        ctx.warn(
            join(comp.config_path, "source_code"),
            f"the uploaded code of {name!r} was not used; the server's registered tool {name!r} runs instead",
        )
    return name


# ---------------------------------------------------------------- terminations


def import_termination(ctx: Ctx, value: Any, path: str) -> dict[str, Any] | None:
    comp = read_component(ctx, value, path, "termination")
    if comp is None:
        return None
    kind = TERMINATION_TYPES[comp.name]
    if kind in ("and", "or"):
        return _composite(ctx, comp, kind)
    if kind == "external" and isinstance(comp.extras.get("cost"), dict):  # our cost condition, exported
        cost = ctx.validate(CostTermination, {"type": "cost", **comp.extras["cost"]}, join(comp.path, NAMESPACE))
        return cost.model_dump() if cost is not None else None
    cls = TERMINATION_MODELS[kind]
    fields = set(cls.model_fields) - {"type"}
    data = {"type": kind} | {k: v for k, v in comp.config.items() if k in fields and v is not None}
    warn_ignored(ctx, comp, fields)
    condition = ctx.validate(cls, data, comp.config_path)
    return condition.model_dump() if condition is not None else None


def _composite(ctx: Ctx, comp: Component, kind: str) -> dict[str, Any] | None:
    path = join(comp.config_path, "conditions")
    raw = comp.config.get("conditions")
    if not isinstance(raw, list) or not raw:
        ctx.error(path, f"{comp.name} needs a non-empty list of conditions")
        return None
    parts = [import_termination(ctx, item, join(path, i)) for i, item in enumerate(raw)]
    if any(p is None for p in parts):
        return None
    if len(parts) == 1:  # AND/OR of one condition is that condition
        return parts[0]
    return {"type": kind, "conditions": parts}
