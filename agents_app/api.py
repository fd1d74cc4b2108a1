"""/api/teams and /api/gallery. Reads go through agents_app.selectors, writes through services.

POST /api/teams takes `{"name"?, "description"?, "shared"?, "config"}`, where `config` is our
format or AutoGen Studio component JSON (detected by shape, stored in ours). A bare
document goes to POST /api/teams/upload as a file, or to /validate as the body.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Body, File, Form, Path, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import ConfigDict, Field

from agents_app import selectors, services, team_io
from agents_app.config import ConfigErrorItem, TeamConfig, TeamConfigError, team_config_schema
from agents_app.endpoints import check_model_endpoints
from agents_app.models import Team, VersionOrigin
from agents_app.schemas import EXAMPLE_CONFIG, GalleryItemOut, TeamCreatedOut, TeamIn, TeamOut, TeamPatch, ValidateOut
from agents_app.versions_api import versions_router
from mcp_servers.selectors import check_team_servers
from playground.errors import ApiError
from playground.pagination import LimitOffset

teams_router = Router(tags=["teams"])
gallery_router = Router(tags=["gallery"])
teams_router.add_router("", versions_router)


def _check_size(request: HttpRequest) -> None:
    if len(request.body) > team_io.MAX_TEAM_BYTES:
        raise team_io.too_big()


def _under(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _parse_config(data: Any, owner: Any, prefix: str = "config") -> tuple[TeamConfig, list[ConfigErrorItem]]:
    """Parse a config sent inside a wrapper, and check the MCP servers it names are `owner`'s to use;
    paths of errors and warnings point into the body."""
    try:
        config, _, warnings = team_io.parse_document(data, owner)
        check_team_servers(config.model_dump(mode="json"), owner)
        check_model_endpoints(config.model_dump(mode="json"))
    except TeamConfigError as exc:
        raise TeamConfigError([{"path": _under(prefix, e.path), "message": e.message} for e in exc.errors]) from None
    return config, [ConfigErrorItem(path=_under(prefix, w.path), message=w.message) for w in warnings]


def _with_warnings(team: Team, warnings: list[ConfigErrorItem]) -> Team:
    team.warnings = warnings  # type: ignore[attr-defined]  # response-only, see TeamCreatedOut
    return team


@teams_router.get("", response=list[TeamOut])
@paginate(LimitOffset)
def team_list(request: HttpRequest) -> QuerySet[Team]:
    """The caller's teams and every shared team, most recently changed first."""
    return selectors.visible_teams(request.user)


@teams_router.post("", response={201: TeamCreatedOut})
def team_create(request: HttpRequest, payload: TeamIn) -> Status:
    _check_size(request)
    config, warnings = _parse_config(payload.config, request.user)
    team = services.team_create(
        owner=request.user,
        config=config,
        name=payload.name,
        description=payload.description,
        shared=payload.shared,
        note=payload.note,
    )
    return Status(201, _with_warnings(team, warnings))


@teams_router.post("/upload", response={201: TeamCreatedOut})
def team_upload(request: HttpRequest, file: File[UploadedFile]) -> Status:
    """A team file (our format or AutoGen component JSON), at most 1 MiB, as multipart field `file`."""
    config, _, warnings = team_io.parse_document(team_io.read_upload(file), request.user)
    team = services.team_create(owner=request.user, config=config)
    return Status(201, _with_warnings(team, warnings))


@teams_router.post("/validate", response=ValidateOut)
def team_validate(
    request: HttpRequest, document: Annotated[dict[str, Any], Body(examples=[EXAMPLE_CONFIG])]
) -> dict[str, Any]:
    """Check a document without saving it. 200 even when invalid: the answer is `valid` and `errors`.

    The body is a bare config (ours or AutoGen's), or the `{"config": ...}` wrapper of POST /api/teams.
    """
    _check_size(request)
    data = team_io.unwrap(document)
    try:
        config, fmt, warnings = team_io.parse_document(data, request.user)
        check_team_servers(config.model_dump(mode="json"), request.user)
        check_model_endpoints(config.model_dump(mode="json"))
    except TeamConfigError as exc:
        fmt_guess: Literal["native", "autogen"] = "autogen" if "provider" in data else "native"
        return {"valid": False, "format": fmt_guess, "errors": exc.errors, "warnings": [], "config": None}
    return {"valid": True, "format": fmt, "errors": [], "warnings": warnings, "config": config.model_dump(mode="json")}


