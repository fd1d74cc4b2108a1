"""Model clients: one interface over the scripted model and OpenAI-compatible servers.

`ModelClient.stream(messages, tools)` is an async iterator of `str` text pieces, then
exactly one final `CreateResult`. Messages and tools are OpenAI chat-completions dicts.
The caller wraps each `__anext__` in `CancellationToken.interruptible()`, so a client
only has to close its resources when cancelled (CancelledError) or abandoned (aclose).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agents_app.config import AzureOpenAIModel, OpenAIModel, ScriptedModel
from agents_app.engine.errors import ModelCallError
from agents_app.engine.events import FunctionCall, RequestUsage

ChatMessages = list[dict[str, Any]]


@dataclass(slots=True)
class CreateResult:
    content: str
    tool_calls: list[FunctionCall] = field(default_factory=list)
    usage: RequestUsage = field(default_factory=RequestUsage)
    finish_reason: str = "stop"


class ModelClient(Protocol):
    def stream(
        self,
        messages: ChatMessages,
        tools: list[dict[str, Any]] | None = None,
        *,
        streaming: bool = True,
        call_index: int | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """`call_index` overrides which scripted reply to give (the selector has no assistant history)."""
        ...


@dataclass(frozen=True)
class ProviderEndpoint:
    """A stored provider as a run uses it: where to call, and the key that goes there and nowhere else.
    The caller (runs.execution, from providers.resolve) looks it up by the name a model's provider_ref gives."""

    kind: Literal["openai", "azure_openai", "openai_compatible"] | str
    url: str
    api_version: str = ""
    api_key: str = field(default="", repr=False)

    def model_config(self, config: OpenAIModel) -> OpenAIModel | AzureOpenAIModel:
        """The model config with this endpoint in place of the reference (the key stays apart)."""
        kept = config.model_dump(exclude={"provider", "provider_ref", "base_url", "api_key_env", "organization"})
        if self.kind == "azure_openai":
            return AzureOpenAIModel(
                provider="azure_openai",
                azure_endpoint=self.url,
                azure_deployment=config.model,
                api_version=self.api_version,
                **kept,
            )
        return OpenAIModel(provider="openai", base_url=self.url, **kept)


def model_client(
    config: ScriptedModel | OpenAIModel | AzureOpenAIModel,
    env: Mapping[str, str],
    providers: Mapping[str, ProviderEndpoint] | None = None,
) -> ModelClient:
    if isinstance(config, ScriptedModel):
        from agents_app.engine.scripted import ScriptedClient

        return ScriptedClient(config)
    from agents_app.engine.openai_client import OpenAIClient

    if isinstance(config, OpenAIModel) and config.provider_ref is not None:
        endpoint = (providers or {}).get(config.provider_ref)
        if endpoint is None:
            return UnresolvedProvider(config.provider_ref)
        return OpenAIClient(endpoint.model_config(config), env, api_key=endpoint.api_key)
    return OpenAIClient(config, env)


class UnresolvedProvider:
    """A model naming a provider the run was not given: every call fails with a permanent error."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def stream(
        self,
        messages: ChatMessages,
        tools: list[dict[str, Any]] | None = None,
        *,
        streaming: bool = True,
        call_index: int | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        raise ModelCallError(f"the model names provider {self.name!r}, which this run was not given", permanent=True)
        yield ""  # pragma: no cover  (makes this an async generator)


async def aclose_model_clients() -> None:
    """Close the SDK clients cached for the running event loop; call when that loop's work ends."""
    from agents_app.engine.openai_client import aclose_clients_for_running_loop

    await aclose_clients_for_running_loop()
