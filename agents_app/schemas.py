"""Request and response bodies of the teams and gallery endpoints.

Inputs forbid unknown fields, so a misspelt field is a 422 rather than silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from playground.errors import ErrorItem
from playground.schemas import InputSchema

# Shown in /api/docs and used by the schema-driven tests as a known-good request.
EXAMPLE_CONFIG: dict[str, Any] = {
    "version": 1,
    "kind": "round_robin",
    "name": "echo",
    "participants": [
        {"kind": "assistant", "name": "writer", "model": {"provider": "scripted", "replies": ["Hello there."]}}
    ],
    "termination": {"type": "max_message", "max_messages": 2},
}


class TeamIn(InputSchema):
    """Create or replace a team. `config` is our TeamConfig or AutoGen Studio component JSON."""

    name: str | None = Field(None, min_length=1, max_length=200, description="defaults to the config's name")
    description: str | None = Field(None, max_length=10_000, description="defaults to the config's description")
    shared: bool = False
    config: dict[str, Any] = Field(examples=[EXAMPLE_CONFIG])


class TeamPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    shared: bool | None = None
    config: dict[str, Any] | None = Field(None, examples=[EXAMPLE_CONFIG])


class TeamOut(Schema):
    id: int
    name: str
    description: str
    shared: bool
    owner: str
    editable: bool = Field(description="true when the caller owns the team and may change it")
    gallery_name: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return str(obj.owner.get_username())

    @staticmethod
    def resolve_editable(obj: Any, context: dict[str, Any]) -> bool:
        return bool(obj.owner_id == context["request"].user.id)


class TeamCreatedOut(TeamOut):
    warnings: list[ErrorItem] = Field(
        description="what the import could not carry over exactly (e.g. a dropped credential); the team was saved"
    )


class ValidateOut(Schema):
    valid: bool
    format: Literal["native", "autogen"] | None = Field(description="the format detected, null if not recognised")
    errors: list[ErrorItem]
    warnings: list[ErrorItem]
    config: dict[str, Any] | None = Field(description="the config in our canonical format when valid")


class GalleryItemOut(Schema):
    name: str = Field(description="gallery key, used to install it")
    title: str
    description: str
    kind: str
    participants: list[str]
    config: dict[str, Any]
