"""Export our TeamConfig as AutoGen component JSON.

Shape: the one autogen-agentchat >= 0.6 (and so 0.7.x) writes and loads, i.e. AssistantAgent
at ``component_version`` 2 with ``workbench`` as a list. AutoGen's loader refuses a version-1
AssistantAgent since 0.6 (the class has no past-version loader), while 0.5.x (AutoGen Studio
0.4.2.2) refuses a version-2 one (its schema expects a single workbench object), so no single
document loads in both. The current line is the default; ``flavor="0.5"`` writes the
version-1 shape for AutoGen Studio 0.4.2.2. Both use ``StaticWorkbench``, which every release
since 0.5 knows (``StaticStreamWorkbench`` only exists from 0.6).

Keys are never written: ``api_key`` is omitted, so AutoGen falls back to its own environment
(``OPENAI_API_KEY``); writing the redaction marker would send ``**********`` as the key.

Our offline ``scripted`` model has no AutoGen equivalent: it is exported as an
``OpenAIChatCompletionClient`` placeholder on gpt-4o-mini, so the team still loads and runs in
AutoGen with a real key, and our scripted config rides along under the component's
``agent_playground`` key, which AutoGen ignores and our import restores; a native team
therefore round-trips exactly. Other settings AutoGen lacks (a team's ``human_input``, a
user proxy's ``input_prompt``, a non-default ``api_key_env``) travel the same way.

Known limits on the AutoGen side: AutoGen's TextMentionTermination config has no ``sources``
(its constructor does), so AutoGen loads such a condition as "any source"; and AutoGen
requires agent names to be Python identifiers, which our names with a ``-`` are not.
Checked against autogen-agentchat 0.7.5 (default shape) and 0.5.7 (``flavor="0.5"``):
``Team.load_component`` accepts every exported fixture and gallery team.
"""

from __future__ import annotations

from typing import Any, Literal

from agents_app.autogen._context import NAMESPACE
from agents_app.autogen._mcp import mcp_workbench_config
from agents_app.autogen._providers import CANONICAL, CATEGORY, TERMINATION_CLASSES
from agents_app.config import (
    AgentConfig,
    AssistantAgentConfig,
    AzureOpenAIModel,
    HumanInputSettings,
    ModelConfig,
    OpenAIModel,
    ScriptedModel,
    TeamConfig,
    UserProxyAgentConfig,
)

Flavor = Literal["0.7", "0.5"]
PLACEHOLDER_MODEL = "gpt-4o-mini"
_TEAM_CLASSES = {"round_robin": "RoundRobinGroupChat", "selector": "SelectorGroupChat", "swarm": "Swarm"}
_DESCRIPTIONS = {
    "AssistantAgent": "An agent that provides assistance with tool use.",
    "UserProxyAgent": "An agent that can represent a human user through an input function.",
    "OpenAIChatCompletionClient": "Chat completion client for OpenAI hosted models.",
    "AzureOpenAIChatCompletionClient": "Chat completion client for Azure OpenAI hosted models.",
    "StaticWorkbench": "A workbench that provides a static set of tools.",
    "McpWorkbench": (
        "A workbench that wraps an MCP server and provides an interface\n"
        "    to list and call tools provided by the server."
    ),
    "FunctionTool": "A tool wrapping a Python function.",
    "UnboundedChatCompletionContext": "A chat completion context that keeps all messages.",
}
_MODEL_FIELDS = (
    "model",
    "base_url",
    "organization",
    "azure_endpoint",
    "azure_deployment",
    "api_version",
    "temperature",
    "max_tokens",
    "timeout",
    "max_retries",
)


def export_team(config: TeamConfig, *, flavor: Flavor = "0.7") -> dict[str, Any]:
    cls = _TEAM_CLASSES[config.kind]
    body: dict[str, Any] = {
        "name": config.name,
        "description": config.description,
        "participants": [_agent(p, flavor) for p in config.participants],
    }
    if config.termination is not None:
        body["termination_condition"] = _termination(config.termination.model_dump())
    if config.max_turns is not None:
        body["max_turns"] = config.max_turns
    if config.selector is not None:
        body |= {
            "model_client": _model(config.selector.model),
            "selector_prompt": config.selector.selector_prompt,
            "allow_repeated_speaker": config.selector.allow_repeated_speaker,
            "max_selector_attempts": config.selector.max_selector_attempts,
            "model_client_streaming": False,
        }
    body["emit_team_events"] = config.emit_team_events
    extras = {}
    if config.human_input != HumanInputSettings():
        extras["human_input"] = config.human_input.model_dump()
    return component(cls, body, label=config.name, description=config.description, extras=extras)


