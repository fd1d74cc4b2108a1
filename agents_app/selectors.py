"""Reads of teams, scoped once: own teams plus shared ones; superusers read all."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from agents_app.models import Team, TeamVersion


def visible_teams(user: Any) -> QuerySet[Team]:
    qs = Team.objects.select_related("owner")
    if getattr(user, "is_superuser", False):
        return qs.all()
    return qs.filter(Q(owner=user) | Q(shared=True))


def team_get_visible(*, user: Any, team_id: int) -> Team:
    """The team if the user may read it; Team.DoesNotExist (a 404) for missing and not-yours alike."""
    return visible_teams(user).get(id=team_id)


def team_get_writable(*, user: Any, team_id: int) -> Team:
    """The team if the user owns it. A shared team someone else owns is readable, so 403, not 404."""
    team = team_get_visible(user=user, team_id=team_id)
    if team.owner_id != user.id:
        raise PermissionDenied("only the team's owner can change it")
    return team


def team_versions(*, team: Team) -> QuerySet[TeamVersion]:
    """The team's versions, newest first."""
    return TeamVersion.objects.filter(team=team).select_related("author", "team").order_by("-number")


def team_version_get(*, team: Team, number: int) -> TeamVersion:
    """TeamVersion.DoesNotExist (a 404) for a number the team never had."""
    return team_versions(team=team).get(number=number)
