"""Which AutoGen component providers we understand, and how their names are spelled.

AutoGen names a component by the import path of its class. The paths below are the
public ones AutoGen itself writes (its `component_provider_override`); older releases
wrote internal module paths (``autogen_agentchat.teams._group_chat._swarm_group_chat.Swarm``)
and AutoGen's loader also takes a few short aliases, so all of those resolve here too.
Resolution is by string only: nothing named in a document is ever imported.
"""

from __future__ import annotations

from typing import Literal

Category = Literal["team", "agent", "model", "termination", "workbench", "tool", "chat_completion_context"]

CANONICAL: dict[str, str] = {
    "RoundRobinGroupChat": "autogen_agentchat.teams.RoundRobinGroupChat",
    "SelectorGroupChat": "autogen_agentchat.teams.SelectorGroupChat",
    "Swarm": "autogen_agentchat.teams.Swarm",
    "AssistantAgent": "autogen_agentchat.agents.AssistantAgent",
    "UserProxyAgent": "autogen_agentchat.agents.UserProxyAgent",
    "OpenAIChatCompletionClient": "autogen_ext.models.openai.OpenAIChatCompletionClient",
    "AzureOpenAIChatCompletionClient": "autogen_ext.models.openai.AzureOpenAIChatCompletionClient",
    "MaxMessageTermination": "autogen_agentchat.conditions.MaxMessageTermination",
    "TextMentionTermination": "autogen_agentchat.conditions.TextMentionTermination",
    "StopMessageTermination": "autogen_agentchat.conditions.StopMessageTermination",
    "TokenUsageTermination": "autogen_agentchat.conditions.TokenUsageTermination",
    "TimeoutTermination": "autogen_agentchat.conditions.TimeoutTermination",
    "HandoffTermination": "autogen_agentchat.conditions.HandoffTermination",
    "SourceMatchTermination": "autogen_agentchat.conditions.SourceMatchTermination",
    "TextMessageTermination": "autogen_agentchat.conditions.TextMessageTermination",
    "FunctionCallTermination": "autogen_agentchat.conditions.FunctionCallTermination",
    "ExternalTermination": "autogen_agentchat.conditions.ExternalTermination",
    "AndTerminationCondition": "autogen_agentchat.base.AndTerminationCondition",
    "OrTerminationCondition": "autogen_agentchat.base.OrTerminationCondition",
    "StaticWorkbench": "autogen_core.tools.StaticWorkbench",
    "StaticStreamWorkbench": "autogen_core.tools.StaticStreamWorkbench",
    "McpWorkbench": "autogen_ext.tools.mcp.McpWorkbench",
    "FunctionTool": "autogen_core.tools.FunctionTool",
    "UnboundedChatCompletionContext": "autogen_core.model_context.UnboundedChatCompletionContext",
}

CATEGORY: dict[str, Category] = {
    "RoundRobinGroupChat": "team",
    "SelectorGroupChat": "team",
    "Swarm": "team",
    "AssistantAgent": "agent",
    "UserProxyAgent": "agent",
    "OpenAIChatCompletionClient": "model",
    "AzureOpenAIChatCompletionClient": "model",
    "StaticWorkbench": "workbench",
    "StaticStreamWorkbench": "workbench",
    "McpWorkbench": "workbench",
    "FunctionTool": "tool",
    "UnboundedChatCompletionContext": "chat_completion_context",
}
CATEGORY |= {name: "termination" for name in CANONICAL if name.endswith(("Termination", "TerminationCondition"))}

# The aliases AutoGen's own loader accepts (autogen_core WELL_KNOWN_PROVIDERS).
ALIASES: dict[str, str] = {
    "openai_chat_completion_client": "OpenAIChatCompletionClient",
    "azure_openai_chat_completion_client": "AzureOpenAIChatCompletionClient",
}

TEAM_KINDS: dict[str, str] = {"RoundRobinGroupChat": "round_robin", "SelectorGroupChat": "selector", "Swarm": "swarm"}
MODEL_PROVIDERS: dict[str, str] = {
    "OpenAIChatCompletionClient": "openai",
    "AzureOpenAIChatCompletionClient": "azure_openai",
}
TERMINATION_TYPES: dict[str, str] = {
    "MaxMessageTermination": "max_message",
    "TextMentionTermination": "text_mention",
    "StopMessageTermination": "stop_message",
    "TokenUsageTermination": "token_usage",
    "TimeoutTermination": "timeout",
    "HandoffTermination": "handoff",
    "SourceMatchTermination": "source_match",
    "TextMessageTermination": "text_message",
    "FunctionCallTermination": "function_call",
    "ExternalTermination": "external",
    "AndTerminationCondition": "and",
    "OrTerminationCondition": "or",
}
TERMINATION_CLASSES: dict[str, str] = {v: k for k, v in TERMINATION_TYPES.items()}


def resolve(provider: str) -> str | None:
    """The class name we know `provider` as, or None when it is not a supported component."""
    if provider in ALIASES:
        return ALIASES[provider]
    if provider in CANONICAL:  # a bare class name, as some hand-written configs use
        return provider
    module, _, name = provider.rpartition(".")
    canonical = CANONICAL.get(name)
    if canonical is None or not module:
        return None
    if provider == canonical:
        return name
    # An internal module path of the same package (older AutoGen dumps): same top-level
    # package and the same public package prefix, e.g. autogen_agentchat.teams._group_chat...
    public_package = canonical.rpartition(".")[0]
    if module.startswith(public_package + "."):
        return name
    return None
