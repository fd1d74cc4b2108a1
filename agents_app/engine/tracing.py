"""Spans the engine reports: each agent turn, model call, tool call, hand-off and speaker selection.

The code doing the work opens and closes its span on the run's `Tracer`; `TeamRunner.run` hands
the buffered `SpanStart` / `SpanEnd` events out between its other events, so they reach the caller
through the same stream as messages, in order, and never cost anything per token. Ids follow W3C
trace context (64-bit span ids in hex); the caller gives the parent of the engine's top spans
(its execution span). Attribute names follow the OpenTelemetry GenAI semantic conventions
(`gen_ai.*`); no prompt, completion, tool argument or key is ever put in a span.
"""

from __future__ import annotations

import contextvars
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agents_app.config import AzureOpenAIModel, OpenAIModel, ScriptedModel
from agents_app.engine.errors import Cancelled, EngineError

if TYPE_CHECKING:
    from agents_app.engine.events import StoredMessage
    from agents_app.engine.models import CreateResult

AttributeValue = str | int | float | bool | list[str]
PROVIDER_NAMES = {"openai": "openai", "azure_openai": "azure.ai.openai", "scripted": "scripted"}
# Requests the openai SDK sent for the model call in progress (its own retries included): the HTTP
# transport (model_http) counts into the list this holds, set around each call.
REQUEST_ATTEMPTS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("request_attempts", default=None)


def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


@dataclass(slots=True, eq=False)
class Span:
    kind: str  # turn, model, tool, handoff, selector (the engine's); run, queue, execution, input... (the caller's)
    name: str
    span_id: str
    parent_id: str
    start: float  # seconds since the epoch
    end: float | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    error: str = ""  # set = the span failed
    produced: StoredMessage | None = None  # the message this span produced, linked to its seq once stored


@dataclass(slots=True)
class SpanStart:
    span: Span


@dataclass(slots=True)
class SpanEnd:
    span: Span


SpanEvent = SpanStart | SpanEnd

# Error texts end up in spans and exports: providers echo masked keys in 401 messages.
_KEYLIKE = re.compile(r"\b(sk|pk|rk|key)-[A-Za-z0-9_*\-]{6,}|\bBearer\s+\S+", re.IGNORECASE)


def redact(text: str) -> str:
    return _KEYLIKE.sub("[redacted]", text)[:2000]


class Tracer:
    """Opens and closes spans for one run's drive; a disabled tracer still hands out spans but reports none."""

    def __init__(self, parent_id: str = "", *, enabled: bool = True) -> None:
        self.parent_id = parent_id
        self.enabled = enabled
        self.pending: list[SpanEvent] = []

    def start(self, kind: str, name: str, parent: Span | None = None, **attributes: AttributeValue) -> Span:
        span = Span(kind, name, new_span_id(), parent.span_id if parent else self.parent_id, time.time())
        span.attributes.update(attributes)
        if self.enabled:
            self.pending.append(SpanStart(span))
        return span

    def end(self, span: Span, error: str = "") -> None:
        if span.end is not None:
            return
        span.end = time.time()
        if error:
            span.error = redact(error)
        if self.enabled:
            self.pending.append(SpanEnd(span))

    def drain(self) -> list[SpanEvent]:
        events, self.pending = self.pending, []
        return events

    @contextmanager
    def active(self, span: Span) -> Iterator[Span]:
        """End `span` when the block ends: with the error that escaped it, if any (a closed generator is no error)."""
        try:
            yield span
        except GeneratorExit:
            self.end(span)
            raise
        except Cancelled:
            self.end(span, "cancelled")
            raise
        except EngineError as exc:
            self.end(span, str(exc))
            raise
        except BaseException as exc:
            self.end(span, f"{type(exc).__name__}: {exc}")
            raise
        self.end(span)


def model_attributes(
    model: ScriptedModel | OpenAIModel | AzureOpenAIModel, agent: str, streaming: bool
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER_NAMES.get(model.provider, model.provider),
        "gen_ai.request.model": model.model,
        "gen_ai.request.stream": streaming,
    }
    if agent:
        attributes["gen_ai.agent.name"] = agent
    endpoint = model.base_url if isinstance(model, OpenAIModel) else getattr(model, "azure_endpoint", None)
    if endpoint:
        parts = urlsplit(endpoint)  # the host and port only: a URL may carry credentials
        if parts.hostname:
            attributes["server.address"] = parts.hostname
            try:
                if parts.port:
                    attributes["server.port"] = parts.port
            except ValueError:
                pass
    return attributes


class ModelCallTimer:
    """Times one model call for its span: time to first chunk, and the HTTP attempts the SDK made."""

    __slots__ = ("_attempts", "_token", "first", "started")

    def __init__(self) -> None:
        self.started = time.time()
        self.first: float | None = None
        self._attempts = [0]
        self._token = REQUEST_ATTEMPTS.set(self._attempts)

    def close(self) -> None:
        try:
            REQUEST_ATTEMPTS.reset(self._token)
        except ValueError:  # closed in another context (an abandoned generator): the var dies with it
            pass

    def record(self, span: Span, result: CreateResult) -> None:
        usage = result.usage
        attributes = span.attributes
        attributes["gen_ai.response.finish_reasons"] = [result.finish_reason]
        attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
        if usage.cached_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
        first = self.first if self.first is not None else time.time()
        attributes["gen_ai.response.time_to_first_chunk"] = round(first - self.started, 6)
        attributes["playground.retries"] = max(0, self._attempts[0] - 1)
        if usage.cost is not None:
            attributes["playground.cost_usd"] = usage.cost
        if result.tool_calls:
            attributes["playground.tool_calls"] = len(result.tool_calls)


def count_request_attempt() -> None:
    """Called by the HTTP transport for every request it sends."""
    attempts = REQUEST_ATTEMPTS.get()
    if attempts is not None:
        attempts[0] += 1
