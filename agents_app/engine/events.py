"""Typed engine events and the stored messages' wire dicts (JSON primitives, AutoGen `type` names).

`TeamRunner.run` yields `MessageChunk` (streamed text, never stored), stored messages
(subclasses of `StoredMessage`), `InputRequest`, and finally `TaskResult`.
A stored message's wire dict is `{"source","type","content","models_usage","metadata","partial","target"}`
(`target`: whom a HandoffMessage hands over to, empty for every other message): the fields a
stored message has, so storing it and reading it back is one mapping each way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from agents_app.engine.errors import TranscriptError


@dataclass(slots=True, frozen=True)
class RequestUsage:
    """One model call's tokens; `cached_tokens` are the part of `prompt_tokens` the provider had cached,
    `cost` its price in US dollars (None: unknown). Both are on the wire only when known."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}
        if self.cached_tokens:
            wire["cached_tokens"] = self.cached_tokens
        if self.cost is not None:
            wire["cost"] = self.cost
        return wire

    def priced(self, cost: float | None) -> RequestUsage:
        return RequestUsage(self.prompt_tokens, self.completion_tokens, self.cached_tokens, cost)


@dataclass(slots=True)
class MessageChunk:
    """A piece of streamed text of the message `source` is generating (AutoGen's ModelClientStreamingChunkEvent)."""

    source: str
    content: str

    def to_wire(self) -> dict[str, Any]:
        return {"source": self.source, "content": self.content, "type": "ModelClientStreamingChunkEvent"}


