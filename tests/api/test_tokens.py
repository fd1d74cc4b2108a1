from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiToken
from accounts.services import token_create
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_create_shows_the_secret_once_and_it_works(alice_api: Client, alice: Any) -> None:
    created = alice_api.post("/api/tokens", {"name": "laptop"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"].startswith(body["prefix"]) and body["revoked"] is False
    listed = alice_api.get("/api/tokens").json()
    assert "token" not in listed["items"][0] and body["token"] not in str(listed)
    assert {t["name"] for t in listed["items"]} == {"laptop", "tests"}
    fresh = Client(headers={"Authorization": f"Bearer {body['token']}"})
    assert fresh.get("/api/teams").status_code == 200


def test_revoke_stops_the_token_at_once(alice: Any) -> None:
    token, raw = token_create(user=alice, name="doomed")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.delete(f"/api/tokens/{token.id}").status_code == 204
    assert_error(client.get("/api/teams"), 401)
    assert ApiToken.objects.get(id=token.id).revoked_at is not None


def test_revoking_twice_is_harmless(alice_api: Client, alice: Any) -> None:
    token, _ = token_create(user=alice, name="x")
    assert alice_api.delete(f"/api/tokens/{token.id}").status_code == 204
    assert alice_api.delete(f"/api/tokens/{token.id}").status_code == 204
    assert alice_api.get("/api/tokens").json()["items"][0]["revoked"] is True


def test_other_users_token_is_404_and_not_listed(bob_api: Client, alice: Any) -> None:
    token, raw = token_create(user=alice, name="alice's")
    assert_error(bob_api.delete(f"/api/tokens/{token.id}"), 404)
    assert "alice's" not in bob_api.get("/api/tokens").content.decode()
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/teams").status_code == 200


def test_bad_token_input(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/tokens", {"name": ""}, content_type="application/json"), 422)
    assert_error(alice_api.post("/api/tokens", {"name": "a", "user": 1}, content_type="application/json"), 422)
    assert_error(alice_api.post("/api/tokens", {}, content_type="application/json"), 422)
