"""A run and a message as every interface shows them: the REST API, the WebSocket frames, exports.

One pydantic definition each. The REST API declares them as its responses; the WebSocket and
the exports dump them with `run_json` and `message_json`, so the same fields go out everywhere
(`partial` and `target` included). Plain pydantic models rather than ninja's Schema, whose
wrapper around every attribute read would cost the socket ten times as much per message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.core.serializers.json import DjangoJSONEncoder
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, computed_field, model_validator

from runs.models import Message, Run

_encoder = DjangoJSONEncoder()


def timestamp(value: datetime) -> str:
    """Django's JSON form of a time (milliseconds, "Z" for UTC), as the REST API has always sent it."""
    return str(_encoder.default(value))


Timestamp = Annotated[datetime, PlainSerializer(timestamp, return_type=str)]


class _Shape(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputRequestOut(_Shape):
    id: str
    prompt: str
    source: str
    deadline: Timestamp | None
    kind: str = Field(description="input (an answer to POST /input) or tool_approval (a decision to POST /approval)")
    tool_call: dict[str, Any] | None = Field(
        description="tool_approval: the call waiting (agent, call_id, tool, server, arguments, schema)"
    )


def attachment_url(attachment_id: int) -> str:
    """Where the run's owner fetches a file (runs.attachments_api); nobody else gets it."""
    return f"/api/attachments/{attachment_id}"


class AttachmentOut(_Shape):
    id: int
    name: str
    content_type: str = Field(description="sniffed from the content, not taken from the name")
    size: int = Field(description="bytes")
    kind: str = Field(description="image, text, pdf or file")
    call_id: str | None = Field(default=None, description="an image a tool returned: the call whose result it is")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return attachment_url(self.id)


class MessageOut(_Shape):
    seq: int
    source: str
    type: str
    content: Any = Field(
        description="text; for a MultiModalMessage AutoGen's list: the text, then each image as {url, alt}"
    )
    models_usage: dict[str, Any] | None
    metadata: dict[str, Any]
    partial: bool = Field(description="text kept from a stream cut short by a stop")
    target: str = Field(description="whom a HandoffMessage hands over to; empty for other messages")
    attachments: list[AttachmentOut] = Field(description="the message's files (a MultiModalMessage's)")
    created_at: Timestamp

    @model_validator(mode="after")
    def _multimodal(self) -> MessageOut:
        # AutoGen Studio's client renders a MultiModalMessage's list: strings, and images by `url`.
        if self.attachments and isinstance(self.content, str):
            images = [{"url": a.url, "alt": a.name} for a in self.attachments if a.kind == "image"]
            self.content = [self.content, *images]
        return self


class RunOut(_Shape):
    id: int
    session_id: int | None
    team_id: int | None
    status: str
    task: str
    stop_reason: str
    error: str
    usage: dict[str, Any]
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    last_seq: int
    input_request: InputRequestOut | None = Field(description="the pending request when status is awaiting_input")
    team_version: int | None = Field(description="the team version its config was taken from; null: sent inline")
    model_override: dict[str, Any] | None = Field(description="the model override applied to its config")
    parent_id: int | None = Field(description="the run this one was forked from")
    fork_after_seq: int | None = Field(description="a fork starts from a copy of its parent's messages 1 to this")
    fork_edited_seq: int | None = Field(description="the copied message a fork replaced with new text")


def run_json(run: Run) -> dict[str, Any]:
    return RunOut.model_validate(run).model_dump(mode="json")


def message_json(message: Message) -> dict[str, Any]:
    return MessageOut.model_validate(message).model_dump(mode="json")
