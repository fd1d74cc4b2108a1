"""Model clients: one interface over the scripted model and OpenAI-compatible servers.

`ModelClient.stream(messages, tools)` is an async iterator of `str` text pieces, then
exactly one final `CreateResult`. Messages and tools are OpenAI chat-completions dicts.
The caller wraps each `__anext__` in `CancellationToken.interruptible()`, so a client
only has to close its resources when cancelled (CancelledError) or abandoned (aclose).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents_app.config import AzureOpenAIModel, OpenAIModel, ScriptedModel
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


def model_client(config: ScriptedModel | OpenAIModel | AzureOpenAIModel, env: Mapping[str, str]) -> ModelClient:
    if isinstance(config, ScriptedModel):
        from agents_app.engine.scripted import ScriptedClient

        return ScriptedClient(config)
    from agents_app.engine.openai_client import OpenAIClient

    return OpenAIClient(config, env)


async def aclose_model_clients() -> None:
    """Close the SDK clients cached for the running event loop; call when that loop's work ends."""
    from agents_app.engine.openai_client import aclose_clients_for_running_loop

    await aclose_clients_for_running_loop()
