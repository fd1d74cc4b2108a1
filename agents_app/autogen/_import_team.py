"""Import an AutoGen team component (and its agents) into our TeamConfig."""

from __future__ import annotations

import re
from typing import Any

from agents_app.autogen._context import Component, Ctx, join, read_component
from agents_app.autogen._import_parts import import_model, import_termination, import_tools, warn_ignored
from agents_app.autogen._providers import TEAM_KINDS, resolve
from agents_app.config import (
    AssistantAgentConfig,
    ConfigErrorItem,
    SelectorSettings,
    TeamConfig,
    TeamConfigError,
    UserProxyAgentConfig,
    validate_team_config,
)

# AssistantAgent fields that map one-to-one (same name, same meaning) onto ours.
_ASSISTANT_SAME = ("name", "description", "tool_call_summary_format", "max_tool_iterations")
_ASSISTANT_HANDLED = {
    *_ASSISTANT_SAME,
    "model_client",
    "tools",
    "workbench",
    "handoffs",
    "model_context",
    "memory",
    "system_message",
    "model_client_stream",
    "reflect_on_tool_use",
    "metadata",
    "structured_message_factory",
}
_TEAM_HANDLED = {
    "name",
    "description",
    "participants",
    "termination_condition",
    "max_turns",
    "emit_team_events",
    "model_client",
    "selector_prompt",
    "allow_repeated_speaker",
    "max_selector_attempts",
    "model_client_streaming",
    "model_context",
}


def import_team_component(ctx: Ctx, value: Any, path: str) -> TeamConfig | None:
    comp = read_component(ctx, value, path, "team")
    if comp is None:
        return None
    cfg, cpath = comp.config, comp.config_path
    data: dict[str, Any] = {
        "kind": TEAM_KINDS[comp.name],
        "name": _first_text(comp.envelope.get("label"), cfg.get("name")) or "team",
        "description": _first_text(cfg.get("description"), comp.envelope.get("description")),
        "participants": _participants(ctx, cfg.get("participants"), join(cpath, "participants")),
        "emit_team_events": bool(cfg.get("emit_team_events", False)),
    }
    if cfg.get("termination_condition") is not None:
        data["termination"] = import_termination(
            ctx, cfg["termination_condition"], join(cpath, "termination_condition")
        )
    if cfg.get("max_turns") is not None:
        data["max_turns"] = cfg["max_turns"]
    if comp.name == "SelectorGroupChat":
        data["selector"] = _selector(ctx, comp)
    if isinstance(comp.extras.get("human_input"), dict):
        data["human_input"] = comp.extras["human_input"]
    warn_ignored(ctx, comp, _TEAM_HANDLED if comp.name == "SelectorGroupChat" else _TEAM_HANDLED - {"model_client"})
    if ctx.errors:
        return None
    return _validate(data, path)


def _first_text(*values: Any) -> str:
    return next((v for v in values if isinstance(v, str) and v.strip()), "")


