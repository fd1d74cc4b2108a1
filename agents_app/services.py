"""Writes to teams. Configs arrive validated (a TeamConfig) and are stored in our canonical format.

Every change of a team's config records an immutable TeamVersion (number, config, author, time,
note) in the same transaction; a write that leaves the config as it was records none.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agents_app.config import TeamConfig
from agents_app.diff import config_diff
from agents_app.models import Team, TeamVersion, VersionOrigin
from mcp_servers.selectors import check_team_servers


def _gallery() -> dict[str, TeamConfig]:
    try:
        from agents_app.gallery import load_gallery
    except ImportError:  # the gallery arrives with the engine
        return {}
    return load_gallery()


def _stored(config: TeamConfig, name: str, description: str) -> dict[str, Any]:
    # Team.name/description are the source of truth; the config carries the same values so
    # an export or a run snapshot names the team the way its owner does.
    return config.model_copy(update={"name": name, "description": description}).model_dump(mode="json")


def team_create(
    *,
    owner: Any,
    config: TeamConfig,
    name: str | None = None,
    description: str | None = None,
    shared: bool = False,
    gallery_name: str = "",
    note: str = "",
) -> Team:
    name = name or config.name
    description = config.description if description is None else description
    check_team_servers(config.model_dump(mode="json"), owner)
    with transaction.atomic():
        team = Team.objects.create(
            owner=owner,
            name=name,
            description=description,
            config=_stored(config, name, description),
            shared=shared,
            gallery_name=gallery_name,
            version=1,
        )
        TeamVersion.objects.create(team=team, number=1, config=team.config, author=owner, origin="create", note=note)
    return team


def team_update(
    *,
    team: Team,
    author: Any,
    config: TeamConfig | None = None,
    name: str | None = None,
    description: str | None = None,
    shared: bool | None = None,
    note: str = "",
    origin: str = VersionOrigin.EDIT,
) -> Team:
    """Change the given fields only; a new version when the stored config changed.

    Runs keep their own snapshot, so this never alters a run.
    """
    with transaction.atomic():
        team = Team.objects.select_for_update().get(id=team.id)  # numbers versions one writer at a time
        team.name = name if name is not None else team.name
        team.description = description if description is not None else team.description
        if shared is not None:
            team.shared = shared
        if config is not None:
            stored = _stored(config, team.name, team.description)
            check_team_servers(stored, team.owner)
        else:
            stored = {**team.config, "name": team.name, "description": team.description}
        _record_version(team, stored, author=author, origin=origin, note=note)
        team.config = stored
        team.save()
    return team


def team_restore(*, team: Team, number: int, author: Any, note: str = "") -> Team:
    """Make version `number` the team's config again, as a new version (history is never rewritten).

    TeamVersion.DoesNotExist for an unknown number. Restoring the config the team has already is a no-op.
    """
    with transaction.atomic():
        team = Team.objects.select_for_update().get(id=team.id)
        old = TeamVersion.objects.get(team=team, number=number)
        stored = dict(old.config)
        note = note or f"Restored version {number}"
        _record_version(team, stored, author=author, origin=VersionOrigin.RESTORE, note=note, restored_from=number)
        team.config = stored
        team.name = str(stored.get("name") or team.name)
        team.description = str(stored.get("description") or "")
        team.save()
    return team


def _record_version(team: Team, stored: dict[str, Any], *, author: Any, origin: str, note: str, **extra: Any) -> None:
    """Append a version for `stored` unless it equals the latest one. Call with the team's row locked."""
    latest = TeamVersion.objects.filter(team=team).order_by("-number").first()
    if latest is None and team.config:
        # A team saved before versions existed (or written around the services): its state so far is v1.
        latest = TeamVersion.objects.create(
            team=team, number=1, config=team.config, author=team.owner, origin=VersionOrigin.CREATE
        )
    if latest is not None and not config_diff(latest.config, stored):
        team.version = latest.number
        return
    number = latest.number + 1 if latest else 1
    TeamVersion.objects.create(
        team=team, number=number, config=stored, author=author, origin=origin, note=note, **extra
    )
    team.version = number


def team_delete(*, team: Team) -> None:
    team.delete()


def gallery_install(*, owner: Any, name: str) -> Team:
    """Copy a gallery team into the user's teams. KeyError for an unknown gallery name."""
    config = _gallery()[name]
    return team_create(owner=owner, config=config, gallery_name=name)


def gallery_install_all(*, owner: Any) -> int:
    """Install every gallery team the user does not have yet; returns how many were added."""
    have = set(Team.objects.filter(owner=owner).values_list("gallery_name", flat=True))
    added = 0
    for name in _gallery():
        if name not in have:
            gallery_install(owner=owner, name=name)
            added += 1
    return added
