"""What an agent's model sees: stored messages turned into OpenAI chat messages.

As in AutoGen, other agents' tool traffic is private to them: an agent sees others'
chat messages as user messages (named), and its own messages and tool calls as the
assistant. Its own ToolCallSummary/Handoff right after its tool results add nothing the
results do not already say, and leaving them out keeps "assistant messages in context"
equal to "model replies so far": the scripted model relies on that to pick its next reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents_app.engine.events import (
    HandoffMessage,
    StoredMessage,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
)


def agent_context(name: str, system_message: str, messages: Iterable[StoredMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system_message}] if system_message else []
    messages = list(messages)
    executed = {r.call_id for m in messages if isinstance(m, ToolCallExecutionEvent) for r in m.content}
    after_own_results = False
    for m in messages:
        own = m.source == name
        if isinstance(m, ToolCallRequestEvent):
            # A request never answered (a cancelled run) would make the API reject the whole context.
            if own and all(c.id in executed for c in m.content):
                out.append({"role": "assistant", "content": None, "tool_calls": [_tool_call(c) for c in m.content]})
        elif isinstance(m, ToolCallExecutionEvent):
            if own:
                out.extend({"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in m.content)
                after_own_results = True
                continue
        elif m.is_chat:
            if not own:
                out.append({"role": "user", "content": m.to_text(), "name": m.source})
            elif not (after_own_results and isinstance(m, ToolCallSummaryMessage | HandoffMessage)):
                out.append({"role": "assistant", "content": m.to_text()})
        after_own_results = False
    return out


def _tool_call(call: Any) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def history_text(messages: Iterable[StoredMessage]) -> str:
    """The selector's {history}: one "source: content" line per chat message."""
    return "\n".join(f"{m.source}: {m.to_text()}" for m in messages if m.is_chat)
