"""Reads of teams, scoped once: own teams plus shared ones; superusers read all."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from agents_app.models import Team


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
