"""A run and a message as every interface shows them: the REST API, the WebSocket frames, exports.

One pydantic definition each. The REST API declares them as its responses; the WebSocket and
the exports dump them with `run_json` and `message_json`, so the same fields go out everywhere
(`partial` and `target` included). Plain pydantic models rather than ninja's Schema, whose
wrapper around every attribute read would cost the socket ten times as much per message.
"""

from __future__ import annotations

from collections.abc import Mapping
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


# A message's columns as runs.selectors.message_rows reads them (no model instance).
MESSAGE_COLUMNS = (
    "run_id",
    "seq",
    "source",
    "type",
    "content",
    "models_usage",
    "metadata",
    "partial",
    "target",
    "attachments",
    "created_at",
)


def message_json(message: Message | Mapping[str, Any]) -> dict[str, Any]:
    """MessageOut's JSON form of a Message or of a row of MESSAGE_COLUMNS, written out: pydantic's
    validate-and-dump took 10 µs a message, a third of replaying a long run (docs/benchmarks.md).
    tests/runs/test_shapes.py holds it equal to MessageOut's dump."""
    row: Any = message if isinstance(message, Mapping) else message.__dict__
    files = [_attachment_json(a) for a in row["attachments"] or ()]
    content = row["content"]
    if files and isinstance(content, str):  # as MessageOut._multimodal
        content = [content, *({"url": f["url"], "alt": f["name"]} for f in files if f["kind"] == "image")]
    return {
        "seq": row["seq"],
        "source": row["source"],
        "type": row["type"],
        "content": content,
        "models_usage": row["models_usage"],
        "metadata": row["metadata"],
        "partial": row["partial"],
        "target": row["target"],
        "attachments": files,
        "created_at": timestamp(row["created_at"]),
    }


def _attachment_json(descriptor: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": descriptor["id"],
        "name": descriptor["name"],
        "content_type": descriptor["content_type"],
        "size": descriptor["size"],
        "kind": descriptor["kind"],
        "call_id": descriptor.get("call_id"),
        "url": attachment_url(descriptor["id"]),
    }
