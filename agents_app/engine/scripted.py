"""The scripted model: deterministic offline replies with paced streaming.

Which reply comes next is a pure function of the context it is given (the count of
assistant-role messages in it), never of an in-memory counter, so a resumed run
continues exactly where an uninterrupted one would. A reply's `{task}` is replaced by
the latest message from the user, quoted short: a canned answer still says what it answers.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from agents_app.config import ScriptedModel, ScriptedReply
from agents_app.engine.context import ATTACHED, attached_names, content_text
from agents_app.engine.events import FunctionCall, RequestUsage
from agents_app.engine.models import ChatMessages, CreateResult

_WORD = re.compile(r"\S+\s*|\s+")
TASK_PLACEHOLDER = "{task}"
TASK_QUOTE_CHARS = 120
# Unpaced streams still hand the loop back now and then so other runs and cancels get a turn.
_YIELD_EVERY = 64


class ScriptedClient:
    def __init__(self, config: ScriptedModel) -> None:
        self.config = config

    def reply_for(self, messages: ChatMessages, call_index: int | None) -> ScriptedReply:
        n = call_index if call_index is not None else sum(1 for m in messages if m.get("role") == "assistant")
        replies = self.config.replies
        # Past the end of a non-looping script the model keeps giving its last reply.
        index = n % len(replies) if self.config.loop else min(n, len(replies) - 1)
        reply = replies[index]
        return ScriptedReply(content=reply) if isinstance(reply, str) else reply

    async def stream(
        self,
        messages: ChatMessages,
        tools: list[dict[str, Any]] | None = None,
        *,
        streaming: bool = True,
        call_index: int | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        reply = self.reply_for(messages, call_index)
        content = fill_task(reply.content, messages) + _acknowledgement(messages)
        prompt_tokens = sum(len(content_text(m.get("content")).split()) for m in messages)
        calls = _tool_calls(reply, len(messages))
        if calls:
            completion = sum(len(c.arguments.split()) + 1 for c in calls)
            yield CreateResult("", calls, RequestUsage(prompt_tokens, completion), "tool_calls")
            return
        words = _WORD.findall(content)
        if streaming:
            rate = self.config.tokens_per_second
            if rate > 0:
                async for piece in _paced(words, rate):
                    yield piece
            else:
                for i, piece in enumerate(words):
                    if i % _YIELD_EVERY == _YIELD_EVERY - 1:
                        await asyncio.sleep(0)
                    yield piece
        yield CreateResult(content, [], RequestUsage(prompt_tokens, len(content.split())), "stop")


def fill_task(text: str, messages: ChatMessages) -> str:
    """`text` with `{task}` replaced by the user's latest message (the task, or their latest answer)."""
    if TASK_PLACEHOLDER not in text:
        return text
    return text.replace(TASK_PLACEHOLDER, _quote(_latest_from_user(messages)))


def _latest_from_user(messages: ChatMessages) -> str:
    # Other agents' messages reach a model as role "user" too, but under their own name.
    for message in reversed(messages):
        if message.get("role") == "user" and message.get("name", "user") == "user":
            return content_text(message.get("content")).split(f"\n\n{ATTACHED}", 1)[0]  # the text before any file
    return ""


def _quote(text: str) -> str:
    # One line, and no closing full stop: the reply's own punctuation follows the quote.
    text = " ".join(text.split())
    if len(text) <= TASK_QUOTE_CHARS:
        return text.rstrip(",.;:")
    cut = text[:TASK_QUOTE_CHARS].rsplit(" ", 1)[0] or text[:TASK_QUOTE_CHARS]
    return cut.rstrip(",.;:") + "…"


def _acknowledgement(messages: ChatMessages) -> str:
    """Replying to the user's message that carried files, the offline model says which it received:
    the demo shows them reaching the model without one."""
    last = messages[-1] if messages else {}
    names = attached_names(last.get("content")) if last.get("role") == "user" else []
    return f" (Received {len(names)} attachment{'s' if len(names) != 1 else ''}: {', '.join(names)}.)" if names else ""


async def _paced(words: list[str], rate: float) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    interval = 1.0 / rate
    for i, piece in enumerate(words):
        # Schedule against the start time so sleep overshoot does not accumulate.
        delay = start + i * interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield piece


def _tool_calls(reply: ScriptedReply, salt: int) -> list[FunctionCall]:
    calls = [FunctionCall(f"call_{salt}_{i}", c.name, json.dumps(c.arguments)) for i, c in enumerate(reply.tool_calls)]
    if reply.handoff is not None:
        # The agent also accepts the default name when its handoff tool is renamed.
        calls.append(FunctionCall(f"call_{salt}_{len(calls)}", f"transfer_to_{reply.handoff.lower()}", "{}"))
    return calls