@dataclass(slots=True)
class FunctionCall:
    id: str
    name: str
    arguments: str  # a JSON string, as the model produced it

    def to_wire(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(slots=True)
class FunctionExecutionResult:
    """A tool's result. `content` is what the model reads; `parts` what it cannot (an MCP tool's
    images, `{"type": "image", "mime_type", "data": base64}`), kept for the people watching (the
    runs app stores them as the message's attachments, so its row carries no base64)."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    parts: list[dict[str, str]] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "call_id": self.call_id,
            "name": self.name,
            "content": self.content,
            "is_error": self.is_error,
        }
        if self.parts:
            wire["parts"] = [dict(p) for p in self.parts]
        return wire


@dataclass(slots=True, kw_only=True)
class StoredMessage:
    """Base of every message that is stored and part of the transcript."""

    type: ClassVar[str] = ""
    is_chat: ClassVar[bool] = True  # a chat message ends an agent's turn; an event does not

    source: str
    models_usage: RequestUsage | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    partial: bool = False

    def content_wire(self) -> Any:
        raise NotImplementedError

    def to_text(self) -> str:
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "type": self.type,
            "content": self.content_wire(),
            "models_usage": self.models_usage.to_wire() if self.models_usage else None,
            "metadata": dict(self.metadata),
            "partial": self.partial,
            "target": "",
        }


@dataclass(slots=True, kw_only=True)
class _TextContent(StoredMessage):
    content: str

    def content_wire(self) -> str:
        return self.content

    def to_text(self) -> str:
        return self.content


@dataclass(slots=True, kw_only=True)
class TextMessage(_TextContent):
    type: ClassVar[str] = "TextMessage"


@dataclass(slots=True, kw_only=True)
class ToolCallSummaryMessage(_TextContent):
    type: ClassVar[str] = "ToolCallSummaryMessage"


@dataclass(slots=True, kw_only=True)
class StopMessage(_TextContent):
    type: ClassVar[str] = "StopMessage"


@dataclass(slots=True, kw_only=True)
class HandoffMessage(_TextContent):
    type: ClassVar[str] = "HandoffMessage"
    target: str

    def to_wire(self) -> dict[str, Any]:
        wire = StoredMessage.to_wire(self)
        wire["target"] = self.target
        return wire


@dataclass(slots=True, kw_only=True)
class MultiModalMessage(_TextContent):
    """A message with files (AutoGen's MultiModalMessage): `content` is its text, `attachments` its files
    as plain content parts: `{"id", "name", "content_type", "size", "kind"}` with, once the caller has
    read them, `data` (an image's bytes in base64) or `url` (where the model's server fetches it), or
    `text` (a text file's, a PDF's extracted text).
    Kinds: image, text, pdf, file (any other type: named only). How a model sees them: context.py."""

    type: ClassVar[str] = "MultiModalMessage"
    attachments: list[dict[str, Any]] = field(default_factory=list)

    def to_text(self) -> str:
        # Terminations and the selector's history read this: the files by name, never their text.
        return "\n".join([self.content, *(f"[attached: {a.get('name', 'file')}]" for a in self.attachments)])

    def to_wire(self) -> dict[str, Any]:
        wire = StoredMessage.to_wire(self)
        wire["attachments"] = [{k: v for k, v in a.items() if k not in _PART_BODIES} for a in self.attachments]
        return wire


_PART_BODIES = frozenset({"data", "url", "text"})  # read from storage for the model; never stored on the message


@dataclass(slots=True, kw_only=True)
class ToolCallRequestEvent(StoredMessage):
    type: ClassVar[str] = "ToolCallRequestEvent"
    is_chat: ClassVar[bool] = False
    content: list[FunctionCall]

    def content_wire(self) -> list[dict[str, str]]:
        return [c.to_wire() for c in self.content]

    def to_text(self) -> str:
        return "; ".join(f"{c.name}({c.arguments})" for c in self.content)


@dataclass(slots=True, kw_only=True)
class ToolCallExecutionEvent(StoredMessage):
    type: ClassVar[str] = "ToolCallExecutionEvent"
    is_chat: ClassVar[bool] = False
    content: list[FunctionExecutionResult]

    def content_wire(self) -> list[dict[str, Any]]:
        return [r.to_wire() for r in self.content]

    def to_text(self) -> str:
        return "\n".join(r.content for r in self.content)


@dataclass(slots=True, kw_only=True)
class UserInputRequestedEvent(_TextContent):
    """Accepted from stored transcripts (AutoGen emits it); the engine itself yields `InputRequest`."""

    type: ClassVar[str] = "UserInputRequestedEvent"
    is_chat: ClassVar[bool] = False
    content: str = ""


@dataclass(slots=True, kw_only=True)
class ToolApprovalEvent(StoredMessage):
    """A person's decision on one tool call the agent asked to make (ours; stored between the
    ToolCallRequestEvent and its results). `content`: call_id, tool, decision ("approve" or
    "reject"), arguments (what runs: the model's, or the person's edit), edited, reason, by."""

    type: ClassVar[str] = "ToolApprovalEvent"
    is_chat: ClassVar[bool] = False
    content: dict[str, Any]

    @property
    def call_id(self) -> str:
        return str(self.content.get("call_id", ""))

    @property
    def approved(self) -> bool:
        return self.content.get("decision") == "approve"

    def content_wire(self) -> dict[str, Any]:
        return dict(self.content)

    def to_text(self) -> str:
        verb = "approved" if self.approved else "rejected"
        reason = self.content.get("reason") or ""
        return f"{self.content.get('by') or 'a person'} {verb} {self.content.get('tool')}" + (
            f": {reason}" if reason else ""
        )


@dataclass(slots=True, kw_only=True)
class SelectSpeakerEvent(StoredMessage):
    """Emitted by a selector team when `emit_team_events` is set; content is the chosen names."""

    type: ClassVar[str] = "SelectSpeakerEvent"
    is_chat: ClassVar[bool] = False
    content: list[str]

    def content_wire(self) -> list[str]:
        return list(self.content)

    def to_text(self) -> str:
        return ", ".join(self.content)


@dataclass(slots=True)
class InputRequest:
    """The run suspends: `source` (a UserProxy, or the agent that handed off to the user) asks a human."""

    source: str
    prompt: str


@dataclass(slots=True)
class ApprovalRequest:
    """The run suspends: agent `source` wants to call `tool` and a person must approve the call first.
    `schema` is the tool's JSON Schema for its arguments (an edit is checked against it)."""

    source: str
    call_id: str
    tool: str
    server: str
    arguments: dict[str, Any]
    schema: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {
            "agent": self.source,
            "call_id": self.call_id,
            "tool": self.tool,
            "server": self.server,
            "arguments": self.arguments,
            "schema": self.schema,
        }


@dataclass(slots=True)
class AgentUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None  # US dollars of the calls whose price is known; None when none is

    def add(self, usage: RequestUsage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if usage.cost is not None:
            self.cost = (self.cost or 0.0) + usage.cost

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total": self.total,
        }
        if self.cost is not None:
            wire["cost"] = self.cost
        return wire


@dataclass(slots=True)
class Usage(AgentUsage):
    per_agent: dict[str, AgentUsage] = field(default_factory=dict)

    @classmethod
    def of(cls, messages: list[StoredMessage]) -> Usage:
        usage = cls()
        for m in messages:
            if m.models_usage is not None:
                usage.add_for(m.source, m.models_usage)
            selector = _selector_usage(m)
            if selector is not None:
                usage.add_for("selector", selector)
        return usage

    def add_for(self, source: str, usage: RequestUsage) -> None:
        self.add(usage)
        self.per_agent.setdefault(source, AgentUsage()).add(usage)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = AgentUsage.to_wire(self)
        wire["per_agent"] = {name: u.to_wire() for name, u in self.per_agent.items()}
        return wire


SELECTOR_USAGE_KEYS = ("selector_prompt_tokens", "selector_completion_tokens")
SELECTOR_COST_KEY = "selector_cost"


def _selector_usage(message: StoredMessage) -> RequestUsage | None:
    # Speaker selection is not a message of its own (AutoGen's SelectSpeakerEvent is optional),
    # so its token usage rides in the metadata of the chosen speaker's first message.
    prompt = message.metadata.get(SELECTOR_USAGE_KEYS[0])
    if prompt is None:
        return None
    try:
        cost = message.metadata.get(SELECTOR_COST_KEY)
        return RequestUsage(
            int(prompt),
            int(message.metadata.get(SELECTOR_USAGE_KEYS[1], "0")),
            cost=float(cost) if cost is not None else None,
        )
    except ValueError:
        return None


def message_cost(message: StoredMessage) -> float:
    """US dollars the model calls behind a message cost, the speaker selection before it included."""
    total = 0.0
    for usage in (message.models_usage, _selector_usage(message)):
        if usage is not None and usage.cost is not None:
            total += usage.cost
    return total


Outcome = Literal["complete", "input_required", "cancelled"]


@dataclass(slots=True)
class TaskResult:
    outcome: Outcome
    stop_reason: str | None
    usage: Usage
    duration: float

    def to_wire(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "stop_reason": self.stop_reason,
            "usage": self.usage.to_wire(),
            "duration": self.duration,
        }


Event = MessageChunk | StoredMessage | InputRequest | ApprovalRequest | TaskResult

_TEXT_TYPES: dict[str, type[_TextContent]] = {
    cls.type: cls
    for cls in (
        TextMessage,
        ToolCallSummaryMessage,
        StopMessage,
        HandoffMessage,
        MultiModalMessage,
        UserInputRequestedEvent,
    )
}


def message_from_wire(d: dict[str, Any]) -> StoredMessage:
    """Inverse of `StoredMessage.to_wire`; raises TranscriptError naming what is wrong."""
    if not isinstance(d, dict):
        raise TranscriptError(f"a message must be a JSON object, not {type(d).__name__}")
    kind = d.get("type")
    source = d.get("source")
    if not isinstance(source, str) or not source:
        raise TranscriptError(f"message of type {kind!r} has no source")
    metadata = {str(k): str(v) for k, v in (d.get("metadata") or {}).items()}
    partial = d.get("partial") is True
    usage = _usage_from_wire(d.get("models_usage"))
    common: dict[str, Any] = {"source": source, "models_usage": usage, "metadata": metadata, "partial": partial}
    content = d.get("content")
    if kind in ("ToolCallRequestEvent", "ToolCallExecutionEvent", "SelectSpeakerEvent") and not isinstance(
        content, list
    ):
        raise TranscriptError(f"{kind} from {source!r} needs a list as content")
    try:
        if kind in _TEXT_TYPES:
            if kind == "MultiModalMessage" and isinstance(content, list):  # AutoGen's [text, image, ...]
                content = "\n".join(item for item in content if isinstance(item, str))
            if not isinstance(content, str):
                content = "" if content is None else json.dumps(content)
            if kind == "HandoffMessage":
                return HandoffMessage(content=content, target=str(d["target"]), **common)
            if kind == "MultiModalMessage":
                files = [a for a in d.get("attachments") or [] if isinstance(a, dict)]
                return MultiModalMessage(content=content, attachments=files, **common)
            return _TEXT_TYPES[kind](content=content, **common)
        if kind == "ToolCallRequestEvent":
            calls = [FunctionCall(str(c["id"]), str(c["name"]), _args(c.get("arguments"))) for c in _list(content)]
            return ToolCallRequestEvent(content=calls, **common)
        if kind == "ToolCallExecutionEvent":
            results = [
                FunctionExecutionResult(
                    call_id=str(r["call_id"]),
                    name=str(r.get("name", "")),
                    content=str(r.get("content", "")),
                    is_error=bool(r.get("is_error", False)),
                    parts=[_part(p) for p in _list(r.get("parts")) if isinstance(p, dict)],
                )
                for r in _list(content)
            ]
            return ToolCallExecutionEvent(content=results, **common)
        if kind == "ToolApprovalEvent":
            if not isinstance(content, dict):
                raise TranscriptError(f"ToolApprovalEvent from {source!r} needs an object as content")
            return ToolApprovalEvent(content=dict(content), **common)
        if kind == "SelectSpeakerEvent":
            return SelectSpeakerEvent(content=[str(n) for n in _list(content)], **common)
    except (KeyError, TypeError) as exc:
        raise TranscriptError(f"malformed {kind} from {source!r}: missing or wrong field {exc}") from None
    raise TranscriptError(f"unknown message type {kind!r}")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _part(value: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()}


def _args(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value or {})


def _usage_from_wire(value: Any) -> RequestUsage | None:
    if not isinstance(value, dict):
        return None
    cost = value.get("cost")
    return RequestUsage(
        int(value.get("prompt_tokens") or 0),
        int(value.get("completion_tokens") or 0),
        int(value.get("cached_tokens") or 0),
        float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
    )