def _participants(ctx: Ctx, value: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        ctx.error(path, "a team needs a non-empty list of participant agents")
        return []
    agents = [_agent(ctx, item, join(path, i)) for i, item in enumerate(value)]
    return [a for a in agents if a is not None]


def _agent(ctx: Ctx, value: Any, path: str) -> dict[str, Any] | None:
    comp = read_component(ctx, value, path, "agent")
    if comp is None:
        return None
    if comp.name == "UserProxyAgent":
        return _user_proxy(ctx, comp)
    return _assistant(ctx, comp)


def _user_proxy(ctx: Ctx, comp: Component) -> dict[str, Any] | None:
    data = {"kind": "user_proxy"} | {
        k: comp.config[k] for k in ("name", "description") if comp.config.get(k) is not None
    }
    if isinstance(comp.extras.get("input_prompt"), str):
        data["input_prompt"] = comp.extras["input_prompt"]
    warn_ignored(ctx, comp, {"name", "description"}, reason="not used (people answer through the run's input requests)")
    agent = ctx.validate(UserProxyAgentConfig, data, comp.config_path)
    return agent.model_dump() if agent is not None else None


def _assistant(ctx: Ctx, comp: Component) -> dict[str, Any] | None:
    cfg, cpath = comp.config, comp.config_path
    model = import_model(ctx, cfg.get("model_client"), join(cpath, "model_client"))
    tools, servers = import_tools(ctx, comp)
    data: dict[str, Any] = {
        "kind": "assistant",
        "model": model,
        "tools": tools,
        "handoffs": _handoffs(ctx, cfg.get("handoffs"), join(cpath, "handoffs")),
        # AutoGen's schema defaults, not ours: a missing flag means what it meant to AutoGen.
        "system_message": cfg.get("system_message") or "",
        "model_client_stream": bool(cfg.get("model_client_stream", False)),
        "reflect_on_tool_use": bool(cfg.get("reflect_on_tool_use", False)),
    } | {k: cfg[k] for k in _ASSISTANT_SAME if cfg.get(k) is not None}
    # Ours, under our namespace: servers AutoGen's 0.5 shape (one workbench) cannot hold, and the approval policy.
    extra_servers = comp.extras.get("mcp_servers")
    data["mcp_servers"] = list(dict.fromkeys([*servers, *(extra_servers if isinstance(extra_servers, list) else [])]))
    if comp.extras.get("tool_approval") is not None:
        data["tool_approval"] = comp.extras["tool_approval"]
    _model_context(ctx, cfg.get("model_context"), join(cpath, "model_context"))
    for key in ("memory", "structured_message_factory"):
        if cfg.get(key):
            ctx.warn(join(cpath, key), f"{key!r} is not supported here and was ignored")
    warn_ignored(ctx, comp, _ASSISTANT_HANDLED)
    if model is None:
        return None
    agent = ctx.validate(AssistantAgentConfig, data, cpath)
    return agent.model_dump() if agent is not None else None


def _handoffs(ctx: Ctx, value: Any, path: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.error(path, "expected a list of handoffs")
        return []
    # AutoGen accepts a bare agent name as shorthand for a Handoff to it.
    return [{"target": h} if isinstance(h, str) else h for h in value]


def _model_context(ctx: Ctx, value: Any, path: str) -> None:
    """Only the unbounded context maps exactly; any other keeps full history, with a warning."""
    if value is None:
        return
    provider = value.get("provider") if isinstance(value, dict) else None
    if isinstance(provider, str) and resolve(provider) == "UnboundedChatCompletionContext":
        return
    ctx.warn(path, f"model context {provider!r} is not supported; the agent sees the whole conversation instead")


def _selector(ctx: Ctx, comp: Component) -> dict[str, Any] | None:
    cfg, cpath = comp.config, comp.config_path
    model = import_model(ctx, cfg.get("model_client"), join(cpath, "model_client"))
    if cfg.get("model_context") is not None:
        _model_context(ctx, cfg["model_context"], join(cpath, "model_context"))
    if model is None:
        return None
    keys = ("selector_prompt", "allow_repeated_speaker", "max_selector_attempts")
    data = {"model": model} | {k: cfg[k] for k in keys if cfg.get(k) is not None}
    settings = ctx.validate(SelectorSettings, data, cpath)
    return settings.model_dump() if settings is not None else None


def _validate(data: dict[str, Any], root: str) -> TeamConfig:
    """Whole-team checks (unique names, handoff targets); errors are moved onto the document's paths."""
    try:
        return validate_team_config(data)
    except TeamConfigError as exc:
        raise TeamConfigError([_document_error(e, root) for e in exc.errors]) from None


def _document_error(err: ConfigErrorItem, root: str) -> ConfigErrorItem:
    config = join(root, "config")
    path = err.path
    if match := re.match(r"participants(\[\d+\])(.*)", path):
        index, rest = match.groups()
        rest = rest.replace(".model", ".model_client", 1) if rest.startswith(".model") else rest
        path = f"{config}.participants{index}.config{rest}" if rest else f"{config}.participants{index}"
    elif path.startswith("termination"):
        path = join(config, "termination_condition")
    elif path.startswith("selector"):
        path = config
    else:
        path = join(config, path) if path else config
    return ConfigErrorItem(path=path, message=err.message)
