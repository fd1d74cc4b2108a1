"""Who speaks next, derived from the transcript alone (so a resumed run agrees with an uninterrupted one)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents_app.config import TeamConfig
from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.context import history_text
from agents_app.engine.errors import ModelCallError
from agents_app.engine.events import SELECTOR_USAGE_KEYS, HandoffMessage, RequestUsage, StoredMessage
from agents_app.engine.models import CreateResult, ModelClient

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
) -> Selection:
    assert config.selector is not None
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
    prompt_tokens = completion_tokens = 0
    for _ in range(settings.max_selector_attempts):
        # The turn index, not the attempt number, picks a scripted reply: a retry of a scripted
        # selector gives the same answer, so it falls back deterministically.
        result = await _complete(client, messages, turn_index, cancel)
        prompt_tokens += result.usage.prompt_tokens
        completion_tokens += result.usage.completion_tokens
        mentioned = _mentioned(result.content, candidates)
        if len(mentioned) == 1:
            return _with_usage(Selection(mentioned[0]), prompt_tokens, completion_tokens)
        feedback = f"Expected exactly one name from {candidates}; got {mentioned or 'none'}. Reply with one name only."
        messages += [{"role": "assistant", "content": result.content}, {"role": "user", "content": feedback}]
    fallback = _round_robin_among(names, candidates, previous)
    note = f"selector gave no valid speaker after {settings.max_selector_attempts} attempts; round-robin fallback"
    return _with_usage(Selection(fallback, {"speaker_selection": note}), prompt_tokens, completion_tokens)


def _with_usage(selection: Selection, prompt: int, completion: int) -> Selection:
    selection.usage = RequestUsage(prompt, completion)
    selection.metadata[SELECTOR_USAGE_KEYS[0]] = str(prompt)
    selection.metadata[SELECTOR_USAGE_KEYS[1]] = str(completion)
    return selection


async def _complete(
    client: ModelClient, messages: list[dict[str, str]], turn_index: int, cancel: CancellationToken
) -> CreateResult:
    stream = client.stream(list(messages), None, streaming=False, call_index=turn_index)
    try:
        while True:
            with cancel.interruptible():
                item = await stream.__anext__()
            if isinstance(item, CreateResult):
                return item
    except StopAsyncIteration:
        raise ModelCallError("the selector model returned no result", permanent=False) from None
    finally:
        await stream.aclose()


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
