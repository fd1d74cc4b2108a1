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
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

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


class MessageOut(_Shape):
    seq: int
    source: str
    type: str
    content: Any
    models_usage: dict[str, Any] | None
    metadata: dict[str, Any]
    partial: bool = Field(description="text kept from a stream cut short by a stop")
    target: str = Field(description="whom a HandoffMessage hands over to; empty for other messages")
    created_at: Timestamp


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