@teams_router.get("/schema", response=dict[str, Any])
def team_schema(request: HttpRequest) -> dict[str, Any]:
    """The JSON Schema of our team config format, for editors."""
    return team_config_schema()


@teams_router.get("/{team_id}", response=TeamOut)
def team_detail(request: HttpRequest, team_id: int) -> Team:
    return selectors.team_get_visible(user=request.user, team_id=team_id)


@teams_router.put("/{team_id}", response=TeamOut)
def team_replace(request: HttpRequest, team_id: int, payload: TeamIn) -> Team:
    _check_size(request)
    team = selectors.team_get_writable(user=request.user, team_id=team_id)
    config, _ = _parse_config(payload.config, team.owner)
    team = services.team_update(
        team=team,
        author=request.user,
        config=config,
        name=payload.name or config.name,
        description=config.description if payload.description is None else payload.description,
        shared=payload.shared,
        note=payload.note,
    )
    return team


@teams_router.patch("/{team_id}", response=TeamOut)
def team_patch(request: HttpRequest, team_id: int, payload: TeamPatch) -> Team:
    _check_size(request)
    team = selectors.team_get_writable(user=request.user, team_id=team_id)
    config = _parse_config(payload.config, team.owner)[0] if payload.config is not None else None
    team = services.team_update(
        team=team,
        author=request.user,
        config=config,
        name=payload.name,
        description=payload.description,
        shared=payload.shared,
        note=payload.note,
    )
    return team


@teams_router.post("/{team_id}/upload", response=TeamCreatedOut)
def team_upload_over(
    request: HttpRequest,
    team_id: int,
    file: File[UploadedFile],
    note: Form[str] = "",
) -> Team:
    """Replace a team's config with a team file (either format); a new version unless nothing changed.

    The team's name and description come from the file, as they do for a new upload.
    """
    team = selectors.team_get_writable(user=request.user, team_id=team_id)
    if len(note) > 500:
        raise ApiError(422, "The note is too long.", [{"path": "note", "message": "at most 500 characters"}])
    config, _, warnings = team_io.parse_document(team_io.read_upload(file), request.user)
    team = services.team_update(
        team=team,
        author=request.user,
        config=config,
        name=config.name,
        description=config.description,
        note=note,
        origin=VersionOrigin.UPLOAD,
    )
    return _with_warnings(team, warnings)


@teams_router.delete("/{team_id}", response={204: None})
def team_delete(request: HttpRequest, team_id: int) -> Status:
    services.team_delete(team=selectors.team_get_writable(user=request.user, team_id=team_id))
    return Status(204, None)


class ExportQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    format: Literal["native", "autogen"] = "native"
    flavor: Literal["0.7", "0.5"] = "0.7"
    version: int | None = Field(None, ge=1, description="export this version; default the current config")


@teams_router.get("/{team_id}/export", response=dict[str, Any])
def team_export(
    request: HttpRequest, response: HttpResponse, team_id: int, query: Query[ExportQuery]
) -> dict[str, Any]:
    """The team as a file: `native` (our format) or `autogen` (component JSON; `flavor` 0.5 for
    AutoGen Studio 0.4.2.2), of the current config or of any `version`. Credentials are never included."""
    team = selectors.team_get_visible(user=request.user, team_id=team_id)
    stored = team.config
    name = f"team-{team.id}-{query.format}"
    if query.version is not None:
        stored = selectors.team_version_get(team=team, number=query.version).config
        name = f"team-{team.id}-v{query.version}-{query.format}"
    try:
        config = TeamConfig.model_validate(stored)
    except ValueError:
        raise ApiError(409, "The stored config no longer validates; fix it with PUT before exporting.") from None
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return team_io.export_document(config, query.format, query.flavor)


# ------------------------------------------------------------------ gallery


@gallery_router.get("", response=list[GalleryItemOut])
@paginate(LimitOffset)
def gallery_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": key,
            "title": config.name,
            "description": config.description,
            "kind": config.kind,
            "participants": [p.name for p in config.participants],
            "config": config.model_dump(mode="json"),
        }
        for key, config in services._gallery().items()
    ]


@gallery_router.post("/{name}/install", response={201: TeamOut})
def gallery_install(request: HttpRequest, name: Annotated[str, Path(example="calculator")]) -> Status:
    """Copy a gallery team into the caller's teams (a copy: later gallery changes do not touch it)."""
    try:
        team = services.gallery_install(owner=request.user, name=name)
    except KeyError:
        raise ApiError(404, "Not found.") from None
    return Status(201, team)
