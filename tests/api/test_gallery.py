from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from agents_app.gallery import load_gallery
from agents_app.models import Team
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_gallery_lists_every_entry(alice_api: Client) -> None:
    page = alice_api.get("/api/gallery?limit=200").json()
    assert page["count"] == len(load_gallery())
    assert {item["name"] for item in page["items"]} == set(load_gallery())
    assert all(item["participants"] and item["config"]["version"] == 1 for item in page["items"])


def test_install_copies_into_the_callers_teams(alice_api: Client, alice: Any, bob: Any) -> None:
    name = next(iter(load_gallery()))
    response = alice_api.post(f"/api/gallery/{name}/install")
    assert response.status_code == 201, response.content
    team = Team.objects.get(id=response.json()["id"])
    assert team.owner == alice and team.gallery_name == name and not team.shared
    assert Team.objects.filter(owner=bob).count() == 0


def test_install_unknown_entry_is_404(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/gallery/no-such-team/install"), 404)


def test_gallery_needs_auth() -> None:
    assert_error(Client().get("/api/gallery"), 401)
    assert_error(Client().post("/api/gallery/calculator/install"), 401)
