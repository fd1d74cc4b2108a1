"""Writes to teams. Configs arrive validated (a TeamConfig) and are stored in our canonical format."""

from __future__ import annotations

from typing import Any

from agents_app.config import TeamConfig
from agents_app.models import Team


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
) -> Team:
    name = name or config.name
    description = config.description if description is None else description
    return Team.objects.create(
        owner=owner,
        name=name,
        description=description,
        config=_stored(config, name, description),
        shared=shared,
        gallery_name=gallery_name,
    )


def team_update(
    *,
    team: Team,
    config: TeamConfig | None = None,
    name: str | None = None,
    description: str | None = None,
    shared: bool | None = None,
) -> Team:
    """Change the given fields only. Runs keep their own snapshot, so this never alters a run."""
    team.name = name if name is not None else team.name
    team.description = description if description is not None else team.description
    if shared is not None:
        team.shared = shared
    if config is not None:
        team.config = _stored(config, team.name, team.description)
    else:
        team.config = {**team.config, "name": team.name, "description": team.description}
    team.save()
    return team


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
