"""Who speaks next, derived from the transcript alone (so a resumed run agrees with an uninterrupted one)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents_app.config import ModelConfig, TeamConfig
from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.context import history_text
from agents_app.engine.errors import ModelCallError
from agents_app.engine.events import (
    SELECTOR_COST_KEY,
    SELECTOR_USAGE_KEYS,
    HandoffMessage,
    RequestUsage,
    StoredMessage,
)
from agents_app.engine.models import CreateResult, ModelClient
from agents_app.engine.pricing import Pricing
from agents_app.engine.tracing import ModelCallTimer, Span, Tracer, model_attributes

USER = "user"


@dataclass(slots=True)
class Selection:
    speaker: str
    metadata: dict[str, str] = field(default_factory=dict)
    usage: RequestUsage | None = None


def last_chat_source(messages: Sequence[StoredMessage]) -> str | None:
    for m in reversed(messages):
        if m.is_chat:
            return m.source
    return None


def round_robin_next(config: TeamConfig, transcript: Sequence[StoredMessage]) -> str:
    names = [p.name for p in config.participants]
    previous = last_chat_source(transcript[1:])
    if previous not in names:
        return names[0]
    return names[(names.index(previous) + 1) % len(names)]


def swarm_next(config: TeamConfig, messages: Sequence[StoredMessage]) -> tuple[str, bool]:
    """(speaker, waiting_for_user): the last handoff's target; the user's turn if that was 'user'."""
    names = [p.name for p in config.participants]
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if isinstance(m, HandoffMessage) and m.target in names:
            return m.target, False
        if isinstance(m, HandoffMessage) and m.target == USER:
            answered = any(later.is_chat and later.source == USER for later in messages[i + 1 :])
            return m.source, not answered
    return names[0], False


async def selector_next(
    config: TeamConfig,
    client: ModelClient,
    transcript: Sequence[StoredMessage],
    context: Sequence[StoredMessage],
    turn_index: int,
    cancel: CancellationToken,
    *,
    tracer: Tracer | None = None,
    parent: Span | None = None,
    pricing: Pricing | None = None,
) -> Selection:
    """Ask the selector model for the next speaker (retrying on an unclear answer); each call is a span
    under `parent`, and the selection carries the calls' usage and cost."""
    assert config.selector is not None
    tracer = tracer or Tracer(enabled=False)
    settings = config.selector
    names = [p.name for p in config.participants]
    previous = last_chat_source(transcript[1:])
    candidates = [n for n in names if settings.allow_repeated_speaker or n != previous] or names
    if len(candidates) == 1:
        return Selection(candidates[0])
    roles = "\n".join(f"{p.name}: {p.description}" for p in config.participants)
    prompt = settings.selector_prompt.format_map(
        {"roles": roles, "participants": str(candidates), "history": history_text(context)}
    )
    messages = [{"role": "user", "content": prompt}]
    spent = _Spent()
    for _ in range(settings.max_selector_attempts):
        # The turn index, not the attempt number, picks a scripted reply: a retry of a scripted
        # selector gives the same answer, so it falls back deterministically.
        span = tracer.start("model", f"chat {settings.model.model}", parent)
        span.attributes.update(model_attributes(settings.model, "", False))
        with tracer.active(span):
            result = await _complete(client, messages, turn_index, cancel, span, _Priced(settings.model, pricing))
        spent.add(result.usage)
        mentioned = _mentioned(result.content, candidates)
        if len(mentioned) == 1:
            return spent.on(Selection(mentioned[0]))
        feedback = f"Expected exactly one name from {candidates}; got {mentioned or 'none'}. Reply with one name only."
        messages += [{"role": "assistant", "content": result.content}, {"role": "user", "content": feedback}]
    fallback = _round_robin_among(names, candidates, previous)
    note = f"selector gave no valid speaker after {settings.max_selector_attempts} attempts; round-robin fallback"
    return spent.on(Selection(fallback, {"speaker_selection": note}))


class _Spent:
    """The selector calls' tokens and cost, put on the selection and in its speaker's message metadata."""

    def __init__(self) -> None:
        self.prompt = self.completion = 0
        self.cost: float | None = None

    def add(self, usage: RequestUsage) -> None:
        self.prompt += usage.prompt_tokens
        self.completion += usage.completion_tokens
        if usage.cost is not None:
            self.cost = (self.cost or 0.0) + usage.cost

    def on(self, selection: Selection) -> Selection:
        selection.usage = RequestUsage(self.prompt, self.completion, cost=self.cost)
        selection.metadata[SELECTOR_USAGE_KEYS[0]] = str(self.prompt)
        selection.metadata[SELECTOR_USAGE_KEYS[1]] = str(self.completion)
        if self.cost is not None:
            selection.metadata[SELECTOR_COST_KEY] = repr(self.cost)
        return selection


async def _complete(
    client: ModelClient,
    messages: list[dict[str, str]],
    turn_index: int,
    cancel: CancellationToken,
    span: Span,
    priced: _Priced,
) -> CreateResult:
    timer = ModelCallTimer()
    stream = client.stream(list(messages), None, streaming=False, call_index=turn_index)
    try:
        while True:
            with cancel.interruptible():
                item = await stream.__anext__()
            if isinstance(item, CreateResult):
                priced.price(item)
                timer.record(span, item)
                return item
    except StopAsyncIteration:
        raise ModelCallError("the selector model returned no result", permanent=False) from None
    finally:
        timer.close()
        await stream.aclose()


class _Priced:
    def __init__(self, model: ModelConfig, pricing: Pricing | None) -> None:
        self.model, self.pricing = model, pricing

    def price(self, result: CreateResult) -> None:
        if self.pricing is not None:
            result.usage = result.usage.priced(self.pricing.cost(self.model, result.usage))


def _mentioned(reply: str, candidates: list[str]) -> list[str]:
    padded = f" {reply} "
    return [n for n in candidates if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", padded)]


def _round_robin_among(names: list[str], candidates: list[str], previous: str | None) -> str:
    start = names.index(previous) + 1 if previous in names else 0
    for offset in range(len(names)):
        name = names[(start + offset) % len(names)]
        if name in candidates:
            return name
    return candidates[0]
