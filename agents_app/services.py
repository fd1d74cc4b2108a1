"""Writes to teams."""

from __future__ import annotations

from typing import Any

from agents_app.models import Team


def _gallery() -> dict[str, Any]:
    try:
        from agents_app.gallery import load_gallery
    except ImportError:  # the gallery arrives with the engine
        return {}
    return load_gallery()


def gallery_install(*, owner: Any, name: str) -> Team:
    config = _gallery()[name]
    data = config.model_dump(mode="json")
    return Team.objects.create(
        owner=owner, name=config.name, description=config.description, config=data, gallery_name=name
    )


def gallery_install_all(*, owner: Any) -> int:
    """Install every gallery team the user does not have yet; returns how many were added."""
    have = set(Team.objects.filter(owner=owner).values_list("gallery_name", flat=True))
    added = 0
    for name in _gallery():
        if name not in have:
            gallery_install(owner=owner, name=name)
            added += 1
    return added
