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
    note: str = Field("", max_length=500, description="kept with the version this change makes")


class TeamPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    shared: bool | None = None
    config: dict[str, Any] | None = Field(None, examples=[EXAMPLE_CONFIG])
    note: str = Field("", max_length=500, description="kept with the version this change makes")


class TeamOut(Schema):
    id: int
    name: str
    description: str
    shared: bool
    owner: str
    editable: bool = Field(description="true when the caller owns the team and may change it")
    gallery_name: str
    config: dict[str, Any]
    version: int = Field(description="the number of the team version equal to `config` (0: none recorded)")
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


class VersionOut(Schema):
    number: int
    author: str | None = Field(description="who made the change (null once that user is deleted)")
    origin: str = Field(description="create, edit (REST or the editor), upload, admin or restore")
    note: str
    restored_from: int | None = Field(description="for a restore: the version it copied")
    created_at: datetime
    current: bool = Field(description="true for the version the team's config equals now")

    @staticmethod
    def resolve_author(obj: Any) -> str | None:
        return str(obj.author.get_username()) if obj.author_id else None

    @staticmethod
    def resolve_current(obj: Any) -> bool:
        return bool(obj.number == obj.team.version)


class VersionDetailOut(VersionOut):
    config: dict[str, Any]


class ChangeOut(Schema):
    path: str = Field(description="JSON path of the field, e.g. participants[1].model.model")
    change: Literal["added", "removed", "changed", "reordered"]
    old: Any = Field(description="the value before (null when added)")
    new: Any = Field(description="the value after (null when removed)")


class VersionDiffOut(Schema):
    team_id: int
    base: int = Field(description="the version compared from")
    other: int = Field(description="the version compared to")
    changes: list[ChangeOut]


class RestoreIn(InputSchema):
    note: str = Field("", max_length=500, description="defaults to 'Restored version N'")