def component(
    cls: str,
    config: dict[str, Any],
    *,
    version: int = 1,
    label: str | None = None,
    description: str | None = None,
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc = {
        "provider": CANONICAL[cls],
        "component_type": CATEGORY[cls],
        "version": version,  # AutoGen writes the component version in both fields
        "component_version": version,
        "description": description if description is not None else _DESCRIPTIONS.get(cls, cls),
        "label": label or cls,
        "config": config,
    }
    if extras:
        doc[NAMESPACE] = extras
    return doc


def _agent(agent: AgentConfig, flavor: Flavor) -> dict[str, Any]:
    if isinstance(agent, UserProxyAgentConfig):
        default_prompt = UserProxyAgentConfig.model_fields["input_prompt"].default
        extras = {"input_prompt": agent.input_prompt} if agent.input_prompt != default_prompt else None
        return component("UserProxyAgent", {"name": agent.name, "description": agent.description}, extras=extras)
    return _assistant(agent, flavor)


def _assistant(agent: AssistantAgentConfig, flavor: Flavor) -> dict[str, Any]:
    static = component("StaticWorkbench", {"tools": [_tool(name) for name in agent.tools]})
    mcp = [component("McpWorkbench", mcp_workbench_config(name)) for name in agent.mcp_servers]
    extras: dict[str, Any] = {}
    if flavor == "0.7":
        workbench: Any = [static, *mcp] if agent.tools or not mcp else mcp
    elif mcp and not agent.tools and len(mcp) == 1:
        workbench = mcp[0]
    else:
        workbench = static  # the 0.5 shape holds one workbench: the servers ride under our namespace
        if mcp:
            extras["mcp_servers"] = list(agent.mcp_servers)
    if agent.tool_approval is not None:
        extras["tool_approval"] = agent.tool_approval
    body: dict[str, Any] = {
        "name": agent.name,
        "model_client": _model(agent.model),
        "workbench": workbench,
    }
    if agent.handoffs:
        body["handoffs"] = [h.model_dump() for h in agent.handoffs]
    body |= {
        "model_context": component("UnboundedChatCompletionContext", {}),
        "description": agent.description,
        # AutoGen sends an empty string as an empty system message; None means "no system message".
        "system_message": agent.system_message or None,
        "model_client_stream": agent.model_client_stream,
        "reflect_on_tool_use": agent.reflect_on_tool_use,
        "tool_call_summary_format": agent.tool_call_summary_format,
        "max_tool_iterations": agent.max_tool_iterations,
        "metadata": {},
    }
    if body["system_message"] is None:
        del body["system_message"]
    return component("AssistantAgent", body, version=2 if flavor == "0.7" else 1, extras=extras or None)


def _tool(name: str) -> dict[str, Any]:
    from agents_app.engine.tools import registry

    tool = registry.get(name)
    body = {
        "source_code": registry.source_code(name),
        "name": name,
        "description": tool.description if tool is not None else name,
        "global_imports": [],
        "has_cancellation_support": False,
    }
    return component("FunctionTool", body)


def _model(model: ModelConfig) -> dict[str, Any]:
    if isinstance(model, ScriptedModel):
        return component(
            "OpenAIChatCompletionClient",
            {"model": PLACEHOLDER_MODEL},
            description="Placeholder for Agent Playground's offline scripted model (kept under 'agent_playground').",
            extras={"model": model.model_dump()},
        )
    cls = "OpenAIChatCompletionClient" if isinstance(model, OpenAIModel) else "AzureOpenAIChatCompletionClient"
    data = model.model_dump(exclude_none=True)
    body = {k: data[k] for k in _MODEL_FIELDS if k in data}
    if model.default_headers:
        body["default_headers"] = dict(model.default_headers)
    if model.model_info is not None:
        body["model_info"] = model.model_info.model_dump(exclude_none=True)
    default_env = (OpenAIModel if isinstance(model, OpenAIModel) else AzureOpenAIModel).model_fields["api_key_env"]
    extras = {"api_key_env": model.api_key_env} if model.api_key_env != default_env.default else None
    return component(cls, body, extras=extras)


def _termination(data: dict[str, Any]) -> dict[str, Any]:
    kind = data.pop("type")
    if kind == "cost":
        # AutoGen has no condition on money spent: an ExternalTermination (it never fires by itself)
        # carries ours, and our import restores it.
        return component("ExternalTermination", {}, extras={"cost": data})
    cls = TERMINATION_CLASSES[kind]
    if kind in ("and", "or"):
        return component(cls, {"conditions": [_termination(c) for c in data["conditions"]]})
    if kind != "token_usage":  # AutoGen's TokenUsageTermination requires all three keys, null or not
        data = {k: v for k, v in data.items() if v is not None}
    return component(cls, data)
