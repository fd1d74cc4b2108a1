"""/api/teams/{id}/versions: a team's history, the diff of two versions, restore.

Whoever may read the team may read its versions (a shared team's history included); only its
owner restores. A version is never changed: restore makes a new one equal to an old one.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict, Field

from agents_app import selectors, services
from agents_app.diff import config_diff
from agents_app.models import Team, TeamVersion
from agents_app.schemas import RestoreIn, TeamOut, VersionDetailOut, VersionDiffOut, VersionOut
from playground.pagination import LimitOffset

versions_router = Router(tags=["team versions"])


@versions_router.get("/{team_id}/versions", response=list[VersionOut])
@paginate(LimitOffset)
def version_list(request: HttpRequest, team_id: int) -> QuerySet[TeamVersion]:
    """The team's versions, newest first."""
    team = selectors.team_get_visible(user=request.user, team_id=team_id)
    return selectors.team_versions(team=team)


@versions_router.get("/{team_id}/versions/{number}", response=VersionDetailOut)
def version_detail(request: HttpRequest, team_id: int, number: int) -> TeamVersion:
    team = selectors.team_get_visible(user=request.user, team_id=team_id)
    return selectors.team_version_get(team=team, number=number)


class DiffQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    to: int | None = Field(None, ge=1, description="the version to compare with; default the current one")


@versions_router.get("/{team_id}/versions/{number}/diff", response=VersionDiffOut)
def version_diff(request: HttpRequest, team_id: int, number: int, query: Query[DiffQuery]) -> dict[str, object]:
    """What changed from version `number` to version `to`, field by field (JSON paths)."""
    team = selectors.team_get_visible(user=request.user, team_id=team_id)
    base = selectors.team_version_get(team=team, number=number)
    other = selectors.team_version_get(team=team, number=query.to or team.version)
    changes = config_diff(base.config, other.config)
    return {"team_id": team.id, "base": base.number, "other": other.number, "changes": changes}


@versions_router.post("/{team_id}/versions/{number}/restore", response=TeamOut)
def version_restore(request: HttpRequest, team_id: int, number: int, payload: RestoreIn | None = None) -> Team:
    """Make version `number` the team's config again as a new version (none if it already is)."""
    team = selectors.team_get_writable(user=request.user, team_id=team_id)
    selectors.team_version_get(team=team, number=number)  # a 404 before any write
    note = payload.note if payload else ""
    return services.team_restore(team=team, number=number, author=request.user, note=note)
